"""``pan-gym train`` is registered with every TrainArgs field as an option."""

from dataclasses import fields

import typer
from typer.testing import CliRunner

from pan_gym.train.args import TrainArgs
from pan_gym.train.cli import register


def test_train_command_has_every_field():
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands: `train` stays a subcommand
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for f in fields(TrainArgs):
        assert "--" + f.name.replace("_", "-") in result.output


def test_bad_stage_is_a_usage_error():
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["train", "--stage", "nope"])
    assert result.exit_code == 2 and "unknown stage" in result.output
