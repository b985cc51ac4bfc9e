"""``pan-gym bench``: how fast the world model imagines on this machine (tables in markdown; see perf/suite.py).

Example (a few seconds with the tiny random model):

    pan-gym bench --model tiny --batches 1,2 --sections peak,components,batch --repeats 1

The default run measures the small preset with T=1 (the default model's setting) in every section but
``compile``; ``--model DIR`` re-runs it on a trained model as saved, ``--config`` overrides its config.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer


def _ints(text: str, name: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter(f"--{name} must be integers separated by commas, got {text!r}") from None
    if not values or min(values) < 0:
        raise typer.BadParameter(f"--{name} needs at least one non-negative integer")
    return values


def register(app: Any) -> None:
    """Add the ``bench`` command to the typer app."""

    @app.command("bench")
    def bench_command(
        model: Annotated[
            str, typer.Option(help="A preset (tiny, small: random weights) or a save_pretrained directory.")
        ] = "small",
        config: Annotated[
            str | None,
            typer.Option(
                help="Config overrides by dotted path, e.g. 'frames_per_chunk=1,diffusion.sampler_steps=4' "
                "('' for none). Default: 'frames_per_chunk=1' for a preset (the default model's setting), none "
                "for a directory."
            ),
        ] = None,
        sections: Annotated[
            str,
            typer.Option(
                help="Comma-separated sections: machine, peak, components, batch, history, sampler, cache, env, "
                "memory, cem, bf16_weights, threads, compile ('all' = every one but compile)."
            ),
        ] = "all",
        batches: Annotated[str, typer.Option(help="Batch sizes of the batch table.")] = "1,4,16,64",
        precisions: Annotated[
            str, typer.Option(help="Any of fp32, bf16 (CPU autocast), bf16-weights (the model cast to bf16).")
        ] = "fp32,bf16,bf16-weights",
        history: Annotated[
            str, typer.Option(help="Rounds in the history before the timed step.")
        ] = "0,1,4,9",
        sampler_steps: Annotated[
            str, typer.Option(help="Euler steps per chunk to compare (even).")
        ] = "2,4,8",
        rollout_steps: Annotated[int, typer.Option(help="Steps of the memory rollout.")] = 1000,
        env_steps: Annotated[int, typer.Option(help="Timed steps per env setup.")] = 4,
        cem_decisions: Annotated[int, typer.Option(help="Timed CEM decisions (after one untimed).")] = 2,
        repeats: Annotated[int, typer.Option(help="Timings per figure; the best is kept.")] = 3,
        threads: Annotated[int, typer.Option(help="torch threads.")] = 1,
        json_out: Annotated[Path | None, typer.Option("--json", help="Also write every figure here.")] = None,
    ) -> None:
        """Measure imagination speed: components, batch, history, sampler, cache, env, memory, CEM, levers."""
        from pan_gym.config_presets import PRESETS
        from pan_gym.env.models import PRECISIONS
        from pan_gym.perf.suite import DEFAULT_SECTIONS, SECTIONS, BenchConfig, run_suite

        if config is None:
            config = "frames_per_chunk=1" if model in PRESETS and not Path(model).exists() else ""

        names = tuple(s.strip() for s in sections.split(",") if s.strip())
        names = DEFAULT_SECTIONS if names == ("all",) else names
        bad = set(names) - set(SECTIONS)
        if bad:
            raise typer.BadParameter(f"unknown sections {sorted(bad)}; known: {', '.join(SECTIONS)}")
        precs = tuple(p.strip() for p in precisions.split(",") if p.strip())
        if not precs or set(precs) - set(PRECISIONS):
            raise typer.BadParameter(f"--precisions takes any of {', '.join(PRECISIONS)}")
        steps = _ints(sampler_steps, "sampler-steps")
        if any(s < 2 or s % 2 for s in steps):
            raise typer.BadParameter("--sampler-steps must be even numbers >= 2 (Swin-DPM's two phases)")
        b = _ints(batches, "batches")
        if min(b) < 1:
            raise typer.BadParameter("--batches must be positive")
        cfg = BenchConfig(
            model=model,
            config=config,
            sections=names,
            batches=b,
            precisions=precs,
            history=_ints(history, "history"),
            sampler_steps=steps,
            sampler_batches=tuple(x for x in (1, 16) if x <= max(b)) or (min(b),),
            component_batches=tuple(x for x in (1, 16) if x <= max(b)) or (min(b),),
            rollout_steps=max(1, rollout_steps),
            env_steps=max(1, env_steps),
            cem_decisions=max(1, cem_decisions),
            repeats=max(1, repeats),
            threads=threads,
        )
        out = run_suite(cfg)
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(out, indent=1, default=str))
