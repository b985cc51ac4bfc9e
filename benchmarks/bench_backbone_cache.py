"""Backbone history: KV-cached stepping vs full-history recompute, measured side by side (issue goal: >= 5x).

For each history length (rounds already in the history), times one backbone step that appends a round, with the
KV cache and by recomputing the whole capped history, and prints the ratio. Also the mean over a long rollout,
where the cache is rebuilt whenever the 10-round cap is hit. The measurement is ``pan_gym.perf.cache`` (also the
``cache`` section of ``pan-gym bench``).

    python benchmarks/bench_backbone_cache.py [--preset small] [--config frames_per_chunk=1] [--threads 1] [--repeats 5]
"""

from __future__ import annotations

import argparse

import torch

from pan_gym.env.models import resolve_model
from pan_gym.perf.cache import cache_vs_recompute


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="small", help="preset name or save_pretrained directory")
    ap.add_argument("--config", default="", help="config overrides, e.g. frames_per_chunk=1")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = resolve_model(args.preset, overrides=args.config)
    f = model.backbone
    print(
        f"preset={args.preset} threads={args.threads} batch={args.batch} Q={f.num_queries} N_vis={f.n_vis} "
        f"max_rounds={f.cfg.max_rounds}"
    )
    rounds = (1, 5, f.cfg.max_rounds - 1)
    rows, rollout = cache_vs_recompute(model, rounds, args.repeats, args.batch)
    print(f"{'rounds in history':>18} {'cached ms':>10} {'recompute ms':>13} {'ratio':>7}")
    for r in rows:
        print(f"{r['rounds']:>18} {r['cached_ms']:>10.1f} {r['recompute_ms']:>13.1f} {r['ratio']:>6.1f}x")
    steps = 3 * f.cfg.max_rounds
    for label, ms in rollout.items():
        print(f"rollout of {steps} steps, {label:>9}: {ms:.1f} ms/step")


if __name__ == "__main__":
    main()
