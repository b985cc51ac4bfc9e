"""scripts/ on a tiny model and a few collected episodes: every transition is counted once."""

import re
import runpy
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SCRIPT = SCRIPTS / "fit_on_training_data.py"


def test_fit_on_training_data_counts_every_transition(tmp_path, tiny_model, monkeypatch, capsys):
    from pan_gym.data.collect import collect
    from pan_gym.data.dataset import load_dataset

    collect("babyai", episodes=2, out=tmp_path / "data", max_steps=6, progress=False)
    model = tiny_model.save_pretrained(tmp_path / "model")
    argv = [str(SCRIPT), str(model), str(tmp_path / "data"), "--stride", "1", "--threads", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(SCRIPT), run_name="__main__")
    rows = [re.findall(r"(\d+) / +(\d+)", line) for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows and all(len(r) == 2 for r in rows)
    assert sum(int(r[0][1]) for r in rows) == len(load_dataset(tmp_path / "data", window=1))
    assert all(int(a) <= int(b) for r in rows for a, b in r)


def test_symbolic_probe_scores_every_held_out_transition(tmp_path, monkeypatch, capsys):
    from pan_gym.data.collect import collect

    collect("babyai", episodes=8, out=tmp_path / "data", max_steps=6, progress=False)
    script = SCRIPTS / "symbolic_probe.py"
    argv = [str(script), str(tmp_path / "data"), "--steps", "4", "--heldout", "0.5", "--layers", "1",
            "--cache", str(tmp_path / "cells.npz")]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert "held-out whole grid" in out and (tmp_path / "cells.npz").is_file()
    table = [line for line in out.split("held-out episodes)")[1].splitlines() if "facing" not in line]
    rows = [re.findall(r"(\d+) / +(\d+)", line) for line in table]
    counted = sum(int(r[0][1]) for r in rows if r)
    # only held-out episodes' transitions
    assert 0 < counted < sum(1 for _ in tmp_path.glob("data/episode_*")) * 6
    # one template: only its rows are scored
    monkeypatch.setattr(sys, "argv", [*argv, "--only", "turn {side}"])
    runpy.run_path(str(script), run_name="__main__")
    table = capsys.readouterr().out.split("held-out episodes)")[1].strip().splitlines()
    assert all(line.startswith("turn {side}") for line in table)
    monkeypatch.setattr(sys, "argv", [*argv, "--only", "fly away"])
    with pytest.raises(SystemExit, match="no transitions"):
        runpy.run_path(str(script), run_name="__main__")
