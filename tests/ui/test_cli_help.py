"""Every ``pan-gym`` command answers ``--help``; the front-end commands (demo, play, web) show examples."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pan_gym.cli import app

runner = CliRunner()
COMMANDS = [c.name or c.callback.__name__ for c in app.registered_commands]


def test_all_commands_registered():
    assert {"collect", "train", "eval", "demo", "play", "web"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command):
    res = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output


@pytest.mark.parametrize("command", ["demo", "play", "web"])
def test_help_has_examples(command):
    res = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert "Examples:" in res.output and f"pan-gym {command}" in res.output


def test_web_bad_world_and_port():
    res = runner.invoke(app, ["web", "--model", "tiny", "--world", "atlantis"])
    assert res.exit_code != 0 and "unknown world" in res.output
    res = runner.invoke(app, ["web", "--port", "70000"])
    assert res.exit_code != 0 and "65535" in res.output
