"""Caches, side by side with recomputing: the backbone's history (issue goal: ≥ 5× at 10 rounds) and the decoder's
Swin-DPM prefix.

Backbone: for each history length (rounds already in the history), one backbone step that appends a round is timed
with the KV cache and by recomputing the whole capped history; also the mean over a long rollout, where the cache
is rebuilt whenever the ``max_rounds`` cap is hit. (``benchmarks/bench_backbone_cache.py`` is its command-line
front end.) Decoder: one decoded step with ``diffusion.reuse_prefix`` on and off (``prefix_vs_window``).

Example:
    >>> from pan_gym.env.models import resolve_model
    >>> rows, rollout = cache_vs_recompute(resolve_model("tiny"), rounds=(1,), repeats=1, rollout_steps=2)
    >>> rows[0]["rounds"], rows[0]["ratio"] > 0, sorted(rollout)
    (1, True, ['cached', 'recompute'])
"""

from __future__ import annotations

import copy
import time

import torch

from pan_gym.perf.stepping import bench_actions, steady_state
from pan_gym.perf.timing import count_flops, side_by_side


@torch.no_grad()
def cache_vs_recompute(
    model, rounds=(1, 5, 9), repeats: int = 5, batch: int = 1, rollout_steps: int | None = None
) -> tuple[list[dict], dict[str, float]]:
    """Rows ``{rounds, cached_ms, recompute_ms, ratio, flop_ratio}`` (one step appended to a history of
    ``rounds`` rounds, timed from an untimed copy of the cache; ``flop_ratio``: recompute ÷ cached FLOPs, the
    ratio a compute-bound machine could reach) and the rollout means ``{cached, recompute}`` in ms/step over
    ``rollout_steps`` steps (default 3 × max_rounds)."""
    torch.manual_seed(0)
    f = model.backbone
    b, d = batch, f.queries.shape[1]
    vis, act = torch.randn(b, f.n_vis, d), torch.randn(b, model.cfg.text.max_tokens, model.text.dim)
    wanted = [r for r in rounds if r < f.cfg.max_rounds]
    rows, cache, s = [], f.new_cache(), None
    for r in range(max(wanted, default=-1) + 1):
        if r in wanted:

            def run(c, recompute, s=s):
                return f.step(c, vis, act, s, recompute=recompute)

            snap = lambda: copy.deepcopy(cache)  # noqa: E731, B023 - used at once
            best = {False: float("inf"), True: float("inf")}
            for _ in range(repeats):  # side by side: cached, recompute, cached, …
                for rc in best:
                    c = snap()
                    t = time.perf_counter()
                    run(c, rc)
                    best[rc] = min(best[rc], time.perf_counter() - t)
            cached, recomputed = best[False], best[True]
            flops = {rc: count_flops(lambda rc=rc, snap=snap: run(snap(), rc))[0] for rc in (False, True)}
            rows.append(
                {
                    "rounds": r,
                    "cached_ms": cached * 1e3,
                    "recompute_ms": recomputed * 1e3,
                    "ratio": recomputed / cached,
                    "flop_ratio": flops[True] / flops[False],
                }
            )
        s = f.step(cache, vis, act, s)
    steps = rollout_steps or 3 * f.cfg.max_rounds
    rollout = {}
    for label, recompute in (("cached", False), ("recompute", True)):
        cache, s = f.new_cache(), None
        t = time.perf_counter()
        for _ in range(steps):
            s = f.step(cache, vis, act, s, recompute=recompute)
        rollout[label] = (time.perf_counter() - t) / steps * 1e3
    return rows, rollout


@torch.no_grad()
def prefix_vs_window(model, batches=(1, 16), repeats: int = 3) -> list[dict]:
    """Rows ``{batch, prefix_ms, window_ms, ratio, flop_ratio}``: one decoded step whose slot-B Euler steps run the
    new chunk against the previous chunk's recorded keys/values (``diffusion.reuse_prefix``) vs over the whole
    Swin-DPM window, timed side by side from copies of one steady-state rollout."""
    d, before = model.cfg.diffusion, model.cfg.diffusion.reuse_prefix
    rows = []
    try:
        for b in batches:
            d.reuse_prefix = True
            state = steady_state(model, b)  # holds the prefix; with reuse off it is simply not used

            def run(reuse, b=b, state=state):
                def go():
                    d.reuse_prefix = reuse
                    model.step(state.snapshot(), bench_actions(b, 3), torch.Generator().manual_seed(1))

                return go

            best = side_by_side({"prefix": run(True), "window": run(False)}, repeats)
            flops = {reuse: count_flops(run(reuse))[0] for reuse in (True, False)}
            rows.append(
                {
                    "batch": b,
                    "prefix_ms": best["prefix"] * 1e3,
                    "window_ms": best["window"] * 1e3,
                    "ratio": best["window"] / best["prefix"],
                    "flop_ratio": flops[False] / flops[True],
                }
            )
    finally:
        d.reuse_prefix = before
    return rows
