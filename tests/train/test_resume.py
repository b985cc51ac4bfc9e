"""Killed runs resume to the same weights as an uninterrupted run: SIGKILL mid-run, and a crash mid-checkpoint."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from pan_gym.train.checkpoint import CRASH_ENV, MARKER, latest_checkpoint
from tests.train.conftest import assert_same_weights, cli_args, env, run_cli


def test_sigkill_mid_run_then_resume_is_identical(tmp_path, reference_run):
    out = tmp_path / "run"
    args = cli_args(steps=6, save_every=2, out=out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pan_gym.train", *args], env=env(), stderr=subprocess.DEVNULL
    )
    first = out / "checkpoints" / "step_000002" / MARKER
    deadline = time.monotonic() + 120
    while not first.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "final").exists()
    killed_at = latest_checkpoint(out / "checkpoints")
    assert killed_at is not None and killed_at.name in ("step_000002", "step_000004")

    result = run_cli(*args, "--resume")
    assert f"resuming from {killed_at}" in result.stdout
    assert_same_weights(out / "final", reference_run / "final")
    assert_same_weights(out / "checkpoints" / "step_000006" / "model", reference_run / "final")


def test_crash_mid_checkpoint_write_resumes_from_previous(tmp_path, reference_run):
    out = tmp_path / "run"
    args = cli_args(steps=6, save_every=2, out=out)
    crashed = run_cli(*args, extra_env={CRASH_ENV: "4"}, check=False)
    assert crashed.returncode == 1, crashed.stderr[-2000:]
    partial = out / "checkpoints" / ".tmp-step_000004"
    assert (partial / "model" / "model.safetensors").exists() and not (partial / MARKER).exists()
    assert latest_checkpoint(out / "checkpoints").name == "step_000002"

    result = run_cli(*args, "--resume")
    assert "resumed at step 2" in result.stdout
    assert not partial.exists()  # cleaned by the next save
    assert_same_weights(out / "final", reference_run / "final")


# a run that dies (like SIGKILL: no cleanup) half-way through writing final/'s weights, whichever way io writes them
_DIE_WRITING_FINAL = """
import os, sys
from pathlib import Path
from pan_gym.model import io

real_save_file = io.save_file

def save_file(tensors, filename, *args, **kwargs):
    real_save_file(tensors, filename, *args, **kwargs)
    parent = Path(filename).parent.name
    if parent == "final" or parent.startswith(".final."):
        os.truncate(filename, os.path.getsize(filename) // 2)
        print(f"[test] dying half-way through writing {filename}", flush=True)
        os._exit(1)

io.save_file = save_file
from pan_gym.train.cli import make_app
make_app()()
"""


def test_killed_while_writing_final_then_resumed_leaves_no_temporaries(tmp_path, reference_run):
    out = tmp_path / "run"
    args = cli_args(steps=6, save_every=2, out=out)
    killed = subprocess.run(
        [sys.executable, "-c", _DIE_WRITING_FINAL, *args],
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 1 and "[test] dying" in killed.stdout, killed.stderr[-2000:]
    assert latest_checkpoint(out / "checkpoints").name == "step_000006"
    assert any(".tmp-" in p.name for p in out.rglob("*")), "the kill left no temporary behind"

    result = run_cli(*args, "--resume")
    assert "resumed at step 6" in result.stdout
    assert_same_weights(out / "final", reference_run / "final")
    leftovers = [str(p.relative_to(out)) for p in out.rglob("*") if ".tmp-" in p.name or ".old-" in p.name]
    assert not leftovers, f"temporaries left in the run directory: {leftovers}"
