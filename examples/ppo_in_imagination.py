"""Train PPO only inside the world model, evaluate it in the real world, compare with PPO trained for real.

    python examples/ppo_in_imagination.py                                  # the shipped model, 50k steps (~22 min)
    python examples/ppo_in_imagination.py --model tiny --total-timesteps 64 --eval-episodes 2

The setting where the shipped model's imagination carries PPO: BabyAI GoToObj missions (one object in the room),
primitive actions (turn left/right, move forward), and the same reward in both arms, read from the frames
(``agents.scorers.MissionReward``: 1 on reaching the object, a small penalty per action still needed). Measured at
50k steps, real-world success, seeds 0 / 1: imagination 58 / 33 %, real 66 / 28 % (``benchmarks/RESULTS.md``).
The whole algorithm is ``agents/imagination_ppo.py`` (``python -m agents.imagination_ppo --help`` for every knob).
"""

import argparse
import json

from agents.imagination_ppo import Args, main

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--model", default=None, help="None = shipped model; a preset (tiny, small) or a directory"
)
parser.add_argument("--total-timesteps", type=int, default=50_000)
parser.add_argument("--eval-episodes", type=int, default=100)
cli = parser.parse_args()

small = cli.total_timesteps < 512  # a smoke run: shrink the PPO batch to the budget
args = Args(
    model=cli.model,
    levels=("BabyAI-GoToObj-v0",),
    menu="primitives",
    reward="mission-distance",
    obs="frames",
    max_episode_steps=12,
    total_timesteps=cli.total_timesteps,
    eval_episodes=cli.eval_episodes,
    num_envs=2 if small else 8,
    n_steps=16 if small else 64,
    batch_size=16 if small else 64,
    n_epochs=1 if small else 4,
    threads=2,
    precision="bf16-weights",
)
results = main(args)
print(json.dumps({k: v for k, v in results.items() if k != "args"}, indent=2))
