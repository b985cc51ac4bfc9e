"""Env throughput: the native vector env of N vs N single envs stepped in turn, and latent-only vs decoded steps.

    PYTHONPATH=. python benchmarks/bench_env.py --presets tiny small --num-envs 8 --threads 1

Prints env-steps per second for each setup and the ratios side by side (best of ``--repeats`` timings, since the
machine is shared). The measurement is ``pan_gym.perf.envs.env_throughput`` (also the ``env`` section of
``pan-gym bench``): random start frames, no terminations except in the 10 % churn column, random weights for
preset names (``--presets`` also takes save_pretrained directories; ``--config`` overrides apply to all).
"""

from __future__ import annotations

import argparse

import torch

from pan_gym.env.models import resolve_model
from pan_gym.perf.envs import env_throughput


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["tiny", "small"])
    p.add_argument("--config", default="", help="config overrides, e.g. frames_per_chunk=1")
    p.add_argument("--num-envs", type=int, default=8)
    p.add_argument("--steps", type=int, nargs="+", default=[20, 4], help="timed steps per preset")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    n = args.num_envs
    print(f"threads={args.threads} num_envs={n} (env-steps/s, best of {args.repeats})")
    header = (
        f"| preset | {n} singles in turn | vector-{n} | vector ÷ singles | vector-{n}, 10% terminations "
        "(cohorts) | latent-only single | latent-only ÷ decoded |"
    )
    print(header)
    print("|" + "---|" * 7)
    for preset, steps in zip(args.presets, args.steps + args.steps[-1:] * len(args.presets), strict=False):
        r = env_throughput(resolve_model(preset, overrides=args.config), n, steps, args.repeats)
        print(
            f"| {preset} | {r['singles']:.1f} | {r['vector']:.1f} | **{r['vector'] / r['singles']:.2f}×** | "
            f"{r['vector_churn']:.1f} ({r['cohorts']}) | {r['latent']:.1f} | **{r['latent'] / r['singles']:.1f}×** |",
            flush=True,
        )


if __name__ == "__main__":
    main()
