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
