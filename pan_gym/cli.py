"""The ``pan-gym`` command line. Each command lives beside the code it drives; this file only wires them up.

Layering: ``pan_gym`` imports nothing above it; ``plan`` (in ``agents``) joins through a ``pan_gym.commands``
entry point (pyproject.toml).
"""

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


def _register_plugins(app: typer.Typer) -> None:
    """Commands of the packages that build on pan_gym (``plan`` from ``agents``), declared as ``pan_gym.commands``
    entry points (``register(app)`` each), so that pan_gym never imports them by name."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="pan_gym.commands"):
        try:
            register = entry.load()
        except ModuleNotFoundError as e:  # the package providing it is not installed: its command is absent
            if e.name is not None and (entry.module == e.name or entry.module.startswith(e.name + ".")):
                continue
            raise
        register(app)


_register_plugins(app)

if __name__ == "__main__":
    app()
