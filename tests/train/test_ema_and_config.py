"""EMA weights ship as final/ and survive a resume; preset overrides and chunk resampling."""

from __future__ import annotations

import pytest

from pan_gym.model.glp import PanWorldModel
from pan_gym.train import TrainArgs, train
from tests.train.conftest import FAST, assert_same_weights, weights


def test_ema_final_differs_from_raw_and_resume_is_identical(tmp_path):
    full = train(TrainArgs(**FAST, steps=6, save_every=3, ema_decay=0.9, out=str(tmp_path / "full")))
    raw = tmp_path / "full" / "checkpoints" / "step_000006" / "model"
    assert any((weights(full)[k] != weights(raw)[k]).any() for k in weights(full))  # final/ is the average
    train(TrainArgs(**FAST, steps=3, save_every=3, ema_decay=0.9, out=str(tmp_path / "part")))
    resumed = train(
        TrainArgs(**FAST, steps=6, save_every=3, ema_decay=0.9, resume=True, out=str(tmp_path / "part"))
    )
    assert_same_weights(full, resumed)


def test_config_overrides_and_resampled_chunks(tmp_path):
    final = train(
        TrainArgs(**FAST, steps=1, config="frames_per_chunk=1,backbone.num_queries=2", out=str(tmp_path))
    )
    cfg = PanWorldModel.from_pretrained(final).cfg
    assert cfg.frames_per_chunk == 1 and cfg.backbone.num_queries == 2  # synthetic chunks have 2 frames
    with pytest.raises(ValueError, match="renders 3 frames"):
        train(TrainArgs(**FAST, steps=1, config="frames_per_chunk=3", out=str(tmp_path / "b")))
    with pytest.raises(ValueError, match="unknown config key"):
        train(TrainArgs(**FAST, steps=1, config="backbone.nope=1", out=str(tmp_path / "c")))


def test_overrides_on_an_init_model_keep_its_weights(tmp_path):
    first = train(TrainArgs(**FAST, steps=1, out=str(tmp_path / "a")))
    second = train(
        TrainArgs(
            **FAST, steps=1, init=str(first), config="diffusion.change_weight=9", out=str(tmp_path / "b")
        )
    )
    assert PanWorldModel.from_pretrained(second).cfg.diffusion.change_weight == 9
    with pytest.raises(ValueError, match="changes the weights"):
        train(
            TrainArgs(
                **FAST, steps=1, init=str(first), config="backbone.num_queries=3", out=str(tmp_path / "c")
            )
        )


def test_export_writes_a_checkpoints_ema_or_raw_weights(tmp_path):
    from typer.testing import CliRunner

    from pan_gym.cli import app

    final = train(TrainArgs(**FAST, steps=2, save_every=2, ema_decay=0.9, out=str(tmp_path / "run")))
    ckpt = tmp_path / "run" / "checkpoints" / "step_000002"
    ok = CliRunner().invoke(app, ["export", str(ckpt), str(tmp_path / "ema")])
    assert ok.exit_code == 0, ok.output
    assert_same_weights(final, tmp_path / "ema")  # the EMA of the last step is what final/ ships
    CliRunner().invoke(app, ["export", str(ckpt), str(tmp_path / "raw"), "--no-ema"])
    assert_same_weights(ckpt / "model", tmp_path / "raw")
    bad = CliRunner().invoke(app, ["export", str(tmp_path / "nope"), str(tmp_path / "x")])
    assert bad.exit_code == 1 and "error:" in bad.output
