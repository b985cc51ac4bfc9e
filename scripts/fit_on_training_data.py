"""Does a model fit its own training data? Whole-grid exactness of one imagined step, per action template, on
transitions drawn from a collected dataset (the true previous frame in, the action as phrased in the data).

A template that fails here fails to fit, not to generalise (compare `pan-gym eval`, which uses unseen start states).
Second column: the cells the action truly changes are all drawn right (whatever else the imagined frame gets
wrong), over the transitions that change some cell: "knows what and where, but also draws elsewhere" shows as a
high second column with a low first one.

    PYTHONPATH=. python scripts/fit_on_training_data.py pan_gym/assets/models/babyai-small data/babyai-macro
"""

from __future__ import annotations

import argparse
from collections import Counter

import torch

from pan_gym.data.dataset import load_dataset
from pan_gym.eval.metrics import TileBook, tile_match
from pan_gym.eval.simulators import ModelSimulator
from pan_gym.model.glp import PanWorldModel
from pan_gym.worlds import make_world


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model directory")
    p.add_argument("data", help="dataset directory written by `pan-gym collect`")
    p.add_argument("--per-template", type=int, default=24, help="transitions per template (at most)")
    p.add_argument("--stride", type=int, default=7, help="take every STRIDE-th transition of the dataset")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--overrides", default="", help="inference config overrides, e.g. diffusion.guidance_scale=2"
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = PanWorldModel.from_pretrained(args.model, overrides=args.overrides).eval()
    world = make_world("babyai")
    book, simulator = TileBook(world.tiles()), ModelSimulator(model, seed=0, precision="bf16")
    right, seen, drawn, changing = Counter(), Counter(), Counter(), Counter()
    data = load_dataset(args.data, window=1)
    for i in range(0, len(data), args.stride):
        item = data[i]
        template = world.action_template(item["canonical_actions"][0])
        if seen[template] >= args.per_template:
            continue
        start, true = item["first_frame"].numpy(), item["frames"][0, -1].numpy()  # (H, W, 3) uint8
        simulator.start(start[None])
        imagined = simulator.step([item["actions"][0]]).frames[0, -1]
        match = tile_match(imagined, true, book)  # (rows, cols) bool
        right[template] += bool(match.all())
        seen[template] += 1
        moved = ~tile_match(start, true, book)  # the cells the action changes
        if moved.any():
            changing[template] += 1
            drawn[template] += bool(match[moved].all())
    print(f"{'template':45s} {'whole grid right':>17s} {'changes drawn':>15s}")
    for template in sorted(seen):
        print(
            f"{template:45s} {right[template]:7d} / {seen[template]:3d}    {drawn[template]:5d} / {changing[template]:3d}"
        )


if __name__ == "__main__":
    main()
