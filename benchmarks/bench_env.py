"""Env throughput: the native vector env of N vs N single envs stepped in turn, and latent-only vs decoded steps.

    PYTHONPATH=. python benchmarks/bench_env.py --presets tiny small --num-envs 8 --threads 1

Prints env-steps per second for each setup and the ratios side by side (best of ``--repeats`` timings, since the
machine is shared). Start frames are random uint8 images (speed does not depend on their content); episodes
never end during the timed steps (termination threshold above 1) so all sub-envs step together, except in the
``vector, 10% terminations`` row, which shows the cost of sub-envs falling out of step (see env/vector.py).
Models have random weights (the preset architectures; no shipped model yet).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pan_gym.env.models import resolve_model
from pan_gym.env.vector import PanWorldModelVectorEnv
from pan_gym.env.world_model_env import PanWorldModelEnv

ACTIONS = [
    "turn left",
    "turn right",
    "go forward",
    "pick up the blue key",
    "open the door",
    "go to the red ball",
]


def best(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench(preset: str, n: int, steps: int, repeats: int) -> dict[str, float]:
    model = resolve_model(preset)
    frames = np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    acts = [[ACTIONS[(t + i) % len(ACTIONS)] for i in range(n)] for t in range(steps)]
    opts = {"observation": frames, "mission": "go to the red ball"}

    vec = PanWorldModelVectorEnv(n, model=model, termination_threshold=2.0)
    vec.reset(seed=0, options=opts)
    vec.step(acts[0])  # warm-up

    def run_vec():
        for a in acts:
            vec.step(a)

    rng = np.random.default_rng(0)
    churn = PanWorldModelVectorEnv(n, model=model, reward_fn=lambda o, a, i: (0.0, bool(rng.random() < 0.1)))
    churn.reset(seed=0, options=opts)
    for _ in range(10):  # let the sub-envs fall out of step
        churn.step(acts[0])

    def run_churn():
        for a in acts:
            churn.step(a)

    singles = [PanWorldModelEnv(model=model, termination_threshold=2.0) for _ in range(n)]
    latents = [PanWorldModelEnv(model=model, termination_threshold=2.0, latent_only=True) for _ in range(n)]
    for i, (s, lat) in enumerate(zip(singles, latents, strict=True)):
        s.reset(seed=i, options={"observation": frames[i], "mission": "go to the red ball"})
        lat.reset(seed=i, options={"observation": frames[i], "mission": "go to the red ball"})
        s.step(ACTIONS[0])
        lat.step(ACTIONS[0])

    def run_singles(envs):
        def go():
            for a in acts:
                for i, e in enumerate(envs):
                    e.step(a[i])

        return go

    total = n * steps
    out = {
        "vector": total / best(run_vec, repeats),
        "vector_churn": total / best(run_churn, repeats),
        "singles": total / best(run_singles(singles), repeats),
        "latent": total / best(run_singles(latents), repeats),
    }
    out["cohorts"] = churn.num_cohorts
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["tiny", "small"])
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
        r = bench(preset, n, steps, args.repeats)
        print(
            f"| {preset} | {r['singles']:.1f} | {r['vector']:.1f} | **{r['vector'] / r['singles']:.2f}×** | "
            f"{r['vector_churn']:.1f} ({r['cohorts']}) | {r['latent']:.1f} | **{r['latent'] / r['singles']:.1f}×** |",
            flush=True,
        )


if __name__ == "__main__":
    main()
