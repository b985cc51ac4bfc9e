"""FSDP2 runs write sharded checkpoints (DCP, each rank its own shards): they resume exactly, a damaged shard is
found before the run commits to it, and ``export`` assembles them into a model directory in one process.

The single-process runs take the ``--fsdp`` path without a process group (the same files, one rank); the
two-rank run is in ``test_distributed.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pan_gym.model import io
from pan_gym.train.checkpoint import SHARDED, check_sharded
from pan_gym.train.ema import export_model
from tests.train.conftest import assert_same_weights, cli_args, run_cli, weights


def _args(out: Path, steps: int) -> list[str]:
    return cli_args(steps=steps, save_every=2, out=out, fsdp=True, ema_decay=0.9)


@pytest.fixture(scope="module")
def sharded_run(tmp_path_factory) -> Path:
    """4 uninterrupted steps, a sharded checkpoint every 2, EMA on."""
    out = tmp_path_factory.mktemp("sharded") / "run"
    run_cli(*_args(out, 4))
    return out


def test_a_resumed_sharded_run_equals_one_never_stopped(tmp_path, sharded_run):
    step = sharded_run / "checkpoints" / "step_000004"
    assert (step / SHARDED / ".metadata").is_file() and not (step / "model").exists()
    out = tmp_path / "run"
    run_cli(*_args(out, 2))
    result = run_cli(*_args(out, 4), "--resume")
    assert "resumed at step 2" in result.stdout
    assert_same_weights(out / "final", sharded_run / "final")


def test_export_assembles_the_shards_into_the_runs_weights(tmp_path, sharded_run):
    step = sharded_run / "checkpoints" / "step_000004"
    averaged = export_model(step, tmp_path / "ema")
    assert_same_weights(averaged, sharded_run / "final")  # final/ ships the EMA
    raw = weights(export_model(step, tmp_path / "raw", ema=False))
    assert any(not (raw[k] == v).all() for k, v in weights(averaged).items())


def test_a_truncated_shard_is_found_and_the_previous_checkpoint_resumes(tmp_path, sharded_run):
    out = tmp_path / "run"
    run_cli(*_args(out, 4))
    newest = out / "checkpoints" / "step_000004"
    shard = next((newest / SHARDED).glob("*.distcp"))
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(io.CheckpointError, match="truncated shard"):
        check_sharded(newest)
    result = run_cli(*_args(out, 4), "--resume")
    assert "skipped" in result.stdout and "resumed at step 2" in result.stdout
    assert (out / "checkpoints" / "skipped-step_000004").is_dir()
    assert_same_weights(out / "final", sharded_run / "final")
