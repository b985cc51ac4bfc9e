"""scripts/fit_on_training_data.py on a tiny model and a few collected episodes: every transition is counted once."""

import re
import runpy
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "fit_on_training_data.py"


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
