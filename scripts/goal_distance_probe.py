"""Does the goal-image distance track the task? Meta-World reach: from training starts with a goal image, random
gripper moves in the true world; after each, the goal-image distance (``agents.goal_image.GoalImage``, the model's
encoder tokens, relative to the start's) and the pixel L1 distance to the goal image, against the true hand–target
distance. Prints their Spearman correlations (1: the distance orders states as the task does).

    python scripts/goal_distance_probe.py [--model DIR] [--starts 30] [--moves 10]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from scipy.stats import spearmanr

from agents.goal_image import GoalImage
from agents.goal_ppo import MOTIONS, GoalBank
from pan_gym.env.models import resolve_model
from pan_gym.worlds import make_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="a model directory (default: the shipped Meta-World model)"
    )
    parser.add_argument("--starts", type=int, default=30, help="training starts (seeds from 0) with a goal")
    parser.add_argument("--moves", type=int, default=10, help="random moves per start")
    parser.add_argument("--goal-cache", default=None, help="as agents.goal_ppo's --goal-cache")
    args = parser.parse_args()
    torch.set_num_threads(1)
    world = make_world("metaworld", tasks=("reach-v3",))
    bank = GoalBank.find(world, list(range(args.starts)), depth=8, beam=8, cache=args.goal_cache)
    scorer = GoalImage(resolve_model(args.model, default="metaworld"))
    rng = np.random.default_rng(0)
    tokens, pixels, true = [], [], []
    for seed, goal in zip(bank.seeds, bank.frames, strict=True):
        frame, _ = world.reset(seed=int(seed))
        d0 = scorer.distances(frame, goal)
        for _ in range(args.moves):
            chunk, *_ = world.step(MOTIONS[rng.integers(6)])  # the six moves, not open/close
            hand, target = world.hand_and_goal()
            tokens.append(scorer.distances(chunk[-1], goal) / d0)
            pixels.append(np.abs(chunk[-1].astype(int) - goal.astype(int)).mean())
            true.append(np.linalg.norm(hand - target))
    print(
        f"{len(true)} states; Spearman with the true hand-target distance: goal-image tokens "
        f"{spearmanr(tokens, true).correlation:.2f}, pixel L1 {spearmanr(pixels, true).correlation:.2f}"
    )


if __name__ == "__main__":
    main()
