"""Roll out the world model from a real BabyAI start and save the imagined video beside the true one.

    python examples/rollout_video.py --out rollout.mp4                 # the shipped model
    python examples/rollout_video.py --model tiny --steps 2 --out /tmp/r.mp4

Left half: what the model imagines (open loop from the start frame); right half: what the true world does.
"""

import argparse

import cv2
import gymnasium as gym
import imageio.v2 as imageio
import numpy as np
import torch

import pan_gym  # noqa: F401  (registers pan_gym/BabyAI-v0)
from pan_gym.worlds import make_world

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--model", default=None, help="None = shipped model; a preset (tiny, small) or a directory"
)
parser.add_argument("--seed", type=int, default=1_000_000, help="world seed of the start state")
parser.add_argument("--steps", type=int, default=6, help="language actions to roll out")
parser.add_argument("--out", default="rollout.mp4", help="video file (.mp4 or .gif)")
args = parser.parse_args()
torch.set_num_threads(1)

world = make_world("babyai")
frame, info = world.reset(seed=args.seed)
env = gym.make("pan_gym/BabyAI-v0", model=args.model, world=None)
obs, _ = env.reset(seed=0, options={"observation": frame, "mission": info["mission"]})
rng = np.random.default_rng(args.seed)
size = obs["frames"].shape[1]
video = [np.concatenate([frame, frame], axis=1)]
print("mission:", info["mission"])
for _ in range(args.steps):
    action = world.expert_action(rng)  # the BabyAI bot's next move, as language
    obs, reward, terminated, truncated, _ = env.step(action)  # imagined chunk (T, H, W, 3)
    true_chunk, *_ = world.step(action)  # true chunk (T_world, 64, 64, 3)
    picks = np.linspace(0, len(true_chunk) - 1, len(obs["frames"])).round().astype(int)
    for imagined, true in zip(obs["frames"], true_chunk[picks], strict=True):
        true = cv2.resize(true, (size, size), interpolation=cv2.INTER_NEAREST)  # the model's frame size
        video.append(np.concatenate([imagined, true], axis=1))
    print(f"{action!r}: model reward {reward:+.3f}")
if args.out.endswith(".gif"):
    imageio.mimsave(args.out, video, duration=250, loop=0)  # pillow: ms per frame
else:
    imageio.mimsave(args.out, video, fps=4)  # imageio-ffmpeg
print(f"wrote {args.out} ({len(video)} frames)")
