"""Plan toward a BabyAI mission with CEM in the world model, acting in the real world (MPC).

    python examples/plan_mission.py                         # the shipped model, primitive actions
    python examples/plan_mission.py --oracle                # the true simulator as the planner's model
    python examples/plan_mission.py --menu valid            # the world's whole listing, scored by the reward head
    python examples/plan_mission.py --model tiny --samples 8 --iterations 1

Each decision: re-encode the real frame, imagine ``samples`` action sequences of length ``horizon`` in one batched
call, score them, execute the best first action. ``--menu primitives`` (default) plans over turns, single steps and
the pickup of what the agent faces, scored by reading the imagined frames (``agents.scorers.MissionDistance``);
``--menu valid`` over every action the world lists ("go to the red ball", …), scored by the model's reward head.
"""

import argparse

import torch

from agents.cem import CEMPlanner
from agents.menus import WithMenu, primitives
from agents.mpc import MPC, run_episode
from agents.scorers import MissionDistance
from agents.simulators import ModelSimulator, OracleSimulator
from pan_gym.worlds import make_world

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--model", default=None, help="None = shipped model; a preset (tiny, small) or a directory"
)
parser.add_argument("--oracle", action="store_true", help="plan with the true simulator instead of the model")
parser.add_argument("--menu", choices=("primitives", "valid"), default="primitives")
parser.add_argument("--seed", type=int, default=1_000_002, help="evaluation seed (>= 1,000,000)")
parser.add_argument("--horizon", type=int, default=3)
parser.add_argument("--samples", type=int, default=32)
parser.add_argument("--iterations", type=int, default=2)
parser.add_argument("--max-steps", type=int, default=12)
args = parser.parse_args()
torch.set_num_threads(2)

frames = args.menu == "primitives"  # the frame scorer needs decoded frames
score = MissionDistance() if frames else None
sim = (
    OracleSimulator("babyai")
    if args.oracle
    else ModelSimulator(args.model, "babyai", latent_only=not frames, precision="bf16-weights")
)
cem = CEMPlanner(sim, args.horizon, args.samples, args.iterations, max(1, args.samples // 8), score_fn=score)
planner = WithMenu(MPC(cem), primitives) if frames else MPC(cem)
episode = run_episode(planner, make_world("babyai"), args.seed, max_steps=args.max_steps)
print("mission:", episode["mission"])
print("actions:", episode["actions"])
print(f"success: {episode['success']} in {episode['steps']} steps, {episode['seconds']:.2f} s deciding")
