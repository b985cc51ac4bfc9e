"""Plan toward a BabyAI mission with CEM in the world model, acting in the real world (MPC).

    python examples/plan_mission.py                         # the shipped model
    python examples/plan_mission.py --oracle                # the true simulator as the planner's model
    python examples/plan_mission.py --model tiny --samples 8 --iterations 1

Each decision: re-encode the real frame, imagine ``samples`` action sequences of length ``horizon`` in one batched
call, score them with the model's reward head (conditioned on the mission), execute the best first action.
"""

import argparse

import torch

from agents.cem import CEMPlanner
from agents.mpc import MPC, run_episode
from agents.simulators import ModelSimulator, OracleSimulator
from pan_gym.worlds import make_world

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--model", default=None, help="None = shipped model; a preset (tiny, small) or a directory"
)
parser.add_argument("--oracle", action="store_true", help="plan with the true simulator instead of the model")
parser.add_argument("--seed", type=int, default=1_000_002, help="evaluation seed (>= 1,000,000)")
parser.add_argument("--horizon", type=int, default=3)
parser.add_argument("--samples", type=int, default=64)
parser.add_argument("--iterations", type=int, default=3)
parser.add_argument("--max-steps", type=int, default=5)
args = parser.parse_args()
torch.set_num_threads(1)

sim = OracleSimulator("babyai") if args.oracle else ModelSimulator(args.model, "babyai")
planner = MPC(CEMPlanner(sim, args.horizon, args.samples, args.iterations, elites=max(1, args.samples // 8)))
episode = run_episode(planner, make_world("babyai"), args.seed, max_steps=args.max_steps)
print("mission:", episode["mission"])
print("actions:", episode["actions"])
print(f"success: {episode['success']} in {episode['steps']} steps, {episode['seconds']:.2f} s deciding")
