"""The shipped models imagine today what they imagined when they shipped: a fixed rollout from a fixed evaluation
start, read coarsely enough to hold across CPUs (BabyAI: the tile every cell shows; Meta-World: 8×8-pixel block
means), compared with ``shipped_reference.json`` beside this file.

Regenerate the reference only when a model is re-shipped: ``python -m tests.env.test_shipped_models``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

REFERENCE = Path(__file__).with_name("shipped_reference.json")
ROLLOUTS = {
    "babyai": ["turn left", "move forward", "go to the grey key", "a red ball appears next to the grey key"],
    "metaworld": [
        "move the gripper up",
        "move the gripper left",
        "close the gripper",
        "move the gripper down",
    ],
}
SEED = 1_000_001


def imagine(world_name: str) -> list:
    """The shipped model's final frame after each action of ``ROLLOUTS[world_name]``, read coarsely."""
    from pan_gym.env.models import SHIPPED, resolve_model
    from pan_gym.eval.fidelity import world_tile
    from pan_gym.worlds import make_world

    torch.manual_seed(0)
    model = resolve_model(str(SHIPPED[world_name]))
    world = make_world(world_name)
    frame, _ = world.reset(seed=SEED)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        state = model.start(torch.from_numpy(frame)[None])
        finals = [model.step(state, [a], g)[1][0, -1].numpy() for a in ROLLOUTS[world_name]]  # (H, W, 3) each
    tile = world_tile(world)
    if hasattr(tile, "read"):
        return [tile.read(f).tolist() for f in finals]  # (8, 8) tile indices
    return [np.round(f.reshape(8, 8, 8, 8, 3).mean(axis=(1, 3))).astype(int).tolist() for f in finals]


@pytest.mark.parametrize("world_name", sorted(ROLLOUTS))
def test_a_shipped_model_imagines_what_it_did_when_it_shipped(world_name):
    from pan_gym.env.models import SHIPPED

    if not (SHIPPED[world_name] / "config.json").is_file():
        pytest.skip(f"no {world_name} model ships in this copy")
    want = json.loads(REFERENCE.read_text())[world_name]
    got = imagine(world_name)
    if world_name == "babyai":
        assert got == want  # every cell shows the same tile
    else:  # block means within 3 of 255
        assert np.abs(np.array(got) - np.array(want)).max() <= 3


if __name__ == "__main__":
    REFERENCE.write_text(json.dumps({w: imagine(w) for w in sorted(ROLLOUTS)}) + "\n")
