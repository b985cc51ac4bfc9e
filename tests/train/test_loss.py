"""The loss goes down in a short tiny-preset run: on the synthetic tile world, and on freshly collected BabyAI data.

Assertions are on the mean of the first vs the last quarter of the steps (single steps are noisy)."""

from __future__ import annotations

import importlib.util
import json
import statistics
import subprocess
import sys

import pytest

from pan_gym.train import TrainArgs, train
from tests.train.conftest import FAST, env


def _quarters(out) -> tuple[float, float]:
    losses = [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    k = len(losses) // 4
    return statistics.mean(losses[:k]), statistics.mean(losses[-k:])


def _train(out, data: str, steps: int) -> tuple[float, float]:
    args = {**FAST, "data": data, "batch_size": 4}
    train(TrainArgs(**args, steps=steps, lr=1e-3, warmup_steps=5, save_every=steps, out=str(out)))
    return _quarters(out)


def test_loss_goes_down_on_synthetic(tmp_path):
    first, last = _train(tmp_path, "synthetic:64", steps=40)
    assert last < 0.9 * first, (first, last)


@pytest.mark.skipif(importlib.util.find_spec("pan_gym.data.collect") is None, reason="no collector yet")
def test_loss_goes_down_on_collected_babyai(tmp_path):
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "pan_gym.cli", "collect", "--world", "babyai", "--episodes", "12"]
    subprocess.run([*cmd, "--out", str(data), "--policy", "mixed"], env=env(), check=True, timeout=120)
    first, last = _train(tmp_path / "run", str(data), steps=40)
    assert last < 0.9 * first, (first, last)
