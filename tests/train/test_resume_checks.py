"""``--resume`` refuses other training arguments than the run's, and falls back past a corrupt checkpoint."""

from __future__ import annotations

import pytest

from pan_gym.train import TrainArgs, train
from pan_gym.train.checkpoint import list_checkpoints
from pan_gym.train.resume import MAY_DIFFER, ResumeError
from tests.train.conftest import FAST, assert_same_weights, cli_args, run_cli


def _run(out, **kw):
    return train(TrainArgs(**{**FAST, "out": str(out), **kw}))


def test_resume_with_other_training_arguments_is_refused_listing_each(tmp_path):
    _run(tmp_path, steps=3, save_every=3)
    before = (tmp_path / "args.json").read_text()
    with pytest.raises(ResumeError) as err:
        _run(tmp_path, steps=6, save_every=3, resume=True, stage="reward", ema_decay=0.9, batch_size=4)
    msg = str(err.value)
    assert "stage: run='joint', now='reward'" in msg
    assert "ema_decay: run=0.0, now=0.9" in msg
    assert "batch_size: run=2, now=4" in msg
    assert "steps:" not in msg  # extending a run is allowed
    assert "another --out" in msg and str(tmp_path / "args.json") in msg
    assert (tmp_path / "args.json").read_text() == before  # the refused run recorded nothing
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == ["step_000003"]


def test_resume_refusal_on_the_command_line_is_one_error_without_traceback(tmp_path):
    args = cli_args(steps=3, save_every=3, out=tmp_path)
    run_cli(*args)
    refused = run_cli(*args, "--resume", "--steps", "6", "--ema-decay", "0.9", check=False)
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "error: --resume: these arguments differ" in refused.stderr
    assert "ema_decay: run=0.0, now=0.9" in refused.stderr
    assert "Traceback" not in refused.stderr and "KeyError" not in refused.stderr


def test_resume_without_args_json_checks_stage_and_ema_against_the_checkpoint(tmp_path):
    _run(tmp_path, steps=3, save_every=3)
    (tmp_path / "args.json").unlink()  # e.g. a run directory copied without it
    with pytest.raises(ResumeError, match=r"ema_decay: run=0\.0 \(no EMA weights\), now=0\.9"):
        _run(tmp_path, steps=6, save_every=3, resume=True, ema_decay=0.9)
    with pytest.raises(ResumeError, match="stage: run='joint', now='reward'"):
        _run(tmp_path, steps=6, save_every=3, resume=True, stage="reward")


def test_resume_may_extend_steps_and_change_how_the_run_is_shown_and_saved(tmp_path, reference_run, capsys):
    assert {"steps", "threads", "save_every", "progress", "tensorboard"} <= set(MAY_DIFFER)
    _run(tmp_path, steps=3, save_every=3)
    _run(tmp_path, steps=6, save_every=2, resume=True, log_every=1, keep_checkpoints=3)
    assert "resumed at step 3" in capsys.readouterr().out
    # within the warm-up (10 steps) the LR does not depend on the total, so this matches the 6-step run
    assert_same_weights(tmp_path / "final", reference_run / "final")


def _corrupt(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damaged", ["model/model.safetensors", "train_state.pt"])
def test_corrupt_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, reference_run, capsys, damaged):
    ckpts = tmp_path / "checkpoints"
    _run(tmp_path, steps=4, save_every=2)
    _corrupt(ckpts / "step_000004" / damaged)
    capsys.readouterr()
    _run(tmp_path, steps=6, save_every=2, resume=True)
    out = capsys.readouterr().out
    assert f"skipped {ckpts / 'step_000004'}: " in out and damaged.split("/")[-1] in out
    assert f"resuming from {ckpts / 'step_000002'}" in out and "resumed at step 2" in out
    assert (ckpts / "skipped-step_000004" / damaged).exists()  # set aside, never pruned as a good one
    assert [p.name for p in list_checkpoints(ckpts)] == ["step_000004", "step_000006"]
    assert_same_weights(tmp_path / "final", reference_run / "final")


def test_resume_when_no_checkpoint_loads_is_one_clear_error(tmp_path):
    ckpts = tmp_path / "checkpoints"
    _run(tmp_path, steps=4, save_every=2)
    _corrupt(ckpts / "step_000004" / "train_state.pt")
    _corrupt(ckpts / "step_000002" / "model" / "model.safetensors")
    with pytest.raises(ResumeError) as err:
        _run(tmp_path, steps=6, save_every=2, resume=True)
    msg = str(err.value)
    assert f"no checkpoint in {ckpts} loads" in msg
    assert "step_000004: " in msg and "step_000002: " in msg and "another --out" in msg
    assert [p.name for p in list_checkpoints(ckpts)] == ["step_000002", "step_000004"]  # nothing moved
