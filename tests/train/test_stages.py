"""Each stage trains only its parameters; the vae stage trains a KL autoencoder and is a no-op in pixel space."""

from __future__ import annotations

import pytest
import torch

from pan_gym.config import VAEConfig, apply_overrides, preset
from pan_gym.model.glp import PanWorldModel
from pan_gym.train import TrainArgs, train
from pan_gym.train.data import SyntheticWindows
from pan_gym.train.stages import StageLoss, select_trainable
from tests.train.conftest import FAST, weights


def _changed(before: dict, after: dict) -> set[str]:
    return {k.split(".", 1)[0] for k in before if not torch.equal(before[k], after[k])}


def _run(tmp_path, stage, init=None, steps=2, **kw):
    out = tmp_path / stage
    train(TrainArgs(**FAST, stage=stage, steps=steps, save_every=steps, out=str(out), init=init, **kw))
    return out / "final"


def test_each_stage_updates_only_its_parts(tmp_path):
    start = tmp_path / "start"
    torch.manual_seed(0)
    PanWorldModel.from_preset("tiny").save_pretrained(start)
    w0 = weights(start)
    assert _changed(w0, weights(_run(tmp_path, "reward", str(start)))) == {"reward_head"}
    decoder = _run(tmp_path, "decoder", str(start), sample_every=2, bf16=True)  # + sample video, autocast
    assert _changed(w0, weights(decoder)) == {"decoder", "text"}
    assert (decoder.parent / "samples" / "step_000002.mp4").stat().st_size > 0
    assert {"backbone", "decoder", "encoder", "reward_head"} <= _changed(
        w0, weights(_run(tmp_path, "joint", str(start)))
    )


def test_the_reward_stage_runs_no_decoder():
    from tests.model.conftest import random_batch

    torch.manual_seed(0)
    model = PanWorldModel.from_preset("tiny")
    select_trainable(model, "reward")
    model.decoder.register_forward_pre_hook(lambda *_: pytest.fail("the reward stage ran the decoder"))
    batch = random_batch() | {
        "rewards": torch.tensor([[0.0, 1.0], [0.0, 0.0]]),
        "terminated": torch.tensor([[False, True], [False, False]]),
        "mission": ["go to the red ball", "pick up the key"],
    }
    out = StageLoss(model, "reward")(batch, torch.Generator().manual_seed(0))
    out["loss"].backward()
    assert set(out) == {"loss", "reward"} and torch.isfinite(out["loss"])
    assert all(p.grad is None for n, p in model.named_parameters() if not n.startswith("reward_head."))
    with pytest.raises(ValueError, match="rewards"):
        StageLoss(model, "reward")(random_batch())


def test_vae_stage_trains_kl_autoencoder_and_skips_pixel(tmp_path, capsys):
    _run(tmp_path, "vae")  # tiny is pixel space
    assert "nothing to train" in capsys.readouterr().out
    start = tmp_path / "kl"
    cfg = preset("tiny", vae=VAEConfig(kind="kl", block_out_channels=(8, 8), latent_channels=3))
    PanWorldModel.from_config(cfg).save_pretrained(start)
    final = _run(tmp_path, "vae", str(start))
    assert _changed(weights(start), weights(final)) == {"latent"}
    joint = _run(tmp_path, "joint", str(final))  # the memoised latents of a trained VAE feed the next stage
    assert "latent" not in _changed(weights(final), weights(joint))


def test_decoder_stage_sees_zero_states():
    model = PanWorldModel.from_preset("tiny")
    select_trainable(model, "decoder")
    seen = []
    model.decoder.register_forward_pre_hook(lambda m, a: seen.append(a[2][0].state.abs().max().item()))
    item = SyntheticWindows(2, window=2, frames_per_chunk=2)[0]
    batch = {k: (v[None] if torch.is_tensor(v) else [v]) for k, v in item.items()}
    ran = []
    model.encoder.register_forward_pre_hook(lambda m, a: ran.append("h"))
    model.backbone.forward_train = lambda *a: ran.append("f")  # this test's probe: the model must not call f
    StageLoss(model, "decoder")(batch, torch.Generator().manual_seed(0))
    assert seen == [0.0] and not ran  # h and f are not run
    state = model.start(batch["first_frame"])
    s_hat, frames = model.step(state, [batch["actions"][0][0]], zero_state=True)
    assert not s_hat.any() and frames.shape[1:] == (2, 64, 64, 3)


def test_dynamics_then_render_is_the_sequential_latent_plan(tmp_path):
    start = tmp_path / "start"
    torch.manual_seed(0)
    cfg = apply_overrides(preset("tiny"), "backbone.supervision=latent")
    PanWorldModel.from_config(cfg).save_pretrained(start)
    w0 = weights(start)
    dyn = _run(tmp_path, "dynamics", str(start))
    changed = _changed(w0, weights(dyn))
    assert {"encoder", "backbone", "latent_head"} <= changed and not changed & {"decoder", "reward_head"}
    render = _run(tmp_path, "render", str(dyn))
    assert _changed(weights(dyn), weights(render)) == {"decoder", "reward_head"}


def test_dynamics_stage_refuses_generative_supervision():
    model = PanWorldModel.from_preset("tiny")
    select_trainable(model, "dynamics")
    item = SyntheticWindows(2, window=2, frames_per_chunk=2)[0]
    batch = {k: (v[None] if torch.is_tensor(v) else [v]) for k, v in item.items()}
    with pytest.raises(ValueError, match="supervision=latent"):
        StageLoss(model, "dynamics")(batch, torch.Generator().manual_seed(0))
