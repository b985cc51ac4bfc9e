"""Shared helpers for the trainer tests: quick TrainArgs, running the CLI in a subprocess, comparing weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
# a tiny, fast run: 16 synthetic windows of N=2 chunks, batch 2, 1 thread, no tensorboard/progress
FAST = dict(
    preset="tiny", data="synthetic:16", window=2, batch_size=2, threads=1, progress=False, tensorboard=False
)


def cli_args(**kw) -> list[str]:
    """TrainArgs-style keywords -> command-line options."""
    out = []
    for k, v in {**FAST, **kw}.items():
        flag = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            out.append(flag if v else "--no-" + k.replace("_", "-"))
        else:
            out += [flag, str(v)]
    return out


def env(**extra) -> dict:
    e = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", **extra)
    e.pop("PAN_GYM_TEST_CRASH_IN_CHECKPOINT", None)
    e.update(extra)
    return e


def run_cli(*args: str, extra_env: dict | None = None, timeout: float = 120, check: bool = True):
    """``python -m pan_gym.train ARGS`` in a subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "pan_gym.train", *args],
        env=env(**(extra_env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
        )
    return proc


def weights(model_dir: Path) -> dict:
    return load_file(str(Path(model_dir) / "model.safetensors"))


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    diff = [k for k in wa if not (wa[k] == wb[k]).all()]
    assert not diff, f"{len(diff)} tensors differ, e.g. {diff[:3]}"


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """An uninterrupted 6-step CLI run (checkpoints every 2 steps) that resumed runs must match exactly."""
    out = tmp_path_factory.mktemp("reference")
    run_cli(*cli_args(steps=6, save_every=2, out=out))
    return out
