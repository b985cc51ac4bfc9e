"""The ablations' models (pan_gym/ablate/models.py): each switch builds its mixin's class, changes behaviour as
named, and the defaults stay PAN's design."""

import copy
import dataclasses

import pytest
import torch

from pan_gym.ablate import models
from pan_gym.ablate.latent import latent_losses
from pan_gym.config import ConfigError, PanConfig, apply_overrides, preset
from pan_gym.diffusion.swin_dpm import SwinDenoiser
from pan_gym.model import registry
from pan_gym.model.glp import PanWorldModel
from pan_gym.model.text import MiniLMTextEncoder, minilm_path
from tests.diffusion.test_swin_dpm import _two_chunks
from tests.model.conftest import random_batch


def _model(spec: str = "", seed: int = 0) -> PanWorldModel:
    torch.manual_seed(seed)
    return PanWorldModel.from_config(apply_overrides(preset("tiny"), spec))


def _grads(model: PanWorldModel, loss: torch.Tensor) -> dict[str, bool]:
    model.zero_grad(set_to_none=True)
    loss.backward(retain_graph=True)
    tops = {}
    for name, p in model.named_parameters():
        top = name.split(".", 1)[0]
        tops[top] = tops.get(top, False) or (p.grad is not None and bool(p.grad.abs().sum() > 0))
    return tops


def test_defaults_are_pans_design():
    cfg = preset("small")
    assert cfg.backbone.supervision == "generative" and cfg.backbone.max_rounds == 10
    assert cfg.diffusion.window is True and cfg.diffusion.noise_offset == 0.5 and cfg.text.kind == "minilm"
    assert not hasattr(_model(), "latent_head")
    for bad in (
        "backbone.supervision=jepa",
        "diffusion.noise_offset=0",
        "text.kind=bert",
        "backbone.max_rounds=0",
    ):
        with pytest.raises(ValueError):
            apply_overrides(preset("tiny"), bad)


def _switches(cfg: object, prefix: str = "") -> list[tuple[str, object]]:
    """Every (key, value) a config field marks as an ablation."""
    found = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            found += _switches(value, f"{prefix}{f.name}.")
        found += [(f"{prefix}{f.name}", v) for v in f.metadata.get("ablation", ())]
    return found


def test_every_ablation_switch_is_implemented_and_composes():
    switches = _switches(PanConfig())
    assert len(switches) == 5 and set(registry.registered()) == set(switches)
    both = _model("decoder.use_state=false,diffusion.window=false")
    assert isinstance(both, models.NoState) and isinstance(both, models.NoWindow)
    assert isinstance(both.sampler, models.ChainedDenoiser) and type(_model().sampler) is SwinDenoiser
    # one composed class per set of switches
    assert type(_model("decoder.use_state=false")) is type(_model("decoder.use_state=false", seed=1))
    twin = copy.deepcopy(both)
    assert type(twin) is type(both) and torch.equal(twin.backbone.queries, both.backbone.queries)


def test_an_ablation_with_no_implementation_is_refused(monkeypatch):
    monkeypatch.setattr(registry, "registered", lambda: {})
    assert type(_model()) is PanWorldModel
    with pytest.raises(ConfigError, match="decoder.use_state=False: ablations with no implementation"):
        _model("decoder.use_state=false")


def test_an_ablations_model_saves_and_loads_as_itself(tmp_path):
    model = _model("decoder.action_text=false")
    loaded = PanWorldModel.from_pretrained(model.save_pretrained(tmp_path / "m"))
    assert type(loaded) is type(model) and isinstance(loaded, models.NoActionText)
    plain = PanWorldModel.from_pretrained(tmp_path / "m", overrides="decoder.action_text=true")
    assert type(plain) is PanWorldModel


def test_latent_supervision_keeps_the_decoder_gradient_away_from_h_and_f():
    model = _model("backbone.supervision=latent").train()
    out = model.loss(random_batch(), torch.Generator().manual_seed(0))
    assert {"latent", "variance", "flow", "loss"} <= set(out) and torch.isfinite(out["loss"])
    # flow: the decoder only (ŝ under stop-gradient); latent: h, f and P, never the decoder
    flow = _grads(model, out["flow"])
    assert flow["decoder"] and not flow["encoder"] and not flow["backbone"] and not flow["latent_head"]
    lat = _grads(model, out["latent"] + out["variance"])
    assert lat["encoder"] and lat["backbone"] and lat["latent_head"] and not lat["decoder"]
    # PAN's generative mode: the decoder's loss is what trains h and f (once a first step has opened the
    # zero-initialised state stream)
    gen = _model().train()
    opt = torch.optim.AdamW(gen.parameters(), lr=1e-2)
    gen.loss(random_batch(), torch.Generator().manual_seed(0))["flow"].backward()
    opt.step()
    gout = gen.loss(random_batch(), torch.Generator().manual_seed(1))
    assert "latent" not in gout and _grads(gen, gout["flow"])["encoder"]


def test_latent_collapse_guard_and_round_trip(tmp_path):
    constant = torch.zeros(2, 3, 16, 32)
    assert latent_losses(constant, constant, constant)["variance"] > 0.9  # collapsed tokens are penalised
    spread = torch.randn(4, 8, 16, 32) * 3
    assert latent_losses(spread, spread, spread)["variance"] == 0
    model = _model("backbone.supervision=latent")
    loaded = PanWorldModel.from_pretrained(model.save_pretrained(tmp_path / "m"))
    assert torch.equal(loaded.latent_head.pos, model.latent_head.pos)


def _decoder_frames(model: PanWorldModel) -> list[int]:
    """Frames per decoder call (1 + chunks·T, a cached prefix's frames included) during one training loss and a
    2-action rollout."""
    seen, forward = [], model.decoder.forward

    def spy(x, sigma, conds, prefix=None, **kw):
        seen.append(x.shape[2] + (prefix.frames if prefix is not None else 0))
        return forward(x, sigma, conds, prefix=prefix, **kw)

    model.decoder.forward = spy
    model.train().loss(random_batch(), torch.Generator().manual_seed(0))
    model.eval()
    state = model.start(torch.zeros(1, 64, 64, 3, dtype=torch.uint8))
    g = torch.Generator().manual_seed(0)
    for _ in range(2):
        model.step(state, ["turn left"], g)
    return seen


def test_no_window_denoises_each_chunk_alone_in_training_and_inference():
    # tiny: T = 2 frames per chunk, 2 sampler steps
    assert _decoder_frames(_model()) == [5, 3, 3, 5, 3]  # window of 2 chunks; PAN's rollout slides it
    assert _decoder_frames(_model("diffusion.window=false")) == [3, 3, 3, 3, 3]  # one chunk, always alone


def test_chained_denoiser_denoises_each_chunk_alone():
    calls, state = _two_chunks(models.ChainedDenoiser(steps=2))
    assert [c[:2] for c in calls] == [(2, 1)] * 2 and state.prev_traj == []  # never a partner chunk


def test_no_window_trains_on_first_chunks_alone():
    model = _model("diffusion.window=false")
    batch = random_batch(b=8, n=3)
    first, frames = batch["first_frame"], batch["frames"]
    win = model.training_window(first, frames, torch.Generator().manual_seed(0))
    # the conditioning frame and chunk A (T = 2)
    assert win.x.shape[2] == 3 and win.sigma.shape == (8, 3) and len(win.chunks) == 1
    assert (win.frame_on == 1).all() and (win.sigma[:, 1:] > 0.5).any()  # every window is a first chunk


def _train_sigmas(model: PanWorldModel) -> torch.Tensor:
    """The per-frame σ (B, F) the decoder sees in one training loss (8 windows of 3 actions, shift 1)."""
    seen, forward = [], model.decoder.forward

    def spy(x, sigma, conds, **kw):
        seen.append(sigma)
        return forward(x, sigma, conds, **kw)

    model.decoder.forward = spy
    model.train().loss(random_batch(b=8, n=3), torch.Generator().manual_seed(0))
    return seen[0]


def test_noise_offset_changes_the_training_noise():
    sig = {off: _train_sigmas(_model(f"diffusion.noise_offset={off}")) for off in (0.25, 0.5, 1.0)}
    for off in (0.25, 0.5):  # frames: conditioning, chunk A (T = 2), chunk B (T = 2)
        s = sig[off]
        later = s[:, 3] < 1  # windows that are not a video's first chunk (their B is pure noise)
        assert later.any() and torch.allclose(s[later, 3] - s[later, 1], torch.tensor(off))
    assert (sig[1.0][:, 3] == 1).all() and (sig[1.0][:, 1] == 0).any()  # offset 1: pure-noise B, clean A


def test_minilm_random_is_minilm_architecture_at_random_init():
    torch.manual_seed(0)
    pre = MiniLMTextEncoder(pretrained=True)
    rnd = models.RandomMiniLM._make_text(preset("tiny"), None)
    shape = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size")
    assert [getattr(rnd.bert.config, k) for k in shape] == [getattr(pre.bert.config, k) for k in shape]
    assert sum(p.numel() for p in rnd.parameters()) == sum(p.numel() for p in pre.parameters())
    assert rnd.dim == pre.dim == 384 and pre.freeze and not rnd.freeze
    w_pre, w_rnd = pre.bert.embeddings.word_embeddings.weight, rnd.bert.embeddings.word_embeddings.weight
    assert w_pre.shape == w_rnd.shape and not torch.allclose(w_pre, w_rnd)
    assert all(p.requires_grad for p in rnd.parameters())
    assert minilm_path().is_dir()


def test_minilm_random_in_the_model_is_trained_and_saved():
    model = _model("text.kind=minilm-random")
    assert model.text.dim == 384 and not model.text.freeze
    assert any(k.startswith("text.bert.encoder.layer.5.") for k in model._persistent_state())


def _inputs(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(1, 16, 32, generator=g), torch.randn(1, 12, 32, generator=g)) for _ in range(n)]


def test_one_round_of_history_in_inference_and_training():
    f = _model("backbone.max_rounds=1,backbone.enhanced_state=false").backbone  # keep_rounds 2 > max_rounds
    steps = _inputs(3)
    with torch.no_grad():
        cached, full, outs = f.new_cache(), f.new_cache(), []
        for vis, act in steps:
            outs.append(f.step(cached, vis, act))
            assert torch.allclose(outs[-1], f.step(full, vis, act, recompute=True), atol=1e-4)
            assert cached.num_rounds == 1
        alone = [f.step(f.new_cache(), vis, act) for vis, act in steps]  # no history at all
        tf = f.teacher_forced(torch.stack([v for v, _ in steps], 1), torch.stack([a for _, a in steps], 1))
    for k in range(3):
        assert torch.allclose(outs[k], alone[k], atol=1e-4)
        assert torch.allclose(tf[:, k], alone[k], atol=1e-4)  # training sees the same (no) history
    ten = _model("backbone.enhanced_state=false").backbone  # the default cap: history matters
    with torch.no_grad():
        c = ten.new_cache()
        ten.step(c, *steps[0])
        assert not torch.allclose(ten.step(c, *steps[1]), ten.step(ten.new_cache(), *steps[1]), atol=1e-4)


def test_one_round_model_trains_and_rolls_out():
    model = _model("backbone.max_rounds=1").train()
    assert torch.isfinite(model.loss(random_batch(n=3), torch.Generator().manual_seed(0))["loss"])
    model.eval()
    state = model.start(torch.zeros(1, 64, 64, 3, dtype=torch.uint8))
    for _ in range(3):
        _, frames = model.step(state, ["move forward"], torch.Generator().manual_seed(0))
    assert frames.shape == (1, 2, 64, 64, 3) and state.backbone.num_rounds == 1


@pytest.mark.parametrize("use_state", [True, False])
def test_use_state_off_cuts_the_decoder_off_the_backbone(use_state):
    torch.manual_seed(0)
    cfg = apply_overrides(preset("tiny"), f"decoder.use_state={str(use_state).lower()}")
    model = PanWorldModel.from_config(cfg).eval()
    for sa in model.decoder.state_attn:  # a trained state stream (its zero init would hide ŝ either way)
        torch.nn.init.normal_(sa.to_out.weight, std=0.1)
    frame = torch.randint(
        0, 256, (1, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    frames = []
    for _ in range(2):
        state = model.start(frame)
        frames.append(model.step(state, ["turn left"], torch.Generator().manual_seed(1))[1])
        with torch.no_grad():
            model.backbone.queries.add_(1.0)  # another backbone, hence another ŝ
    assert torch.equal(frames[0], frames[1]) is not use_state


def test_without_action_text_the_decoder_reads_the_action_only_through_the_state():
    """``decoder.action_text=false``: the decoder's text is the empty text's for every action, so two actions differ
    in what the decoder is given only through ŝ."""
    torch.manual_seed(0)
    model = PanWorldModel.from_config(apply_overrides(preset("tiny"), "decoder.action_text=false")).eval()
    state = model.start(torch.zeros(2, 64, 64, 3, dtype=torch.uint8))
    model.predict(state, ["turn left", "pick up the blue key"])
    text, mask = state.pending.text, state.pending.text_mask
    assert torch.equal(text[0], text[1]) and torch.equal(mask[0], mask[1]) and mask.sum(-1).tolist() == [2, 2]
    assert not torch.equal(state.pending.state[0], state.pending.state[1])
    assert torch.isfinite(model.loss(random_batch(), torch.Generator().manual_seed(0))["loss"])
