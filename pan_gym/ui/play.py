"""``pan-gym play``: type language actions, watch the model imagine each chunk; undo, save the session as a video.

The terminal shows frames as 24-bit colour half-block art (imagined | true, the true world following while it
understands the actions); a pygame window opens too when pygame imports and a display exists. Lines that start with
``:`` are commands, anything else is an action:

    :actions [all]    actions the true world understands now (all: every environment event too)
    :undo             take back the last action (get_state/set_state on the env and the world)
    :save FILE        write the session so far as FILE (.mp4 or .gif), imagined | true side by side
    :reset [SEED]     a new start state (same seed if none given)
    :mission          show the mission
    :help             this list
    :quit             leave (end of input does too)

Example (scripted through stdin; random weights):

    printf 'turn left\\nmove forward\\n:undo\\n:save /tmp/play.mp4\\n:quit\\n' | pan-gym play --model tiny
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, TextIO

import numpy as np
import typer

from pan_gym.cli_errors import exit_on
from pan_gym.ui.common import ModelOption, ansi_row, display_available, side_by_side, write_video
from pan_gym.ui.session import Session

COMMANDS = """commands:
  <any text>     an action, e.g. "turn left", "pick up the blue ball", "a green box appears behind the agent"
  :actions [all] actions the true world understands now (all: with every environment event)
  :undo          take back the last action
  :save FILE     write the session as FILE (.mp4 or .gif)
  :reset [SEED]  a new start state
  :mission       show the mission
  :help          this list
  :quit          leave"""

EXAMPLES = """
Examples:

  pan-gym play                         # the shipped model (once it ships), BabyAI seed 2

  pan-gym play --model tiny --seed 5   # random weights: imagined frames are noise

  printf 'turn left\\n:save /tmp/s.mp4\\n' | pan-gym play --model tiny --no-color --no-window
"""


class Window:
    """A pygame window showing imagined | true chunks; ``Window.open()`` returns None when it cannot open."""

    def __init__(self, pygame: Any, size: tuple[int, int]):
        self.pg = pygame
        self.screen = pygame.display.set_mode(size)
        pygame.display.set_caption("pan-gym play: imagined | true")

    @classmethod
    def open(cls, size: tuple[int, int]) -> Window | None:
        if not display_available():
            return None
        try:
            import os

            os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
            import pygame

            pygame.init()
            return cls(pygame, size)
        except Exception:  # no pygame, no usable display
            return None

    def show(self, frames: np.ndarray, fps: int = 8) -> None:
        for f in frames:
            surf = self.pg.surfarray.make_surface(np.ascontiguousarray(f.transpose(1, 0, 2)))
            self.screen.blit(surf, (0, 0))
            self.pg.display.flip()
            self.pg.event.pump()
            time.sleep(1 / fps)

    def close(self) -> None:
        self.pg.display.quit()


class Player:
    """The play loop over any iterable of input lines (stdin, or a list in tests); output goes to ``out``."""

    def __init__(
        self,
        session: Session,
        out: TextIO = sys.stdout,
        color: bool = True,
        width: int = 32,
        window: Window | None = None,
        animate: bool = False,
    ):
        self.s, self.out, self.color, self.width, self.window, self.animate = (
            session,
            out,
            color,
            width,
            window,
            animate,
        )

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def show(self, imagined: np.ndarray, true: np.ndarray | None, title: str) -> None:
        """Draw the chunk: in place frame by frame when animating (a TTY), else its final frames."""
        self.say(f"{'imagined':<{self.width + 2}}{'true' if true is not None else 'true: not followed'}")
        frames = range(len(imagined)) if self.animate else [len(imagined) - 1]
        for k, i in enumerate(frames):
            row = [imagined[i]]
            if true is not None:
                row.append(true[min(len(true) - 1, round(i * (len(true) - 1) / max(1, len(imagined) - 1)))])
            art = ansi_row(row, self.width, self.color)
            if k:
                self.out.write(f"\x1b[{art.count(chr(10)) + 1}F")  # back to the top of the previous drawing
            self.say(art)
            if self.animate:
                time.sleep(0.12)
        self.say(title)
        if self.window is not None:
            self.window.show(side_by_side(imagined, true, 4))

    def current(self) -> None:
        if self.s.history:
            r = self.s.history[-1]
            self.show(r.imagined, r.true, f"step {self.s.steps}: {r.action}")
        else:
            f = self.s.start_frame[None]
            self.show(f, f, f"start (seed {self.s.seed}); mission: {self.s.mission}")

    def act(self, text: str) -> None:
        try:
            r = self.s.step(text)
        except ValueError as e:
            self.say(f"not an action the model accepts: {e}")
            return
        figs = ""
        if r.figures:
            figs = f" | vs true: PSNR {r.figures['psnr']:.1f} dB" + (
                f", cells {r.figures['cells']:.0%}" if "cells" in r.figures else ""
            )
        self.show(r.imagined, r.true, f"step {self.s.steps}: {r.action} | model reward {r.reward:+.2f}{figs}")
        if r.note:
            self.say(f"note: {r.note}")

    def command(self, line: str) -> bool:
        """Run a ``:command``; False means quit."""
        name, _, arg = line[1:].strip().partition(" ")
        arg = arg.strip()
        if name in ("quit", "q", "exit"):
            return False
        if name == "help":
            self.say(COMMANDS)
        elif name == "mission":
            self.say(f"mission: {self.s.mission}")
        elif name == "actions":
            if not self.s.in_sync:
                self.say(
                    "the true world no longer follows this rollout (:undo back, or :reset); any text still works"
                )
                return True
            agent, events = self.s.actions("agent"), self.s.actions("environment")
            self.say("agent actions the true world understands now:\n  " + "\n  ".join(agent))
            if arg == "all":
                self.say("environment events:\n  " + "\n  ".join(events))
            elif events:
                self.say(
                    f"and {len(events)} environment events, e.g. {'; '.join(events[:: max(1, len(events) // 4)][:4])}"
                    " (:actions all lists them)"
                )
        elif name == "undo":
            if self.s.undo():
                self.say(f"undone: back at step {self.s.steps}")
                self.current()
            else:
                self.say(
                    f"nothing more to undo (the last {self.s.max_undo} actions can be taken back)"
                    if self.s.steps
                    else "nothing to undo"
                )
        elif name == "save":
            if not arg:
                self.say("usage: :save FILE.mp4 | FILE.gif")
            else:
                try:
                    path = write_video(self.s.video(), Path(arg).expanduser())
                    self.say(f"saved {self.s.steps} steps to {path}")
                except (ValueError, OSError) as e:
                    self.say(f"could not save: {e}")
        elif name == "reset":
            try:
                seed = int(arg) if arg else (self.s.seed or 0)
            except ValueError:
                seed = None
            try:
                self.s.reset(seed)
            except ValueError:
                self.say(f"usage: :reset [SEED] (an integer in [0, 2**32)), got {arg!r}")
                return True
            self.current()
        else:
            self.say(f"unknown command :{name}\n{COMMANDS}")
        return True

    def run(self, lines: Iterable[str], prompt: bool = False) -> None:
        self.current()
        self.say("type an action, or :help")
        it = iter(lines)
        while True:
            if prompt:
                self.out.write("> ")
                self.out.flush()
            try:
                line = next(it)
            except StopIteration:
                break
            line = line.strip()
            if not line:
                continue
            if line.startswith(":"):
                if not self.command(line):
                    break
            else:
                self.act(line)


def _stdin_lines() -> Iterable[str]:
    while True:
        try:
            yield input()
        except EOFError:
            return


def register(app: Any) -> None:
    """Add ``play`` to the typer app."""

    @app.command("play", epilog=EXAMPLES)
    def play_command(
        model: ModelOption = "default",
        world: Annotated[
            str, typer.Option(help="World for start states and true frames (babyai, metaworld).")
        ] = "babyai",
        seed: Annotated[int, typer.Option(help="Start state: the world's episode seed.")] = 2,
        width: Annotated[int, typer.Option(min=8, max=64, help="Characters per frame in the terminal.")] = 32,
        color: Annotated[
            bool, typer.Option(help="24-bit colour terminal art (off: plain characters).")
        ] = True,
        window: Annotated[
            bool, typer.Option(help="Also open a pygame window when pygame and a display are available.")
        ] = True,
    ) -> None:
        """Interactive imagination: type language actions, see the imagined chunk; :undo, :save FILE, :help."""
        import torch

        from pan_gym.ui.common import ModelSpecError, load_model

        torch.set_num_threads(1)
        with exit_on(ModelSpecError, ValueError):
            loaded = load_model(model, world)
            session = Session(loaded.model, world)
        typer.echo(f"model: {loaded.description}")
        if loaded.random_weights:
            typer.echo("note: random weights, so the imagined frames are noise (the true frames are real)")
        session.reset(seed)
        win = Window.open((2 * 4 * session.size + 4, 4 * session.size + 18)) if window else None
        tty = sys.stdin.isatty() and sys.stdout.isatty()
        try:
            Player(session, sys.stdout, color, width, win, animate=tty).run(_stdin_lines(), prompt=tty)
        finally:
            if win is not None:
                win.close()
            session.close()
