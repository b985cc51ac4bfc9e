"""Can the model draw "drop it"? BabyAI PutNextLocal starts: the agent picks up the object the mission moves, turns
until it faces an empty cell, and drops it, in the true world; the model then imagines the drop, once from the frame
before it alone and once with the episode's real history in the backbone (``PanWorldModel.observe``: each executed
action's round run by f, its real frame in place of a drawn one), each with the backbone's ŝ and with ŝ = 0
(``decoder.use_state=false``). What is carried never shows in the frame, so only the history can tell the decoder
which object to draw. Counts whole frames drawn exactly, and drops whose cell shows the right object and colour.

    python scripts/drop_probe.py [--model DIR] [--episodes 30]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from pan_gym.env.models import resolve_model
from pan_gym.eval.metrics import TileBook
from pan_gym.worlds import make_world


def carry_to_a_free_cell(world: Any, seed: int, rng: np.random.Generator | None = None):
    """PutNextLocal at ``seed``: pick up the object the mission moves, take 0–3 random turns or steps (with ``rng``),
    turn until the agent faces an empty cell. Returns (the reset frame, [(action, the frame it ended on), ...]), or
    None when nothing was picked up."""
    frame, info = world.reset(seed=seed)
    mover = info["mission"].split("put the ")[1].split(" next")[0]
    past = [(f"pick up the {mover}", world.step(f"pick up the {mover}")[0][-1])]
    if world.env.carrying is None:
        return None
    for _ in range(0 if rng is None else int(rng.integers(4))):
        action = ("turn left", "turn right", "move forward")[int(rng.integers(3))]
        past.append((action, world.step(action)[0][-1]))
    for _ in range(4):
        if world.env.grid.get(*world.env.front_pos) is None:
            break
        past.append(("turn left", world.step("turn left")[0][-1]))
    return frame, past


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a model directory (default: the shipped BabyAI model)")
    parser.add_argument("--episodes", type=int, default=30, help="PutNextLocal seeds from 1,000,000")
    args = parser.parse_args()
    torch.set_num_threads(1)
    models = {
        "ŝ": resolve_model(args.model, default="babyai"),
        "ŝ = 0": resolve_model(args.model, default="babyai", overrides="decoder.use_state=false"),
    }
    world = make_world("babyai", levels=("BabyAI-PutNextLocal-v0",))
    book = TileBook(world.tiles())
    exact = {(m, h): 0 for m in models for h in ("frame alone", "real history")}
    cell, n = dict.fromkeys(exact, 0), 0
    for seed in range(1_000_000, 1_000_000 + args.episodes):
        setup = carry_to_a_free_cell(world, seed)
        if setup is None:
            continue
        frame, past = setup
        (x, y), before = world.env.front_pos, past[-1][1]
        after = world.step("drop it")[0][-1]
        if world.env.carrying is not None:  # nothing was dropped
            continue
        n += 1
        truth = book.read(after)
        for name, model in models.items():
            gen = torch.Generator().manual_seed(seed)
            alone = model.start(torch.from_numpy(before[None]))
            history = model.start(torch.from_numpy(frame[None]))
            for action, seen in past:
                model.observe(history, [action], torch.from_numpy(seen[None]))
            for how, state in (("frame alone", alone), ("real history", history)):
                drawn = book.read(model.step(state, ["drop it"], gen)[1][0, -1].numpy())
                exact[name, how] += int((drawn == truth).all())
                cell[name, how] += int(drawn[y, x] == truth[y, x])
    print(f"{n} drops (PutNextLocal seeds from 1,000,000); whole grid exact / dropped cell right:")
    for key in exact:
        print(f"  {key[0]:6s} {key[1]:13s} {exact[key]:3d} / {cell[key]:3d}")


if __name__ == "__main__":
    main()
