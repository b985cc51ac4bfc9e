import json

import pytest
import torch

from pan_gym.config import PanConfig, apply_overrides, preset
from pan_gym.model.decoder import Velocity
from pan_gym.model.glp import PanWorldModel
from pan_gym.model.io import CheckpointError


def _batch(b=2, n=3, t=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, 256, (b, n, t, 64, 64, 3), generator=g, dtype=torch.uint8)
    return {
        "first_frame": torch.randint(0, 256, (b, 64, 64, 3), generator=g, dtype=torch.uint8),
        "frames": frames,
        "actions": [["turn left", "go to the red ball", "drop it"][:n] for _ in range(b)],
        "rewards": torch.zeros(b, n),
        "terminated": torch.zeros(b, n, dtype=torch.bool),
        "mission": ["go to the red ball"] * b,
    }


def test_gradients_reach_the_queries_through_the_flow_loss():
    torch.manual_seed(0)
    model = PanWorldModel.from_preset("tiny").train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    # at init the state stream's output is zero (so its input gets no gradient); one step opens it
    model.loss(_batch(), torch.Generator().manual_seed(0))["flow"].backward()
    opt.step()
    opt.zero_grad()
    model.loss(_batch(), torch.Generator().manual_seed(1))["flow"].backward()
    grad = model.backbone.queries.grad
    assert grad is not None and grad.abs().sum() > 0
    # backbone trains (small/tiny)
    assert model.backbone.lm.layers[0].self_attn.q_proj.weight.grad.abs().sum() > 0


def test_loss_is_finite_and_single_step_windows_work():
    model = PanWorldModel.from_preset("tiny").train()
    out = model.loss(_batch(n=1), torch.Generator().manual_seed(0))
    assert torch.isfinite(out["loss"]) and set(out) == {"flow", "reward", "loss"}
    with pytest.raises(ValueError, match="frames"):
        model.loss(_batch(t=3))


def test_rollout_is_deterministic_given_the_generator(tiny_model):
    frame = torch.randint(
        0, 256, (1, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    outs = []
    for _ in range(2):
        state = tiny_model.start(frame)
        g = torch.Generator().manual_seed(7)
        outs.append(torch.cat([tiny_model.step(state, ["turn left"], g)[1] for _ in range(3)], 1))
    assert torch.equal(outs[0], outs[1]) and outs[0].shape == (1, 6, 64, 64, 3)


def test_snapshot_branching_reproduces_frames(tiny_model):
    frame = torch.zeros(2, 64, 64, 3, dtype=torch.uint8)
    state = tiny_model.start(frame)
    tiny_model.step(state, ["turn left", "turn right"], torch.Generator().manual_seed(0))
    snap = state.snapshot()
    a = tiny_model.step(state, ["move forward", "drop it"], torch.Generator().manual_seed(1))[1]
    b = tiny_model.step(snap, ["move forward", "drop it"], torch.Generator().manual_seed(1))[1]
    assert torch.equal(a, b)


def test_observe_goes_on_from_the_true_frame_with_the_round_in_history(tiny_model):
    g = torch.Generator().manual_seed(0)
    first, seen = (torch.randint(0, 256, (2, 64, 64, 3), generator=g, dtype=torch.uint8) for _ in range(2))
    state = tiny_model.start(first)
    tiny_model.observe(state, ["turn left", "drop it"], seen)
    fresh = tiny_model.start(seen)
    assert state.backbone.num_rounds == 1 and state.pending is None
    assert torch.equal(state.vis, fresh.vis) and torch.equal(state.swin.last_frame, fresh.swin.last_frame)
    # the next step reads the observed round: ŝ differs from a rollout started at the same frame
    s_past = tiny_model.predict(state, ["move forward"] * 2)
    s_fresh = tiny_model.predict(fresh, ["move forward"] * 2)
    assert not torch.allclose(s_past, s_fresh)
    with pytest.raises(ValueError, match="uint8"):
        tiny_model.observe(state, ["turn left"] * 2, seen.float())
    with pytest.raises(ValueError, match="batch size 2"):
        tiny_model.observe(tiny_model.start(first), ["turn left"], seen)


def test_shared_noise_draws_once_per_rollout():
    """``diffusion.shared_noise``: the first chunk is sampled as without it; later chunks reuse its noise and take
    nothing more from the generator; a new rollout draws afresh."""
    torch.manual_seed(0)
    model = PanWorldModel.from_preset("tiny").eval()
    frame = torch.randint(
        0, 256, (2, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    acts = ["turn left", "go to the red ball"]
    runs = {}
    for shared in (False, True):
        model.cfg.diffusion.shared_noise = shared
        state, g = model.start(frame), torch.Generator().manual_seed(3)
        chunks = [model.step(state, acts, g)[1]]
        noise, g_after_first = state.swin.noise, g.get_state()
        chunks += [model.step(state, acts, g)[1] for _ in range(2)]
        runs[shared] = chunks
        if shared:
            assert all(a is b for a, b in zip(state.swin.noise, noise, strict=True))
            assert noise[0].shape == (2, 3, 2, 64, 64)
            assert torch.equal(g.get_state(), g_after_first)
            assert model.start(frame).swin.noise is None
        else:
            assert noise is None
    assert torch.equal(runs[True][0], runs[False][0])
    assert not torch.equal(runs[True][2], runs[False][2])


def test_save_load_gives_identical_outputs(tmp_path, tiny_model):
    tiny_model.save_pretrained(tmp_path / "m")
    loaded = PanWorldModel.from_pretrained(tmp_path / "m")
    frame = torch.randint(
        0, 256, (1, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    outs = []
    for m in (tiny_model, loaded):
        s = m.start(frame)
        outs.append(m.step(s, ["pick up the blue key"], torch.Generator().manual_seed(3)))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])
    assert {p.name for p in (tmp_path / "m").iterdir()} == {"config.json", "model.safetensors"}


def test_an_override_may_add_a_module_but_not_change_a_saved_weight(tmp_path, tiny_model):
    d = tiny_model.save_pretrained(tmp_path / "m")
    grown = PanWorldModel.from_pretrained(d, overrides="backbone.supervision=latent")  # adds the latent head
    assert any(k.startswith("latent_head.") for k in grown.state_dict())
    saved = tiny_model.state_dict()
    assert all(torch.equal(v, saved[k]) for k, v in grown.state_dict().items() if k in saved)
    with pytest.raises(CheckpointError, match="change the shapes"):
        PanWorldModel.from_pretrained(d, overrides="backbone.num_queries=8")
    latent = grown.save_pretrained(tmp_path / "latent")
    with pytest.raises(CheckpointError, match="drop"):  # an override may not silently lose a saved module
        PanWorldModel.from_pretrained(latent, overrides="backbone.supervision=generative")


def _version_1(d, **retired):
    """Rewrite ``d/config.json`` as format version 1 wrote it: with the retired fields (at their off values)."""
    header = json.loads((d / "config.json").read_text())
    header["format_version"] = 1
    header["config"]["decoder"].update(abs_pos_grid=0, cond_channels=False, predict_change=False)
    header["config"]["text"].update(sentence_token=False, word_dropout=0.0)
    for key, value in retired.items():
        section, name = key.split("__")
        header["config"][section][name] = value
    (d / "config.json").write_text(json.dumps(header))


def test_a_version_1_model_loads_without_its_retired_fields_and_renders_the_same(tmp_path, tiny_model):
    d = tiny_model.save_pretrained(tmp_path / "m")
    _version_1(d)
    old = PanWorldModel.from_pretrained(d)
    assert old.cfg == tiny_model.cfg
    frame = torch.randint(
        0, 256, (1, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    outs = [
        m.step(m.start(frame), ["turn left"], torch.Generator().manual_seed(3))[1] for m in (tiny_model, old)
    ]
    assert torch.equal(outs[0], outs[1])
    resaved = json.loads((old.save_pretrained(tmp_path / "again") / "config.json").read_text())
    assert resaved["format_version"] == 2 and "abs_pos_grid" not in resaved["config"]["decoder"]


@pytest.mark.parametrize("field", ["decoder__abs_pos_grid", "decoder__cond_channels", "text__sentence_token"])
def test_a_version_1_model_that_used_a_retired_feature_is_refused_by_name(tmp_path, tiny_model, field):
    d = tiny_model.save_pretrained(tmp_path / "m")
    _version_1(d, **{field: 8 if field.endswith("grid") else True})
    with pytest.raises(CheckpointError, match=field.replace("__", ".") + ".*no longer"):
        PanWorldModel.from_pretrained(d)


def test_copy_gate_loads_into_a_saved_model_trains_and_copies_the_start_frame_when_open(tmp_path):
    """``decoder.copy_gate=true`` over a model saved without it (how metaworld-small was fine-tuned into it): the
    saved weights load as saved (the gate's rows added), the loss trains the gate, and a gate opened wide rolls out
    the start frame unchanged, action after action (the copy source is the clean previous frame, never its noised
    copy; which frame each Swin-DPM phase is given: tests/diffusion/test_swin_dpm.py)."""
    torch.manual_seed(0)
    plain = PanWorldModel.from_config(apply_overrides(preset("tiny"), "diffusion.prediction=x0"))
    d = plain.save_pretrained(tmp_path / "m")
    model = PanWorldModel.from_pretrained(d, overrides="decoder.copy_gate=true").train()
    saved = plain.state_dict()
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items() if "proj_out" not in k)
    losses = model.loss(_batch(), torch.Generator().manual_seed(0))
    assert 0 < float(losses["gate"]) < 10  # the gate's cross-entropy on which pixels kept their source
    assert float(losses["drawn"]) > 0  # the drawn frame's own flow loss
    losses["loss"].backward()
    gate_grad = model.decoder.dit.proj_out.bias.grad.unflatten(0, (-1, 4))[:, 3]  # the gate's bias rows
    assert gate_grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        model.decoder.gate_params()[1].fill_(40.0)
    frame = torch.randint(
        0, 256, (2, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
    )
    state, g = model.start(frame), torch.Generator().manual_seed(2)
    for _ in range(3):
        frames = model.step(state, ["turn left", "go to the red ball"], g)[1]
        assert torch.equal(frames[:, -1], frame)


def test_corrupted_and_mismatched_checkpoints_name_the_file(tmp_path, tiny_model):
    d = tiny_model.save_pretrained(tmp_path / "m")
    weights = d / "model.safetensors"
    blob = weights.read_bytes()
    weights.write_bytes(blob[: len(blob) // 2])  # truncated, as by a killed copy
    with pytest.raises(CheckpointError, match="model.safetensors"):
        PanWorldModel.from_pretrained(d)
    weights.write_bytes(blob)
    (d / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json"):
        PanWorldModel.from_pretrained(d)
    # a config for another architecture than the weights
    cfg = tiny_model.cfg.to_dict()
    cfg["backbone"]["num_queries"] = 8
    (d / "config.json").write_text(json.dumps({"format": "pan-gym", "format_version": 1, "config": cfg}))
    with pytest.raises(CheckpointError, match="shapes do not match"):
        PanWorldModel.from_pretrained(d)
    cfg["backbone"]["not_a_field"] = 1
    (d / "config.json").write_text(json.dumps({"format": "pan-gym", "format_version": 1, "config": cfg}))
    with pytest.raises(CheckpointError, match="not_a_field"):
        PanWorldModel.from_pretrained(d)
    with pytest.raises(CheckpointError, match="not a model directory"):
        PanWorldModel.from_pretrained(tmp_path / "nowhere")


def test_bad_inputs_raise_clear_errors(tiny_model):
    with pytest.raises(ValueError, match="uint8"):
        tiny_model.start(torch.zeros(1, 64, 64, 3))
    with pytest.raises(ValueError, match="shape"):
        tiny_model.start(torch.zeros(64, 64, 3, dtype=torch.uint8))
    state = tiny_model.start(torch.zeros(2, 64, 64, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match="batch size 2"):
        tiny_model.predict(state, ["turn left"])
    with pytest.raises(ValueError, match="list of str"):
        tiny_model.predict(state, "turn left")
    with pytest.raises(RuntimeError, match="predict"):
        tiny_model.decode(state)


def test_paper_preset_layout_on_meta_device():
    model = PanWorldModel.from_preset("paper", device="meta")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    lm_head = model.backbone.lm.embed_tokens.weight.numel()  # Qwen2.5-VL-7B's untied LM head (we drop it)
    qwen = count(model.encoder) + count(model.backbone.lm) + lm_head
    assert 8.2e9 < qwen < 8.4e9  # Qwen2.5-VL-7B-Instruct: 8.29 B
    assert 14.0e9 < count(model.decoder.dit) < 14.5e9  # Wan2.1-T2V-14B
    assert model.backbone.num_queries == 256 and model.cfg.backbone.max_rounds == 10
    assert model.backbone.queries.is_meta


def test_small_preset_sizes():
    model = PanWorldModel.from_preset("small")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert 1e6 < count(model.backbone.lm) < 10e6 and 1e6 < count(model.decoder) < 10e6
    assert model.encoder.tokens_per_frame(64, 64) == 64  # one token per BabyAI tile
    emb, _ = model.text(["go to the red ball", "walk over to the red ball", "pick up the blue key"])
    pooled = torch.nn.functional.normalize(emb.mean(1), dim=-1)
    # the frozen pretrained encoder puts a paraphrase nearer its original than a different action
    assert pooled[0] @ pooled[1] > pooled[0] @ pooled[2]


def test_config_roundtrip():
    cfg = preset("small")
    assert PanConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_decoder_loads_a_local_wan_family_dit(tmp_path):
    """The paper path: the DiT comes from a local diffusers directory (``transformer/``), key for key."""
    from pan_gym.config import apply_overrides

    cfg = preset("tiny")
    donor = PanWorldModel.from_config(cfg).decoder.dit
    donor.save_pretrained(tmp_path / "wan" / "transformer")
    model = PanWorldModel.from_config(apply_overrides(cfg, f"decoder.path={tmp_path / 'wan'}"))
    for (name, a), b in zip(donor.state_dict().items(), model.decoder.dit.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_x0_prediction_trains_and_samples():
    """With ``prediction="x0"`` the DiT's output is the clean chunk: the loss regresses x_0 and the sampler's
    last Euler step lands exactly on the prediction."""
    from pan_gym.config import apply_overrides

    torch.manual_seed(0)
    model = PanWorldModel.from_config(apply_overrides(preset("tiny"), "diffusion.prediction=x0")).train()
    assert torch.isfinite(model.loss(_batch(), torch.Generator().manual_seed(0))["loss"])
    model.eval()
    x, sigma = torch.randn(1, 3, 3, 64, 64), torch.full((1, 3), 0.5)
    state = model.start(torch.zeros(1, 64, 64, 3, dtype=torch.uint8))
    model.predict(state, ["turn left"])
    with torch.no_grad():
        x0_hat = model.decoder(x, sigma, [state.pending]).sample
        v = Velocity(model.decoder, prediction="x0")(x, sigma, [state.pending])
    assert torch.allclose(x - 0.5 * v, x0_hat, atol=1e-5)


@pytest.mark.parametrize("latent", ["pixel", "kl"])
def test_a_model_cast_to_bf16_rolls_out_near_its_fp32_self(latent):
    torch.manual_seed(0)
    model = PanWorldModel.from_config(apply_overrides(preset("tiny"), f"vae.kind={latent}")).eval()
    half = PanWorldModel.from_config(model.cfg).eval()
    half.load_state_dict(model.state_dict())
    half.to(torch.bfloat16)
    frame = torch.randint(
        0, 256, (2, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    out = {}
    for m in (model, half):
        state, g = m.start(frame), torch.Generator().manual_seed(3)
        s_hat, frames = m.step(state, ["turn left", "drop it"], g)
        r, p = m.reward(s_hat, ["go to the red ball"] * 2)
        assert s_hat.dtype == m.dtype and frames.dtype == torch.uint8 and r.dtype == p.dtype == torch.float32
        out[m.dtype] = (s_hat.float(), frames.float(), r)
    (s32, f32, r32), (s16, f16, r16) = out[torch.float32], out[torch.bfloat16]
    assert not torch.equal(s32, s16)  # bf16 arithmetic really ran
    assert (s32 - s16).abs().max() < 0.1 * s32.abs().max() and torch.allclose(r32, r16, atol=0.05)
    if latent == "pixel":  # a random KL decoder amplifies bf16 rounding of its latents; pixels stay close
        assert (f32 - f16).abs().mean() < 8


@pytest.mark.parametrize(
    "overrides, cached",
    [
        ("", 1),
        ("diffusion.sampler_steps=4", 2),
        ("diffusion.noise_offset=0.25", 0),
        ("diffusion.window=false", 0),
        ("diffusion.prediction=x0,decoder.copy_gate=true", 1),
    ],
)
def test_prefix_reuse_rolls_out_as_the_whole_window_does(overrides, cached):
    """``diffusion.reuse_prefix``: the same rollout as recomputing the window; kept only where the previous chunk's
    partner states lie on the sampler's grid (offset ½), none with offset ¼ or without a window."""
    torch.manual_seed(0)
    model = PanWorldModel.from_config(apply_overrides(preset("tiny"), overrides)).eval()
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.add_(torch.randn_like(p) * 0.02)
        if model.cfg.decoder.copy_gate:  # half open, so a wrong source would show
            model.decoder.gate_params()[1].zero_()
    frame = torch.randint(
        0, 256, (2, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
    )
    out = {}
    for reuse in (True, False):
        model.cfg.diffusion.reuse_prefix = reuse
        state, g = model.start(frame), torch.Generator().manual_seed(2)
        latents = []
        for _ in range(3):
            model.step(state, ["turn left", "go to the red ball"], g)
            latents.append(state.swin.last_frame)
        out[reuse] = torch.cat(latents, 2)
        assert len(state.swin.prev_prefix) == (cached if reuse else 0)
    torch.testing.assert_close(out[True], out[False], rtol=1e-4, atol=1e-4)


def test_config_is_the_models_pan_config(tiny_model):
    assert tiny_model.config is tiny_model.cfg and tiny_model.config.frames_per_chunk >= 1
