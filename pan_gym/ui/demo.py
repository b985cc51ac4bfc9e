"""``pan-gym demo``: imagine a mission's rollout with the model and put it beside the true one.

A planner acts in the true world toward the mission; the world model imagines the same language actions open loop
from the start frame alone (it never sees a true frame after the start). The result is an mp4 and a GIF of
imagined | true frames side by side and, per action, how close the imagined final frame is to the true one.

On BabyAI the demo's missions are GoToObj's ("go to the red ball": one object in an empty room), which the default
planner, simulating with the shipped model, solves on every one of 40 held-out seeds; ``--levels`` picks others
(PickUp, PutNext: harder, and it fails more).

Planners (``--planner``):
- ``pss`` (default): PAN's propose–simulate–select from ``agents/`` — 3 candidate actions proposed from the
  mission, each simulated by the same world model (latent-only, its reward head), the best executed.
- ``expert``: the world's scripted expert (BabyAI's bot; on worlds without one, a seeded random agent action); the
  model plans nothing, it only imagines.

Example (a few seconds; random weights, so the imagined half is noise):

    pan-gym demo --model tiny --out /tmp/demo/demo.mp4
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from pan_gym.cli_errors import exit_on
from pan_gym.ui.common import ModelOption
from pan_gym.worlds import ACTIONS_HELP, configure_world

EXAMPLES = """
Examples:

  pan-gym demo                                    # shipped model, BabyAI GoToObj seed 2, planner pss

  pan-gym demo --levels BabyAI-PickupLoc-v0 --seed 5   # a pick-up mission

  pan-gym demo --model tiny --out /tmp/demo.mp4   # random weights: imagined half is noise

  pan-gym demo --model runs/train/final --planner expert --gif docs/assets/demo.gif
"""


@dataclass
class DemoResult:
    mission: str
    actions: list[str]
    figures: list[dict[str, float]]  # per action: psnr, cells, exact (imagined vs true final frame)
    reached: bool  # the true world reported the mission done
    paths: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, float]:
        keys = self.figures[0].keys() if self.figures else []
        return {k: float(np.mean([f[k] for f in self.figures])) for k in keys}


PLANNERS = ("pss", "expert")
LEVELS = {"babyai": "BabyAI-GoToObj-v0"}  # the demo's missions per world (others: the world's defaults)


def demo_world(world: str, levels: str | None = None) -> Any:
    """The world the demo plays: ``levels`` (comma-separated BabyAI levels or Meta-World tasks) or the demo's."""
    from pan_gym.worlds import world_with_levels

    return world_with_levels(world, levels or LEVELS.get(world, ""))


def expert_planner(world: Any, seed: int):
    """``obs -> action``: the world's expert (BabyAI's bot) toward the mission; a seeded random agent action
    otherwise. It reads the world directly (it is the true world's own solver)."""
    rng = np.random.default_rng([seed, 0xDE40])
    expert = getattr(world, "expert_action", None)

    def plan(obs: dict[str, Any]) -> str:
        if expert is not None:
            return expert(rng, macro_prob=0.3, event_prob=0.0)
        acts = world.actions("agent")
        return acts[int(rng.integers(len(acts)))]

    return plan


def pss_planner(model: Any, world: Any, seed: int):
    """``obs -> action``: ``agents``' propose–simulate–select (k = 3 candidates from the mission, each simulated
    by ``model``, latent-only, scored by its reward head). Returns (plan, close)."""
    from agents.propose_simulate_select import ProposeSimulateSelect
    from pan_gym.eval.simulators import ModelSimulator

    sim = ModelSimulator(model, world.name, latent_only=True, seed=seed)
    pss = ProposeSimulateSelect(sim, k=3, n=1, seed=seed)
    return pss.act, sim.close


def make_planner(kind: str, model: Any, world: Any, seed: int):
    """(plan, close) for ``kind`` in ``PLANNERS``; ``plan(obs)`` gets the planner observation dict
    (``pan_gym.eval.planning_eval.observation``) of the true world."""
    if kind == "expert":
        return expert_planner(world, seed), lambda: None
    if kind == "pss":
        return pss_planner(model, world, seed)
    raise ValueError(f"unknown planner {kind!r}; choose from {', '.join(PLANNERS)}")


def run_demo(
    model: Any,
    world: str | Any = "babyai",
    seed: int = 0,
    steps: int = 10,
    out: str | Path | None = "runs/demo/demo.mp4",
    gif: str | Path | None = None,
    fps: int = 6,
    scale: int = 4,
    progress: bool = True,
    planner: str = "pss",
) -> DemoResult:
    """Let ``planner`` act for up to ``steps`` actions while the model imagines them; write ``out`` (mp4) and
    ``gif`` (default: beside ``out``).

    Example:
        >>> from pan_gym.env.models import resolve_model
        >>> r = run_demo(resolve_model("tiny"), steps=2, out=None, progress=False, planner="expert")
        >>> len(r.actions), sorted(r.figures[0])
        (2, ['cells', 'exact', 'psnr'])
    """
    from tqdm import tqdm

    from pan_gym.eval.planning_eval import observation
    from pan_gym.eval.simulators import Past
    from pan_gym.ui.common import write_video
    from pan_gym.ui.session import Session

    tic = time.perf_counter()
    session = Session(model, world)
    close_planner = lambda: None  # noqa: E731
    try:
        frame = session.reset(seed)
        plan, close_planner = make_planner(planner, model, session.world, seed)
        reached = False
        bar = tqdm(
            range(steps), desc=f"planning ({planner}) + imagining", unit="action", disable=not progress
        )
        past = Past(frame)
        for _ in bar:
            r = session.step(plan(observation(session.world, frame, session.mission, past)))
            if r.true is not None:
                frame, past = r.true[-1], past.then(r.action, r.true[-1])
            bar.set_postfix_str(r.action[:40])
            if r.true_done:
                reached = (r.true_reward or 0.0) > 0
                break
        bar.close()
        result = DemoResult(
            session.mission,
            [r.action for r in session.history],
            [r.figures for r in session.history],
            reached,
        )
        if out is not None or gif is not None:
            video = session.video(scale=scale)
            if out is not None:
                result.paths.append(write_video(video, out, fps))
                gif = gif if gif is not None else Path(out).with_suffix(".gif")
            if gif is not None:
                result.paths.append(write_video(video, gif, fps))
    finally:
        close_planner()
        session.close()
    result.seconds = time.perf_counter() - tic
    return result


def _video_path(value: Path | None, suffix: str, flag: str) -> Path | None:
    if value is not None and value.suffix.lower() != suffix:
        raise typer.BadParameter(f"{flag} must end in {suffix}, got {str(value)!r}")
    return value


def register(app: Any) -> None:
    """Add ``demo`` to the typer app."""

    @app.command("demo", epilog=EXAMPLES)
    def demo_command(
        model: ModelOption = "default",
        world: Annotated[
            str, typer.Option(help="World name (babyai, metaworld, gym:<Gymnasium id>).")
        ] = "babyai",
        actions: Annotated[str | None, typer.Option(help=ACTIONS_HELP)] = None,
        seed: Annotated[int, typer.Option(help="Start state and mission: the world's episode seed.")] = 2,
        levels: Annotated[
            str | None,
            typer.Option(
                help="BabyAI levels or Meta-World tasks, comma-separated (default: BabyAI-GoToObj-v0 on babyai, "
                "the world's tasks on metaworld)."
            ),
        ] = None,
        steps: Annotated[
            int, typer.Option(min=1, help="Actions at most (stops when the mission is done).")
        ] = 12,
        out: Annotated[Path, typer.Option(help="The mp4 to write (imagined | true side by side).")] = Path(
            "runs/demo/demo.mp4"
        ),
        gif: Annotated[
            Path | None,
            typer.Option(help="The GIF to write (default: OUT with .gif), e.g. docs/assets/demo.gif."),
        ] = None,
        planner: Annotated[
            str,
            typer.Option(help="pss (propose-simulate-select with this model) or expert (the world's bot)."),
        ] = "pss",
        fps: Annotated[int, typer.Option(min=1, help="Frames per second of the videos.")] = 6,
        progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    ) -> None:
        """Imagine a mission's rollout and write imagined | true frames side by side (mp4 + GIF), with figures.

        A planner (pss: propose-simulate-select with the model; expert: the world's bot) acts in the true world;
        the model imagines the same language actions open loop from the start frame alone.
        """
        import torch

        from pan_gym.ui.common import ModelSpecError, load_model

        torch.set_num_threads(1)
        _video_path(out, ".mp4", "--out")
        _video_path(gif, ".gif", "--gif")
        if planner not in PLANNERS:
            raise typer.BadParameter(f"--planner must be one of {', '.join(PLANNERS)}, got {planner!r}")
        with exit_on(ValueError):
            configure_world(world, actions)
        with exit_on(ModelSpecError):
            loaded = load_model(model, world)
        typer.echo(f"model: {loaded.description}")
        if loaded.random_weights:
            typer.echo(
                "note: a preset has random weights, so the imagined half of the video is noise; the pipeline runs "
                "end to end. Pass --model default (shipped) or a trained directory for real imagination."
            )
        with exit_on(ValueError):  # unknown world, bad world kwargs or levels
            played = demo_world(world, levels)
            r = run_demo(loaded.model, played, seed, steps, out, gif, fps, progress=progress, planner=planner)
        who = "propose-simulate-select with this model" if planner == "pss" else "the world's expert"
        typer.echo(f"mission: {r.mission!r} (seed {seed}); planner: {who}; the model imagines open loop")
        typer.echo(f"{'step':>4}  {'action':<36} {'PSNR dB':>8} {'cells':>6} {'exact':>6}")
        for i, (a, f) in enumerate(zip(r.actions, r.figures, strict=True), 1):
            cells = f"{f['cells']:.0%}" if "cells" in f else "-"
            exact = ("yes" if f["exact"] else "no") if "exact" in f else "-"
            typer.echo(f"{i:>4}  {a[:36]:<36} {f['psnr']:>8.1f} {cells:>6} {exact:>6}")
        s = r.summary()
        line = f"mean: PSNR {s['psnr']:.1f} dB"
        if "cells" in s:
            line += f", cells right {s['cells']:.0%}, whole frame right {s['exact']:.0%} of actions"
        typer.echo(
            line + (" — true world: mission reached" if r.reached else " — true world: mission not reached")
        )
        typer.echo(
            "figures compare each action's final imagined frame with the true one (cells: 8-px tiles)."
        )
        for p in r.paths:
            typer.echo(f"wrote {p}")
        typer.echo(f"done in {r.seconds:.1f} s")
