"""Backbone history: KV-cached stepping vs full-history recompute, measured side by side (issue goal: >= 5x).

For each history length (rounds already in the history), times one backbone step that appends a round, with the
KV cache and by recomputing the whole capped history, and prints the ratio. Also the mean over a long rollout,
where the cache is rebuilt whenever the 10-round cap is hit.

    python benchmarks/bench_backbone_cache.py [--preset small] [--threads 1] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from pan_gym.model.glp import PanWorldModel


def _time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="small")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = PanWorldModel.from_preset(args.preset).eval()
    f = model.backbone
    b, n_vis, d = args.batch, f.n_vis, model.backbone.queries.shape[1]
    vis, act = torch.randn(b, n_vis, d), torch.randn(b, model.cfg.text.max_tokens, model.text.dim)
    print(
        f"preset={args.preset} threads={args.threads} batch={b} Q={f.num_queries} N_vis={n_vis} "
        f"max_rounds={f.cfg.max_rounds}"
    )
    print(f"{'rounds in history':>18} {'cached ms':>10} {'recompute ms':>13} {'ratio':>7}")
    cache, s = f.new_cache(), None
    with torch.no_grad():
        for rounds in range(f.cfg.max_rounds):
            if rounds in (1, 5, f.cfg.max_rounds - 1):
                c = _time(lambda s=s: f.step(copy.deepcopy(cache), vis, act, s), args.repeats)
                r = _time(lambda s=s: f.step(copy.deepcopy(cache), vis, act, s, recompute=True), args.repeats)
                copy_cost = _time(lambda: copy.deepcopy(cache), args.repeats)  # noqa: B023 - timed at once
                c, r = c - copy_cost, r - copy_cost
                print(f"{rounds:>18} {c * 1e3:>10.1f} {r * 1e3:>13.1f} {r / c:>6.1f}x")
            s = f.step(cache, vis, act, s)
        # a long rollout: amortised per-step cost including the cache rebuilds at the cap
        steps = 3 * f.cfg.max_rounds
        for label, recompute in (("cached", False), ("recompute", True)):
            cache, s = f.new_cache(), None
            t = time.perf_counter()
            for _ in range(steps):
                s = f.step(cache, vis, act, s, recompute=recompute)
            print(
                f"rollout of {steps} steps, {label:>9}: {(time.perf_counter() - t) / steps * 1e3:.1f} ms/step"
            )


if __name__ == "__main__":
    main()
