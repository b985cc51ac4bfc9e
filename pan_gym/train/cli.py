"""``pan-gym train``: the command line of the trainer, generated from ``TrainArgs`` (one option per field, its
docstring as the help). The same command runs as ``python -m pan_gym.train`` and under
``torchrun --nproc_per_node K -m pan_gym.train``.

Example:
    >>> from typer.testing import CliRunner
    >>> result = CliRunner().invoke(make_app(), ["--help"])
    >>> "--stage" in result.output and "--resume" in result.output
    True
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Annotated

import typer

from pan_gym.cli_errors import exit_on
from pan_gym.train.args import TrainArgs


def _field_docs(cls) -> dict[str, str]:
    """The string literal under each dataclass field (CleanRL-style field docstrings)."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    docs = {}
    for node, nxt in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
        ):
            docs[node.target.id] = str(nxt.value.value)
    return docs


def train_command(**kwargs) -> None:
    """Train a PanWorldModel on a collected dataset (stages: vae, decoder, joint, reward)."""
    from pan_gym.train.resume import ResumeError
    from pan_gym.train.trainer import NonFiniteError, train

    try:
        args = TrainArgs(**kwargs)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    try:
        train(args)
    except (NonFiniteError, ResumeError) as e:
        print(f"[pan-gym train] error: {e}", file=sys.stderr, flush=True)
        raise typer.Exit(2) from None


def _signature() -> inspect.Signature:
    hints, docs = typing.get_type_hints(TrainArgs), _field_docs(TrainArgs)
    params = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(f.default if f.default is not MISSING else ..., help=docs.get(f.name, "")),
            annotation=hints[f.name],
        )
        for f in fields(TrainArgs)
    ]
    return inspect.Signature(params)


train_command.__signature__ = _signature()


def export_command(
    checkpoint: Annotated[
        Path, typer.Argument(help="A checkpoint directory, e.g. runs/x/checkpoints/step_001500.")
    ],
    out: Annotated[Path, typer.Argument(help="The model directory to write.")],
    ema: Annotated[
        bool, typer.Option(help="The EMA weights (when the run kept them), else the raw ones.")
    ] = True,
    overwrite: Annotated[
        bool, typer.Option(help="Replace the model in OUT when OUT is a model directory already.")
    ] = False,
) -> None:
    """Write a checkpoint's weights as a model directory, e.g. to evaluate a step of a run that is still going.

    Example: pan-gym export runs/babyai/checkpoints/step_001500 runs/babyai/step1500 && pan-gym eval --model
    runs/babyai/step1500 --out runs/babyai/step1500/eval/report.json
    """
    from pan_gym.model.io import CheckpointError
    from pan_gym.train.ema import export_model

    with exit_on(CheckpointError, ValueError, FileNotFoundError):
        typer.echo(f"wrote {export_model(checkpoint, out, ema, overwrite)}")


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``export`` to the ``pan-gym`` app."""
    app.command("train")(train_command)
    app.command("export")(export_command)


def make_app() -> typer.Typer:
    """A one-command app (for ``python -m pan_gym.train`` / ``torchrun -m pan_gym.train``)."""
    app = typer.Typer(add_completion=False)
    app.command()(train_command)
    return app
