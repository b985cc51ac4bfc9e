"""Plug in your own reward: plan with CEM toward whatever a Python function scores, in the model or the true world.

    python examples/custom_reward.py                         # the shipped model
    python examples/custom_reward.py --oracle                # the true simulator
    python examples/custom_reward.py --model tiny --samples 4 --iterations 1 --steps 1

The reward here: bring the agent to the top-left corner of the room. MiniGrid draws the agent as a pure red
(255, 0, 0) triangle, so the function finds pure-red pixels in the last frame of each chunk and returns minus their
mean distance to the corner (red objects are pure red too: the default start has none).
The same callable works for the model env (``reward=fn``, decoded frames) and for the oracle.
"""

import argparse

import numpy as np
import torch

from agents.cem import CEMPlanner
from agents.mpc import MPC, observe
from agents.simulators import ModelSimulator, OracleSimulator
from pan_gym.worlds import make_world


def corner_reward(obs, action, info):
    """obs["frames"] uint8 (T, H, W, 3) -> reward: minus the mean distance (in pixels) of red pixels to (0, 0)."""
    frame = obs["frames"][-1].astype(np.int16)
    red = (frame[..., 0] > 200) & (frame[..., 1] < 60) & (frame[..., 2] < 60)
    ys, xs = np.nonzero(red)
    return -float(np.hypot(ys, xs).mean()) if len(ys) else -float(np.hypot(*frame.shape[:2]))


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--model", default=None, help="None = shipped model; a preset (tiny, small) or a directory"
)
parser.add_argument("--oracle", action="store_true", help="plan with the true simulator")
parser.add_argument("--seed", type=int, default=1_000_018, help="evaluation seed (this one: no red objects)")
parser.add_argument("--samples", type=int, default=32)
parser.add_argument("--iterations", type=int, default=2)
parser.add_argument("--steps", type=int, default=4, help="real-world actions")
args = parser.parse_args()
torch.set_num_threads(1)

if args.oracle:
    sim = OracleSimulator("babyai", reward=corner_reward)
else:  # a callable reward reads frames: decode (not latent-only); it never terminates the rollout
    sim = ModelSimulator(args.model, "babyai", reward=corner_reward, latent_only=False)
menu = ["turn left", "turn right", "move forward", "move forward 2 steps"]
planner = MPC(
    CEMPlanner(sim, horizon=2, samples=args.samples, iterations=args.iterations, elites=4, menu=menu)
)
world = make_world("babyai")
frame, info = world.reset(seed=args.seed)
print(f"start: reward {corner_reward({'frames': frame[None]}, '', {}):.1f}")
for _ in range(args.steps):
    action = planner.act(observe(world, frame, info["mission"]))
    chunk, *_ = world.step(action)
    frame = chunk[-1]
    print(f"{action!r}: true reward {corner_reward({'frames': chunk}, action, {}):.1f}")
