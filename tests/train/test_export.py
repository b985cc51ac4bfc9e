"""`pan-gym export` writes a model directory and never deletes what is in its target."""

from __future__ import annotations

from typer.testing import CliRunner

from pan_gym.cli import app
from pan_gym.model.glp import PanWorldModel
from pan_gym.train import TrainArgs, train
from tests.train.conftest import FAST


def test_export_into_a_run_directory_is_refused_and_loses_nothing(tmp_path):
    out = tmp_path / "run"
    train(TrainArgs(**FAST, steps=2, save_every=2, out=str(out)))
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    ckpt = out / "checkpoints" / "step_000002"
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(ckpt), str(out), "--no-ema"])
    assert result.exit_code == 1 and "not a model directory" in result.output
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before

    model = tmp_path / "model"
    assert runner.invoke(app, ["export", str(ckpt), str(model), "--no-ema"]).exit_code == 0
    again = runner.invoke(app, ["export", str(ckpt), str(model), "--no-ema"])
    assert again.exit_code == 1 and "overwrite" in again.output
    assert runner.invoke(app, ["export", str(ckpt), str(model), "--no-ema", "--overwrite"]).exit_code == 0
    PanWorldModel.from_pretrained(model)
