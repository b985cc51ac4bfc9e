"""``pan-gym demo``: videos written, figures printed, clear errors (tiny random model: a few seconds)."""

from __future__ import annotations

import imageio.v2 as imageio
import pytest
from typer.testing import CliRunner

from pan_gym.cli import app

runner = CliRunner()


@pytest.mark.parametrize("planner", ["pss", "expert"])
def test_demo_writes_videos_and_figures(tmp_path, planner):
    out = tmp_path / "demo.mp4"
    res = runner.invoke(
        app,
        [
            "demo",
            "--model",
            "tiny",
            "--out",
            str(out),
            "--steps",
            "3",
            "--planner",
            planner,
            "--no-progress",
            "--levels",
            "BabyAI-PutNextLocal-v0",
        ],  # fmt: skip
    )
    assert res.exit_code == 0, res.output
    assert "random weights" in res.output and "noise" in res.output  # says the imagined half is noise
    assert "put the blue ball next to the blue box" in res.output
    assert "PSNR" in res.output and "mean:" in res.output
    gif = out.with_suffix(".gif")
    assert out.stat().st_size > 1000 and gif.stat().st_size > 1000
    frames = imageio.mimread(gif)
    # the start + 3 actions x 2 frames (tiny: T=2; the GIF writer merges identical neighbours, e.g. the held
    # start), each imagined | true at 4x under a caption bar
    assert len(frames) >= 1 + 3 * 2 and frames[0].shape[:2] == (18 + 256, 2 * 256 + 4)


def test_demo_plays_go_to_missions_by_default(tmp_path):
    res = runner.invoke(app, ["demo", "--model", "tiny", "--out", str(tmp_path / "d.mp4"), "--steps", "1",
                              "--planner", "expert", "--no-progress"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "mission: 'go to the green ball' (seed 2)" in res.output  # BabyAI-GoToObj-v0


def test_demo_gif_path(tmp_path):
    gif = tmp_path / "assets" / "demo.gif"
    res = runner.invoke(
        app,
        [
            "demo",
            "--model",
            "tiny",
            "--out",
            str(tmp_path / "d.mp4"),
            "--gif",
            str(gif),
            "--steps",
            "1",
            "--planner",
            "expert",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    assert gif.is_file() and not (tmp_path / "d.gif").exists()


def test_demo_without_shipped_model_says_so(monkeypatch, tmp_path):
    from pan_gym.env import models

    monkeypatch.setitem(models.SHIPPED, "babyai", tmp_path / "missing")
    res = runner.invoke(app, ["demo", "--out", str(tmp_path / "d.mp4")])
    assert res.exit_code == 1
    assert "no shipped babyai model" in res.output and "'tiny'" in res.output and "--model" in res.output


def test_demo_uses_shipped_model_when_present(monkeypatch, tmp_path, tiny_model):
    from pan_gym.env import models

    tiny_model.save_pretrained(tmp_path / "babyai-small")
    monkeypatch.setitem(models.SHIPPED, "babyai", tmp_path / "babyai-small")
    res = runner.invoke(
        app,
        ["demo", "--out", str(tmp_path / "d.mp4"), "--steps", "1", "--planner", "expert", "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    assert "model: shipped babyai-small" in res.output and "random weights" not in res.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "/no/such/dir"], "neither 'default', a preset"),
        (["--model", "."], "config.json: missing; a model directory holds"),
        (["--model", "tiny", "--out", "x.avi"], "--out must end in .mp4"),
        (["--model", "tiny", "--gif", "x.png"], "--gif must end in .gif"),
        (["--model", "tiny", "--planner", "magic"], "--planner must be one of"),
        (["--model", "tiny", "--steps", "0"], "greater than or equal to 1"),
        (["--model", "tiny", "--world", "atlantis"], "unknown world"),
        (["--model", "tiny", "--levels", "BabyAI-Nowhere-v0"], "unknown BabyAI levels"),
        (["--model", "tiny", "--world", "gym:CartPole-v1", "--levels", "x"], "levels apply to babyai"),
    ],
)
def test_demo_bad_flags(args, message, tmp_path):
    res = runner.invoke(
        app, ["demo", *args] + ([] if "--out" in args else ["--out", str(tmp_path / "d.mp4")])
    )
    assert res.exit_code != 0
    assert message in res.output, res.output
