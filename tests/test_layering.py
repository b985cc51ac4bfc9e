"""``pan_gym`` sits below ``agents``: every pan_gym module imports with ``agents`` unavailable, and the
``plan`` command joins the CLI through its entry point."""

from __future__ import annotations

import subprocess
import sys

_IMPORT_ALL_WITHOUT_AGENTS = """
import importlib, pkgutil, sys
sys.modules["agents"] = None  # any import of agents now raises ImportError
import pan_gym
failed = []
for mod in pkgutil.walk_packages(pan_gym.__path__, "pan_gym."):
    try:
        importlib.import_module(mod.name)
    except ImportError as e:
        failed.append(f"{mod.name}: {e}")
print("\\n".join(failed) or "ok")
"""


def test_every_pan_gym_module_imports_without_agents():
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL_WITHOUT_AGENTS], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok", out.stdout


def test_plan_is_registered_through_its_entry_point():
    from importlib.metadata import entry_points

    from pan_gym.cli import app

    assert [e.value for e in entry_points(group="pan_gym.commands")] == ["agents.plan_cli:register"]
    assert "plan" in {c.name for c in app.registered_commands}
