"""The benchmark's measuring tools: component timers restore what they wrap, FLOPs are counted exactly."""

from __future__ import annotations

import torch

from pan_gym.env.models import resolve_model
from pan_gym.perf.timing import ComponentTimer, best_of, count_flops, side_by_side


def test_component_timer_counts_each_part_and_restores_the_model():
    model = resolve_model("tiny")
    state = model.start(torch.zeros(2, 64, 64, 3, dtype=torch.uint8))
    with ComponentTimer(model) as timer:
        model.step(state, ["turn left"] * 2, torch.Generator().manual_seed(0))
    steps = model.cfg.diffusion.sampler_steps
    assert timer.calls["backbone"] == 1 and timer.calls["vae_decode"] == 1 and timer.calls["dit"] >= steps
    assert all(s > 0 for s in timer.seconds.values())
    assert "step" not in vars(model.backbone) and "forward" not in vars(model.decoder)  # unwrapped again
    model.step(state, ["turn left"] * 2)
    assert timer.calls["backbone"] == 1


def test_flops_of_a_matmul_and_of_modules():
    a, b = torch.randn(8, 16), torch.randn(16, 4)
    total, _ = count_flops(lambda: a @ b)
    assert total == 2 * 8 * 16 * 4
    lin = torch.nn.Linear(16, 4)
    total, per_module = count_flops(lambda: lin(a))
    assert total == 2 * 8 * 16 * 4 and per_module == {"Linear": total}


def test_best_of_and_side_by_side_time_every_candidate():
    calls = []
    t = best_of(lambda: calls.append(1), repeats=3, setup=lambda: calls.append(0))
    assert t >= 0 and calls.count(1) == 3
    out = side_by_side({"a": lambda: sum(range(100)), "b": lambda: sum(range(1000))}, repeats=2)
    assert set(out) == {"a", "b"} and all(v > 0 for v in out.values())
