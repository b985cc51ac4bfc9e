"""Can the model draw "drop it"? BabyAI PutNextLocal starts: the agent picks up the object the mission moves, turns
until it faces an empty cell, and drops it, in the true world; the model then imagines the drop, once from the frame
before it alone and once with the episode's real history in the backbone (each executed action's round run by f, its
real frame in place of a decoded one). Counts whole frames drawn exactly.

    python scripts/drop_probe.py [--model DIR] [--episodes 30]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from pan_gym.diffusion.swin_dpm import SwinState
from pan_gym.env.models import resolve_model
from pan_gym.worlds import make_world


def observe(model, state, action: str, frame: np.ndarray) -> None:
    """Run the backbone's round for ``action``, then take the real ``frame`` (H, W, 3) as its outcome."""
    model.predict(state, [action])
    t = torch.from_numpy(frame[None])
    state.vis, state.pending = model.encode(t), None
    state.swin = SwinState(last_frame=model.latent.encode(t[:, None]).to(model.dtype))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a model directory (default: the shipped BabyAI model)")
    parser.add_argument("--episodes", type=int, default=30, help="PutNextLocal seeds from 1,000,000")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = resolve_model(args.model, default="babyai")
    world = make_world("babyai", levels=("BabyAI-PutNextLocal-v0",))
    gen = torch.Generator().manual_seed(0)
    alone = history = n = 0
    for seed in range(1_000_000, 1_000_000 + args.episodes):
        frame, info = world.reset(seed=seed)
        mover = info["mission"].split("put the ")[1].split(" next")[0]
        state = model.start(torch.from_numpy(frame[None]))
        chunk, *_ = world.step(f"pick up the {mover}")
        observe(model, state, f"pick up the {mover}", chunk[-1])
        for _ in range(4):  # turn until the agent faces an empty cell
            if world.env.grid.get(*world.env.front_pos) is None:
                break
            chunk, *_ = world.step("turn left")
            observe(model, state, "turn left", chunk[-1])
        before = chunk[-1]
        after, *_ = world.step("drop it")
        if world.env.carrying is not None:  # nothing was dropped
            continue
        n += 1
        _, drawn = model.step(model.start(torch.from_numpy(before[None])), ["drop it"], gen)
        alone += np.array_equal(drawn[0, -1].numpy(), after[-1])
        _, drawn = model.step(state, ["drop it"], gen)
        history += np.array_equal(drawn[0, -1].numpy(), after[-1])
    print(f"{n} drops; drawn exactly from the frame alone: {alone}; with the real history: {history}")


if __name__ == "__main__":
    main()
