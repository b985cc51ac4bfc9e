"""Train PPO only inside the world model, evaluate it in the real world, compare with PPO trained for real.

    python examples/ppo_in_imagination.py                                  # the shipped model, 20k steps
    python examples/ppo_in_imagination.py --model tiny --total-timesteps 64 --eval-episodes 2

The whole algorithm is ``agents/imagination_ppo.py`` (``python -m agents.imagination_ppo --help`` for every knob).
"""

import argparse
import json

from agents.imagination_ppo import Args, main

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--model", default=None, help="None = shipped model; a preset (tiny, small) or a directory"
)
parser.add_argument("--obs", default="frames", choices=["frames", "state"], help="policy input")
parser.add_argument("--total-timesteps", type=int, default=20_000)
parser.add_argument("--eval-episodes", type=int, default=50)
cli = parser.parse_args()

small = cli.total_timesteps < 512  # a smoke run: shrink the PPO batch to the budget
args = Args(
    model=cli.model,
    obs=cli.obs,
    total_timesteps=cli.total_timesteps,
    eval_episodes=cli.eval_episodes,
    num_envs=2 if small else 8,
    n_steps=16 if small else 64,
    batch_size=16 if small else 64,
    n_epochs=1 if small else 4,
)
results = main(args)
print(json.dumps({k: v for k, v in results.items() if k != "args"}, indent=2))
