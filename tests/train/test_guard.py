"""The non-finite guard: a NaN loss or gradient norm stops the run, names the step, and keeps the last checkpoint."""

from __future__ import annotations

import pytest
import torch

from pan_gym.train import TrainArgs
from pan_gym.train.checkpoint import latest_checkpoint
from pan_gym.train.data import SyntheticWindows
from pan_gym.train.trainer import NonFiniteError, train
from tests.train.conftest import FAST


class PoisonedAfter(SyntheticWindows):
    """Rewards turn NaN once ``good`` items have been read (the model's reward loss goes NaN)."""

    def __init__(self, good: int, **kw):
        super().__init__(**kw)
        self.good, self.reads = good, 0

    def __getitem__(self, i):
        item = super().__getitem__(i)
        self.reads += 1
        if self.reads > self.good:
            item["rewards"] = torch.full_like(item["rewards"], float("nan"))
        return item


def test_nan_loss_stops_and_keeps_last_checkpoint(tmp_path):
    # dataset[0] is read twice at setup, then 2 items per step: steps 1-2 are clean, step 3 is poisoned
    ds = PoisonedAfter(good=2 + 4, size=16, window=2, frames_per_chunk=2)
    args = TrainArgs(**FAST, steps=6, save_every=1, out=str(tmp_path))
    with pytest.raises(NonFiniteError, match="step 3") as e:
        train(args, dataset=ds)
    assert "step_000002" in str(e.value)
    assert latest_checkpoint(tmp_path / "checkpoints").name == "step_000002"
    assert not (tmp_path / "final").exists()


def test_nan_grad_norm_stops(tmp_path, monkeypatch):
    real, calls = torch.nn.utils.clip_grad_norm_, []

    def clip(params, max_norm):
        calls.append(1)
        norm = real(params, max_norm)
        return torch.tensor(float("nan")) if len(calls) == 2 else norm

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", clip)
    args = TrainArgs(**FAST, steps=4, save_every=1, out=str(tmp_path))
    with pytest.raises(NonFiniteError, match="step 2 .*gradient norm nan"):
        train(args)
    assert latest_checkpoint(tmp_path / "checkpoints").name == "step_000001"
