"""World throughput: frames/s that each ground-truth world delivers, stepping alone and collecting to disk.

    PYTHONPATH=. python benchmarks/bench_worlds.py --worlds babyai metaworld --seconds 10 --policy random

For each world (skipped with a note when it cannot be built, e.g. its simulator is not installed):
1. ``step``: episodes with seeds 0, 1, … under the policy for ``--seconds``, timing ``policy + world.step`` (the
   frames counted are the returned chunk frames, T per action);
2. ``collect``: ``pan_gym.data.collect`` of the same episodes into a temp dir (adds phrasing, memmap writes and
   atomic commits).
One process, ``--threads`` torch threads (the machine is shared: compare runs made at the same load).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from pan_gym.data import collect
from pan_gym.data.policies import make_policy
from pan_gym.worlds import make_world


def bench_steps(world, policy_name: str, seconds: float, max_steps: int) -> tuple[int, int, int, int, float]:
    """Run whole episodes until ``seconds`` have passed: (episodes, actions, frames, primitive steps, seconds).

    Primitive (simulator) steps come from ``info["primitive_steps"]`` when the world reports them, else 0.
    """
    policy, rng = make_policy(policy_name), np.random.default_rng(0)
    episodes = actions = frames = prims = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        world.reset(seed=episodes)
        for _ in range(max_steps):
            chunk, _, terminated, truncated, info = world.step(policy(world, rng))
            prims += info.get("primitive_steps", 0)
            actions += 1
            frames += len(chunk)
            if terminated or truncated:
                break
        episodes += 1
    return episodes, actions, frames, prims, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worlds", nargs="+", default=["babyai", "metaworld"])
    parser.add_argument("--policy", default="random", choices=["random", "expert", "mixed"])
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="time budget of the step benchmark per world"
    )
    parser.add_argument("--max-steps", type=int, default=20, help="actions per episode at most")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print(
        f"{'world':<10} {'phase':<8} {'policy':<7} {'episodes':>8} {'actions':>8} {'frames':>8} {'s':>6} {'frames/s':>9}"
    )
    for name in args.worlds:
        try:
            world = make_world(name)
            world.reset(seed=0)
        except Exception as err:  # e.g. the simulator is not installed here
            print(f"{name:<10} skipped: {type(err).__name__}: {err}")
            continue
        eps, acts, frames, prims, secs = bench_steps(world, args.policy, args.seconds, args.max_steps)
        print(
            f"{name:<10} {'step':<8} {args.policy:<7} {eps:>8} {acts:>8} {frames:>8} {secs:>6.1f} {frames / secs:>9.0f}"
            + (f"   ({prims} simulator steps: {prims / secs:.0f}/s)" if prims else "")
        )
        with tempfile.TemporaryDirectory() as out:
            stats = collect(world, eps, out, policy=args.policy, max_steps=args.max_steps, progress=False)
        print(
            f"{name:<10} {'collect':<8} {args.policy:<7} {stats.episodes:>8} {stats.steps:>8} {stats.frames:>8} "
            f"{stats.seconds:>6.1f} {stats.fps:>9.0f}"
        )
        world.close()


if __name__ == "__main__":
    main()
