"""The worked example of docs/your_own_world.md runs end to end (tiny budgets) and its World meets the protocol."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "your_own_world"


def _load(name: str):
    sys.path.insert(0, str(EXAMPLE))
    spec = importlib.util.spec_from_file_location(name, EXAMPLE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_frozenlake_world_protocol():
    from pan_gym.worlds.base import World

    w = _load("frozenlake_world").FrozenLakeWorld()
    assert isinstance(w, World)
    frame, info = w.reset(seed=0)
    assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8 and info["mission"]
    snap = w.get_state()
    a, *_ = w.step("go right")
    w.set_state(snap)
    b, *_ = w.step("slide right")  # held-out paraphrase of the same action, from the same state
    assert np.array_equal(a, b) and a.shape == (w.frames_per_action, 64, 64, 3)
    assert set(w.paraphrases("train")) == set(w.paraphrases("heldout")) == {"move {dir}"}
    w.close()


def test_example_end_to_end(tmp_path, capsys):
    from pan_gym.worlds import WORLDS

    run = _load("run")
    try:
        summary = run.main(["--out", str(tmp_path), "--episodes", "6", "--steps", "2"])
    finally:
        WORLDS.pop("frozenlake", None)
    assert (tmp_path / "train" / "final" / "config.json").is_file()
    assert (tmp_path / "eval" / "report.json").is_file() and Path(summary["gif"]).is_file()
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["episodes"] == 6
