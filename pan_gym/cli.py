"""The ``pan-gym`` command line. Each command lives beside the code it drives; this file only wires them up."""

from __future__ import annotations

import typer

app = typer.Typer(help="pan-gym: the PAN world model as a Gymnasium environment.", no_args_is_help=True)

# Commands are registered below by importing their modules' ``register(app)``.
from pan_gym.data.collect import register as _register_collect  # noqa: E402

_register_collect(app)
from pan_gym.train.cli import register as _register_train  # noqa: E402

_register_train(app)
from pan_gym.eval.cli import register as _register_eval  # noqa: E402

_register_eval(app)
from pan_gym.ui.demo import register as _register_demo  # noqa: E402

_register_demo(app)
from pan_gym.ui.play import register as _register_play  # noqa: E402

_register_play(app)
from pan_gym.ui.web import register as _register_web  # noqa: E402

_register_web(app)
from pan_gym.perf.cli import register as _register_bench  # noqa: E402

_register_bench(app)
from pan_gym.ablate.cli import register as _register_ablate  # noqa: E402

_register_ablate(app)
from agents.plan_cli import register as _register_plan  # noqa: E402

_register_plan(app)

if __name__ == "__main__":
    app()
