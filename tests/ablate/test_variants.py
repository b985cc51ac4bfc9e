"""The named variants resolve, build, and fail clearly on bad names."""

import pytest
import torch

from pan_gym.ablate.variants import BASE_CONFIG, CLAIMS, claims_named, resolve, variant
from pan_gym.config import apply_overrides, preset
from pan_gym.model.glp import PanWorldModel


def test_every_claim_has_one_pan_reference_and_unique_names():
    names = [v.name for vs in CLAIMS.values() for v in vs]
    assert len(names) == len(set(names))
    for claim, vs in CLAIMS.items():
        assert sum(v.pan for v in vs) == 1, claim and len(vs) >= 2


def test_small_preset_shares_pans_run_across_claims():
    runs = resolve(list(CLAIMS))
    assert runs[0].key == "pan"
    assert {v.name for v in runs[0].variants} == {
        "generative",
        "offset-0.5",
        "minilm",
        "rounds-10",
        "with-state",
    }
    assert [r.key for r in runs[1:]] == [
        "latent",
        "offset-0.25",
        "offset-1",
        "no-window",
        "minilm-random",
        "rounds-1",
        "rounds-1-no-state",
        "no-state",
        "state-only",
    ]
    cfg = {r.key: apply_overrides(preset("small"), r.config) for r in runs}
    assert cfg["pan"] == apply_overrides(preset("small"), BASE_CONFIG)
    assert cfg["latent"].backbone.supervision == "latent" and not cfg["no-window"].diffusion.window
    assert cfg["offset-0.25"].diffusion.noise_offset == 0.25 and cfg["rounds-1"].backbone.max_rounds == 1
    assert cfg["minilm-random"].text.kind == "minilm-random" and cfg["pan"].frames_per_chunk == 1
    assert cfg["pan"].decoder.use_state and not cfg["no-state"].decoder.use_state
    assert cfg["pan"].decoder.action_text and not cfg["state-only"].decoder.action_text


def test_every_variant_builds_a_tiny_model():
    for run in resolve(list(CLAIMS), preset_name="tiny"):
        torch.manual_seed(0)
        model = PanWorldModel.from_config(apply_overrides(preset("tiny"), run.config))
        assert model.cfg.frames_per_chunk == 1, run.key


def test_base_config_override_and_clear_errors():
    runs = resolve(["noise"], base_config="diffusion.noise_offset=0.25,frames_per_chunk=1")
    pan = apply_overrides(preset("small"), next(r for r in runs if r.variants[0].pan).config)
    assert pan.diffusion.noise_offset == 0.5  # the PAN arm sets PAN's value whatever the base says
    with pytest.raises(ValueError, match="unknown claim"):
        claims_named(["noise", "jepa"])
    with pytest.raises(ValueError, match="unknown variant"):
        variant("offset-2")
    with pytest.raises(ValueError, match="unknown config key"):
        resolve(["noise"], base_config="diffusion.nonsense=1")
