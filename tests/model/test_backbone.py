import copy

import torch

from pan_gym.model.glp import PanWorldModel


def _inputs(n, b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(b, 16, 32, generator=g), torch.randn(b, 12, 32, generator=g)) for _ in range(n)]


def _stepped(f, n):
    """n random rounds stepped one by one: vis (B, n, N_vis, D), actions (B, n, L, E) and ŝ (B, n, Q, D)."""
    steps, cache, s_hats, s = _inputs(n), f.new_cache(), [], None
    with torch.no_grad():
        for vis, act in steps:
            s = f.step(cache, vis, act, s)
            s_hats.append(s)
    vis, act = (torch.stack([x[i] for x in steps], 1) for i in (0, 1))
    return vis, act, torch.stack(s_hats, 1)


def test_cached_step_equals_full_recompute_across_the_cap(tiny_model):
    # tiny: max_rounds 3, keep_rounds 2 -> the cache is rebuilt several times in 8 steps
    f = tiny_model.backbone
    cached, full = f.new_cache(), f.new_cache()
    s_c = s_f = None
    with torch.no_grad():
        for vis, act in _inputs(8):
            s_c = f.step(cached, vis, act, s_c)
            s_f = f.step(full, vis, act, s_f, recompute=True)
            assert torch.allclose(s_c, s_f, atol=1e-4), (s_c - s_f).abs().max()
            assert cached.num_rounds == full.num_rounds <= f.cfg.max_rounds


def test_incremental_steps_equal_teacher_forcing(tiny_model):
    """The masked one-pass training forward sees exactly the history the KV-cached rollout sees."""
    f = tiny_model.backbone
    vis, act, s_hats = _stepped(f, 3)
    with torch.no_grad():
        tf = f.teacher_forced(vis, act, s_hats[:, :-1])
    assert torch.allclose(tf, s_hats, atol=1e-4)


def test_the_training_forward_equals_stepping_the_rounds_one_by_one(tiny_model):
    """Each round's ŝ slot in training holds what inference puts there: the previous round's own prediction."""
    f = tiny_model.backbone
    assert f.cfg.enhanced_state
    vis, act, s_hats = _stepped(f, f.cfg.max_rounds)
    with torch.no_grad():
        assert torch.allclose(f.forward_train(vis, act), s_hats, atol=1e-4)


def test_queries_are_dropped_and_memory_is_bounded(tiny_model):
    f = tiny_model.backbone
    cache, s, lengths = f.new_cache(), None, []
    with torch.no_grad():
        for vis, act in _inputs(12, b=1):
            s = f.step(cache, vis, act, s)
            lengths.append(cache.kv.get_seq_length())
            assert cache.kv.get_seq_length() == sum(r.shape[1] for r in cache.rounds)  # no query tokens kept
    assert max(lengths) == max(lengths[:6]) and cache.num_rounds <= f.cfg.max_rounds


def test_history_matters_and_snapshot_is_independent(tiny_model):
    f = tiny_model.backbone
    (v1, a1), (v2, a2), (v3, a3) = _inputs(3, b=1)
    c = f.new_cache()
    with torch.no_grad():
        s = f.step(c, v1, a1)
        snap = copy.deepcopy(c)
        s_a = f.step(c, v2, a2, s)
        s_b = f.step(snap, v2, a2, s)
        other = f.new_cache()
        s_other = f.step(other, v3, a3)
        s_c = f.step(other, v2, a2, s_other)
    assert torch.equal(s_a, s_b)
    assert not torch.allclose(s_a, s_c)


def test_latent_only_step_uses_the_no_frame_placeholder(tiny_model):
    f = tiny_model.backbone
    (v1, a1), (_, a2) = _inputs(2, b=1)
    with torch.no_grad():
        c = f.new_cache()
        s = f.step(c, v1, a1)
        out = f.step(c, None, a2, s)
    assert out.shape == (1, 4, 32) and torch.isfinite(out).all()


def test_frozen_backbone_option():
    m = PanWorldModel.from_preset("tiny")
    m_frozen = PanWorldModel.from_config(
        m.cfg.__class__.from_dict(
            {**m.cfg.to_dict(), "backbone": {**m.cfg.to_dict()["backbone"], "freeze": True}}
        )
    )
    assert all(p.requires_grad for p in m.backbone.lm.parameters())
    assert not any(p.requires_grad for p in m_frozen.backbone.lm.parameters())
    assert m_frozen.backbone.queries.requires_grad
