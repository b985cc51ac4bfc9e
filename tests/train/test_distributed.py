"""torchrun with 2 CPU processes (gloo): DDP trains and leaves a loadable final/; FSDP2 trains with EMA and writes
sharded checkpoints, each rank its own shards, which one process assembles into the run's weights."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pan_gym.model.glp import PanWorldModel
from pan_gym.train.checkpoint import SHARDED
from pan_gym.train.ema import export_model
from tests.train.conftest import assert_same_weights, cli_args, env


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    proc = subprocess.run(
        [*cmd, "-m", "pan_gym.train", *args], env=env(), capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("fsdp", [False, True], ids=["ddp", "fsdp2"])
def test_torchrun_two_processes(tmp_path, fsdp):
    out = tmp_path / "run"
    _torchrun(*cli_args(steps=3, save_every=2, out=out, fsdp=fsdp, ema_decay=0.9 if fsdp else 0.0))
    model = PanWorldModel.from_pretrained(out / "final")
    assert model.cfg.frames_per_chunk == 2
    assert {p.name for p in (out / "checkpoints").iterdir()} == {"step_000002", "step_000003"}
    last = out / "checkpoints" / "step_000003"
    assert (last / "rng_rank1.pt").exists()
    if fsdp:
        assert {p.name for p in (last / SHARDED).glob("*.distcp")} == {"__0_0.distcp", "__1_0.distcp"}
        assert_same_weights(export_model(last, tmp_path / "exported"), out / "final")
