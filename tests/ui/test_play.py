"""``pan-gym play``: scripted sessions through the Player loop and through the CLI's stdin."""

from __future__ import annotations

import io

import imageio.v2 as imageio
import numpy as np
import pytest
from typer.testing import CliRunner

from pan_gym.cli import app
from pan_gym.ui.common import ansi_frame, ansi_row
from pan_gym.ui.play import Player
from pan_gym.ui.session import Session


def test_ansi_half_blocks():
    f = np.zeros((4, 2, 3), np.uint8)
    f[0, 0] = (255, 0, 0)  # top-left pixel red, the one below it black
    art = ansi_frame(f)
    assert art.count("▀") == 4 and art.split("\n")[0].startswith("\x1b[38;2;255;0;0m\x1b[48;2;0;0;0m▀")
    assert ansi_row([np.zeros((64, 64, 3), np.uint8)] * 2, width=16, color=False).count("\n") == 7


def test_session_undo_restores_the_rollout(tiny_model):
    s = Session(tiny_model, "babyai")
    s.reset(seed=2)
    a = s.step("turn left").imagined
    b = s.step("move forward").imagined
    assert s.undo() and s.steps == 1
    b2 = s.step("move forward").imagined  # same state + same RNG -> same imagined chunk
    assert np.array_equal(b, b2) and not np.array_equal(a, b)
    s.undo(), s.undo()
    assert s.steps == 0 and not s.undo()
    s.close()


def test_undo_depth_is_capped_so_memory_stays_bounded(tiny_model):
    s = Session(tiny_model, "babyai", max_undo=2)
    s.reset(seed=2)
    for _ in range(5):
        s.step("turn left")
    assert len(s._undo) == 2  # older snapshots were dropped
    assert s.undo() and s.undo() and not s.undo() and s.steps == 3
    out = io.StringIO()
    Player(s, out, color=False, width=16).run([":undo"])
    assert "nothing more to undo (the last 2 actions can be taken back)" in out.getvalue()
    with pytest.raises(ValueError, match="max_undo"):
        Session(tiny_model, "babyai", max_undo=-1)
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*32\)"):
        s.reset(seed=-5)
    assert s.steps == 3  # the refused reset changed nothing
    s.close()


def test_player_script(tiny_model, tmp_path):
    s = Session(tiny_model, "babyai")
    s.reset(seed=2)
    out = io.StringIO()
    video = tmp_path / "session.gif"
    script = [
        "turn left",
        "sing a song",
        ":actions",
        ":undo",
        ":actions",
        "move forward",
        f":save {video}",
        ":save nope.txt",
        ":undo",
        ":undo",
        ":undo",
        ":mission",
        ":bogus",
        ":reset -5",
        ":reset five",
        ":reset 5",
        ":quit",
        "turn left",
    ]
    Player(s, out, color=False, width=16).run(script)
    text = out.getvalue()
    assert "step 1: turn left" in text and "step 2: sing a song" in text
    assert "cannot execute 'sing a song'" in text and "no longer follows" in text
    assert "undone: back at step 1" in text and "agent actions the true world understands now" in text
    assert f"saved 2 steps to {video}" in text and "could not save" in text and "nothing to undo" in text
    assert "mission: put the blue ball next to the blue box" in text and "unknown command :bogus" in text
    assert text.count("usage: :reset [SEED]") == 2 and "got '-5'" in text and "got 'five'" in text
    assert "start (seed 5)" in text and text.rstrip().endswith("yellow key")  # nothing runs after :quit
    assert len(imageio.mimread(video)) >= 1 + 2 * 2
    s.close()


def test_play_cli_stdin(tmp_path):
    video = tmp_path / "s.mp4"
    res = CliRunner().invoke(
        app,
        ["play", "--model", "tiny", "--no-color", "--no-window", "--width", "8"],
        input=f"turn right\n:undo\nmove forward\n:save {video}\n",
    )
    assert res.exit_code == 0, res.output
    assert "random weights" in res.output and "step 1: move forward" in res.output
    assert video.stat().st_size > 1000


def test_play_cli_bad_model():
    res = CliRunner().invoke(app, ["play", "--model", "nope"], input="")
    assert res.exit_code == 1 and "neither 'default', a preset" in res.output


def test_pygame_window_with_dummy_display(monkeypatch):
    """The window path, on SDL's dummy video driver (no real display needed)."""
    import pytest

    pytest.importorskip("pygame")
    from pan_gym.ui import play

    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setattr(play, "display_available", lambda: True)
    win = play.Window.open((516, 274))
    assert win is not None
    frames = np.zeros((2, 274, 516, 3), np.uint8)
    frames[:, :, :10] = 255
    win.show(frames, fps=100)
    assert win.screen.get_at((5, 5))[:3] == (255, 255, 255)
    win.close()


def test_no_window_without_display(monkeypatch):
    from pan_gym.ui import play

    monkeypatch.setattr(play, "display_available", lambda: False)
    assert play.Window.open((10, 10)) is None
