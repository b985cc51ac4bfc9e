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


def test_carry_probe_reads_a_label_a_feature_carries_and_not_one_it_does_not(monkeypatch):
    import numpy as np

    # as when the script runs: its directory is on the path
    monkeypatch.syspath_prepend(str(SCRIPTS))

    probe = runpy.run_path(str(SCRIPTS / "carry_probe.py"))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    x = rng.normal(size=(300, 16))
    x[:, 0] += 3 * y  # one feature holds the label
    assert probe["fit_and_score"](x, y, 200) > 0.9
    assert probe["fit_and_score"](rng.normal(size=(300, 16)), y, 200) < 0.6


def test_drop_and_carry_probes_run_on_a_tiny_model(tmp_path, tiny_model, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    model = tiny_model.save_pretrained(tmp_path / "model")
    for name, extra in (("drop_probe.py", []), ("carry_probe.py", ["--train", "2"])):
        argv = [str(SCRIPTS / name), "--model", str(model), "--episodes", "4", *extra]
        monkeypatch.setattr(sys, "argv", argv)
        runpy.run_path(str(SCRIPTS / name), run_name="__main__")
    out = capsys.readouterr().out
    assert "real history" in out and "carried colour" in out
