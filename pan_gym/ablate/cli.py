"""``pan-gym ablate``: train and score PAN's untested design choices against the alternatives.

Example (a smoke run of a few seconds; real budgets are thousands of steps per variant):

    pan-gym collect --world babyai --episodes 3 --out /tmp/abl-data
    pan-gym ablate --world babyai --budget 2 --data /tmp/abl-data --out /tmp/abl --claims supervision \\
        --preset tiny --eval-states 2 --eval-rollouts 2 --horizon 5

    pan-gym ablate --model pan_gym/assets/models/babyai-small --claims noise,history --out /tmp/abl-inf
    pan-gym ablate --init pan_gym/assets/models/babyai-small --budget 1000 --data DATA --out /tmp/abl-cont
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pan_gym.ablate.variants import BASE_CONFIG, CLAIMS


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise typer.BadParameter(f"--{name} must be integers separated by commas, got {text!r}") from None


def register(app: Any) -> None:
    """Add the ``ablate`` command to the typer app."""

    @app.command("ablate")
    def ablate_command(
        budget: Annotated[
            int, typer.Option(help="Optimizer steps per variant and seed (the same for all).")
        ] = 0,
        data: Annotated[
            str, typer.Option(help="Dataset directory written by `pan-gym collect` (commas pool several).")
        ] = "",
        model: Annotated[
            str | None,
            typer.Option(
                help="A trained model: train nothing, score it under each inference-time variant "
                "(noise offset, window, history cap, decoder state)."
            ),
        ] = None,
        init: Annotated[
            str | None,
            typer.Option(
                help="A trained model every run starts from (continued training: --budget more steps per arm, "
                "each with its switch) instead of a fresh preset."
            ),
        ] = None,
        out: Annotated[
            str, typer.Option(help="Output directory: runs/, ablations.md, plots.")
        ] = "runs/ablate",
        world: Annotated[
            str, typer.Option(help="World the data comes from and the variants are scored in.")
        ] = "babyai",
        claims: Annotated[str, typer.Option(help=f"Comma-separated claims: {', '.join(CLAIMS)}.")] = ",".join(
            CLAIMS
        ),
        seeds: Annotated[str, typer.Option(help="Comma-separated training seeds.")] = "0",
        preset: Annotated[str, typer.Option(help="Model preset of the base recipe.")] = "small",
        config: Annotated[str, typer.Option(help="The base recipe's config overrides.")] = BASE_CONFIG,
        batch_size: Annotated[int, typer.Option(help="Windows per optimizer step.")] = 16,
        window: Annotated[int, typer.Option(help="Action steps per training window.")] = 2,
        lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 3e-4,
        bf16: Annotated[bool, typer.Option(help="bf16 autocast in training.")] = True,
        ema_decay: Annotated[float, typer.Option(help="EMA of the weights (0: off).")] = 0.999,
        threads: Annotated[int, typer.Option(help="Torch threads for training.")] = 1,
        eval_states: Annotated[int, typer.Option(help="Start states for step-wise simulation.")] = 64,
        eval_rollouts: Annotated[int, typer.Option(help="Open-loop rollouts per variant and seed.")] = 32,
        horizon: Annotated[int, typer.Option(help="Actions per rollout.")] = 20,
        dry_run: Annotated[bool, typer.Option(help="Only list the runs (and check every config).")] = False,
        progress: Annotated[bool, typer.Option(help="Show progress bars.")] = False,
    ) -> None:
        """Train every variant of the chosen claims with the same data, steps and seeds; score each; write a report."""
        from pan_gym.ablate.run import AblateArgs, describe, run_ablation

        try:
            args = AblateArgs(
                data=data,
                budget=budget,
                model=model,
                init=init,
                out=out,
                world=world,
                claims=tuple(claims.split(",")),
                seeds=_ints(seeds, "seeds"),
                preset=preset,
                config=config,
                batch_size=batch_size,
                window=window,
                lr=lr,
                bf16=bf16,
                ema_decay=ema_decay,
                threads=threads,
                eval_states=eval_states,
                eval_rollouts=eval_rollouts,
                horizon=horizon,
                progress=progress,
            )
            args.eval_settings()
            plan = describe(args)  # builds every config: a bad override fails before any training
        except ValueError as e:
            raise typer.BadParameter(str(e)) from None
        typer.echo(plan)
        if not dry_run:
            run_ablation(args)
