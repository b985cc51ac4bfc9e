"""torchrun with 2 CPU processes (gloo): DDP trains and leaves a loadable final/; the FSDP2 wrapping runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pan_gym.model.glp import PanWorldModel
from tests.train.conftest import cli_args, env


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
    _torchrun(*cli_args(steps=3, save_every=2, out=out, fsdp=fsdp))
    model = PanWorldModel.from_pretrained(out / "final")
    assert model.cfg.frames_per_chunk == 2
    assert {p.name for p in (out / "checkpoints").iterdir()} == {"step_000002", "step_000003"}
    assert (out / "checkpoints" / "step_000003" / "rng_rank1.pt").exists()
