"""The benchmark's model and stepping helpers: load a model, build a steady-state rollout, time and count a step.

Example:
    >>> from pan_gym.env.models import resolve_model
    >>> model = resolve_model("tiny")
    >>> state = steady_state(model, 2)
    >>> time_step(model, state, 2, repeats=1) > 0
    True
"""

from __future__ import annotations

import numpy as np
import torch

from pan_gym.env.models import with_precision
from pan_gym.perf.timing import best_of, count_flops

ACTIONS = [
    "turn left",
    "turn right",
    "go forward",
    "pick up the blue key",
    "open the door",
    "go to the red ball",
]
MISSION = "go to the red ball"


def describe(model) -> str:
    c = model.cfg
    params = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("text."))
    return (
        f"T={c.frames_per_chunk} frames/chunk at {c.image_size}x{c.image_size}, sampler {c.diffusion.sampler_steps} "
        f"Euler steps, Q={c.backbone.num_queries}, backbone d{c.backbone.hidden_size}/L{c.backbone.num_hidden_layers}, "
        f"DiT d{c.decoder.num_attention_heads * c.decoder.attention_head_dim}/L{c.decoder.num_layers}, "
        f"{params / 1e6:.1f} M parameters besides the text encoder ({c.text.kind})"
    )


def bench_frames(model, b: int, seed: int = 0) -> torch.Tensor:
    s = model.cfg.image_size
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (b, s, s, 3), dtype=np.uint8))


def bench_actions(b: int, t: int = 0) -> list[str]:
    return [ACTIONS[(t + i) % len(ACTIONS)] for i in range(b)]


def warm_text(model) -> None:
    """Encode the benchmark's action texts once, outside any autocast: a frozen text encoder memoises them per
    string, as in a long rollout, so the timings hold no first-seen-text cost."""
    model.text(ACTIONS + [MISSION])


def steady_state(model, b: int, warm_steps: int = 2, precision: str = "fp32", decode: bool = True):
    """A rollout of batch ``b`` after ``warm_steps`` steps (the Swin-DPM window holds a previous chunk), at a
    precision of ``pan_gym.env.models.with_precision`` (step it with ``time_step`` at the same precision)."""
    gen = torch.Generator().manual_seed(0)
    model, ctx = with_precision(model, precision)
    with ctx():
        state = model.start(bench_frames(model, b))
        for t in range(warm_steps):
            model.step(state, bench_actions(b, t), gen, decode=decode)
    return state


def time_step(model, state, b: int, repeats: int, precision: str = "fp32", decode: bool = True) -> float:
    """Best time of one step from copies of ``state`` (the copy is not timed)."""
    gen = torch.Generator().manual_seed(1)
    model, ctx = with_precision(model, precision)

    def run(s):
        with ctx():
            model.step(s, bench_actions(b, 3), gen, decode=decode)

    return best_of(run, repeats, setup=state.snapshot)


def step_flops(model, state, b: int, decode: bool = True) -> tuple[float, dict[str, float]]:
    s = state.snapshot()
    return count_flops(
        lambda: model.step(s, bench_actions(b, 3), torch.Generator().manual_seed(1), decode=decode)
    )
