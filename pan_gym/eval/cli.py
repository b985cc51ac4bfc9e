"""``pan-gym eval``: run the evaluation suite and write report.json, report.md and the plots.

Example (a few seconds with the tiny random model):

    pan-gym eval --world babyai --model tiny --out /tmp/eval/report.json --n-states 4 --rollouts 2 --horizons 5
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pan_gym.cli_errors import exit_on
from pan_gym.worlds import ACTIONS_HELP, configure_world


def register(app: Any) -> None:
    """Add the ``eval`` command to the typer app."""

    @app.command("eval")
    def eval_command(
        out: Annotated[
            Path, typer.Option(help="report.json path; report.md and PNGs are written beside it.")
        ],
        world: Annotated[
            str, typer.Option(help="World name (babyai, metaworld, gym:<Gymnasium id>).")
        ] = "babyai",
        actions: Annotated[str | None, typer.Option(help=ACTIONS_HELP)] = None,
        model: Annotated[
            str,
            typer.Option(
                help="default (the shipped model), a preset (tiny, small: random weights) or a directory."
            ),
        ] = "default",
        n_states: Annotated[
            int, typer.Option(help="Start states for fidelity and step-wise simulation.")
        ] = 32,
        actions_per_state: Annotated[int, typer.Option(help="Actions of each kind per start state.")] = 2,
        rollouts: Annotated[int, typer.Option(help="Open-loop rollouts per horizon.")] = 8,
        horizons: Annotated[str, typer.Option(help="Comma-separated horizons in actions.")] = "20,50",
        batch_size: Annotated[int, typer.Option(help="Rollouts imagined together.")] = 16,
        planning_episodes: Annotated[int, typer.Option(help="Real-world episodes per planner.")] = 20,
        planning_steps: Annotated[int, typer.Option(help="Actions per planning episode at most.")] = 10,
        success_episodes: Annotated[
            int, typer.Option(help="Held-out episodes scoring success detection (0: skip).")
        ] = 50,
        baselines: Annotated[
            str, typer.Option(help="Comma-separated: copy, oracle (empty for none).")
        ] = "copy",
        seed: Annotated[int, typer.Option(help="Seeds the model's noise and the action draws.")] = 0,
        seed_offset: Annotated[
            int,
            typer.Option(
                help="Shifts every start-state seed block (e.g. 100000: a validation block for picking checkpoints, "
                "keeping the default block as the test set)."
            ),
        ] = 0,
        config: Annotated[
            str,
            typer.Option(
                help="Overrides of the model's config, e.g. diffusion.guidance_scale=2,diffusion.sampler_steps=4."
            ),
        ] = "",
        precision: Annotated[
            str, typer.Option(help="fp32 | bf16 (autocast) | bf16-weights (the model cast to bf16).")
        ] = "fp32",
        progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    ) -> None:
        """Score a world model against the true simulator (PAN's benchmark, judged automatically)."""
        import torch

        torch.set_num_threads(1)
        from pan_gym.env.models import resolve_model
        from pan_gym.eval.report import write_report
        from pan_gym.eval.suite import EvalConfig, run_suite

        try:
            hs = tuple(int(h) for h in horizons.split(",") if h.strip())
        except ValueError:
            raise typer.BadParameter(
                f"--horizons must be integers separated by commas, got {horizons!r}"
            ) from None
        if not hs or min(hs) < 3:
            raise typer.BadParameter("--horizons needs at least one horizon of 3 or more actions")
        from pan_gym.env.models import PRECISIONS

        if precision not in PRECISIONS:
            raise typer.BadParameter(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        cfg = EvalConfig(
            n_states=n_states,
            actions_per_state=actions_per_state,
            n_rollouts=rollouts,
            horizons=hs,
            batch_size=batch_size,
            planning_episodes=planning_episodes,
            planning_steps=planning_steps,
            success_episodes=success_episodes,
            baselines=tuple(b.strip() for b in baselines.split(",") if b.strip()),
            seed=seed,
            seed_offset=seed_offset,
            progress=progress,
            model_config=config,
            precision=precision,
        )
        with exit_on(ValueError):
            configure_world(world, actions)
        with exit_on(RuntimeError, OSError, ValueError):
            resolve_model(model, default=world, overrides=config)  # fail fast with a clear message
        results = run_suite(world, model, cfg)
        paths = write_report(results, out)
        typer.echo("wrote " + ", ".join(str(p) for p in paths))
