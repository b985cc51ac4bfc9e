"""The README's quick start, as written: its two commands are parsed from README.md, so this test follows the README.

- ``test_quickstart_clean_clone`` (slow: a fresh venv and installs, minutes; runs only with ``PAN_GYM_QUICKSTART=1``):
  ``git clone`` this repository's HEAD into a temp dir and run each command verbatim with bash there.
  ``pytest -k "clean_clone and first"`` (or ``second``) picks one command.
- ``test_quickstart_demo`` (fast, always): the first command's part after ``bash scripts/setup.sh &&``, run in the
  current environment (``.venv/bin/pan-gym`` → ``python -m pan_gym.cli``). The second command is the suite itself:
  ``test_readme_has_two_quickstart_commands`` checks it is exactly what ``.ci/run`` runs, and the clean-clone test
  runs it verbatim.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SETUP = re.compile(r"^bash scripts/setup\.sh( dev)?\s*&&\s*")


def quickstart_commands(readme: Path = ROOT / "README.md") -> list[str]:
    """The command lines of the first ```bash block under '## Quick start' (comments and blanks dropped)."""
    text = readme.read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README.md's quick start has no ```bash block"
    lines = [ln.strip() for ln in block.group(1).splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def test_readme_has_two_quickstart_commands():
    cmds = quickstart_commands()
    assert len(cmds) == 2, cmds
    assert all(SETUP.match(c) for c in cmds), "each quick-start command starts with bash scripts/setup.sh"
    assert cmds[1] == "bash scripts/setup.sh dev && .venv/bin/python -m pytest"  # what .ci/run runs
    ci = (ROOT / ".ci" / "run").read_text()
    assert cmds[1] in ci, ".ci/run must run the README's test command"


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k != "PAN_GYM_QUICKSTART"
    }  # no recursion into the slow test
    env.update(extra)
    return env


def _final_part(cmd: str) -> list[str]:
    rest = SETUP.sub("", cmd)
    argv = shlex.split(rest)
    if argv[0] == ".venv/bin/pan-gym":
        return [sys.executable, "-m", "pan_gym.cli", *argv[1:]]
    if argv[0] == ".venv/bin/python":
        return [sys.executable, *argv[1:]]
    raise AssertionError(f"unexpected quick-start command {rest!r}")


def test_quickstart_demo(tmp_path):
    argv = _final_part(quickstart_commands()[0])
    res = subprocess.run(
        argv, cwd=tmp_path, env=_env(PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("PAN_GYM_QUICKSTART") != "1",
    reason="slow (fresh venv + installs): set PAN_GYM_QUICKSTART=1",
)
@pytest.mark.parametrize("index", [0, 1], ids=["first", "second"])
def test_quickstart_clean_clone(index, tmp_path):
    clone = tmp_path / "pan-gym"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=300)
    cmd = quickstart_commands(clone / "README.md")[index]
    env = _env()
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    res = subprocess.run(
        ["bash", "-c", cmd], cwd=clone, env=env, capture_output=True, text=True, timeout=3600
    )
    assert res.returncode == 0, f"{cmd}\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
