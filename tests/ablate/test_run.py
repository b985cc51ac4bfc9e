"""``pan-gym ablate`` end to end at a tiny budget: two variants trained, scored and reported; resume; bad input."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from pan_gym.ablate.report import error_curve
from pan_gym.cli import app

SMOKE = ["--preset", "tiny", "--batch-size", "2", "--no-bf16", "--eval-states", "2", "--eval-rollouts", "2"]
SMOKE += ["--horizon", "5", "--claims", "supervision", "--budget", "2"]


def _plain(output: str) -> str:
    """CLI output without rich's box drawing and line wrapping."""
    return " ".join(output.replace("│", " ").split())


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from pan_gym.data.collect import collect

    out = tmp_path_factory.mktemp("data")
    collect("babyai", episodes=3, out=out, max_steps=6, progress=False)
    return out


@pytest.fixture(scope="module")
def ablation(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("ablate")
    result = CliRunner().invoke(app, ["ablate", "--data", str(data), "--out", str(out), *SMOKE])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out, result.output


def test_ablate_trains_scores_and_reports_two_variants(ablation):
    out, output = ablation
    assert "pan: supervision/generative" in output and "latent: supervision/latent" in output
    finals = {"pan": "final", "latent": "1-render/final"}  # latent: dynamics, then render on the frozen ŝ
    for run, final in finals.items():
        assert (out / "runs" / run / "seed-0" / final / "config.json").is_file()
        assert (out / "runs" / run / "seed-0" / "eval" / "report.md").is_file()
    assert (out / "runs" / "latent" / "seed-0" / "0-dynamics" / "final" / "config.json").is_file()
    md = (out / "ablations.md").read_text()
    assert "## supervision" in md and "| step-wise, agent, heldout phrasing" in md
    assert "whole grid right after 5 action(s)" in md and "consistency over 5 actions" in md
    assert "**Conclusion**" in md and "Samples are small" in md
    assert (out / "ablation_supervision_horizon.png").stat().st_size > 1000
    rec = json.loads((out / "ablations.json").read_text())["claims"]["supervision"]
    assert set(rec["variants"]) == {"generative", "latent"}
    assert rec["variants"]["latent"]["stepwise/agent/train"]["method"] == "wilson"
    latent_cfg = json.loads(
        (out / "runs" / "latent" / "seed-0" / "1-render" / "final" / "config.json").read_text()
    )["config"]
    assert latent_cfg["backbone"]["supervision"] == "latent" and latent_cfg["frames_per_chunk"] == 1


def test_per_rollout_scores_agree_with_the_suites_curves(ablation):
    out, _ = ablation
    r = json.loads((out / "runs" / "latent" / "seed-0" / "eval" / "report.json").read_text())
    for name in ("model", "copy"):
        im = r["simulators"][name]
        rows, hz = im["per_rollout"], im["horizon"]["5"]
        assert len(rows) == 2
        mean = [
            np.mean([row["tile_accuracy"][t] for row in rows if len(row["tile_accuracy"]) > t])
            for t in range(5)
        ]
        assert mean == pytest.approx(hz["tile_accuracy"])
        true = np.mean([row["smooth_true_action"] for row in rows])
        assert true == pytest.approx(hz["smoothness"]["per_action"]["true"])
        mean, lo, hi = error_curve([r], name)  # the plot: rollouts with some cell wrong, per step
        wrong = [1 - np.mean([row["grid_exact"][t] for row in rows]) for t in range(5)]
        assert mean == pytest.approx(wrong) and np.all(lo <= mean) and np.all(mean <= hi)


def test_rerun_skips_finished_training_and_scoring(ablation, data, monkeypatch):
    out, _ = ablation

    def refuse(*args, **kwargs):
        raise AssertionError("a finished variant was trained or scored again")

    monkeypatch.setattr("pan_gym.train.train", refuse)
    monkeypatch.setattr("pan_gym.ablate.run.evaluate_model", refuse)
    before = (out / "ablations.md").stat().st_mtime_ns
    result = CliRunner().invoke(app, ["ablate", "--data", str(data), "--out", str(out), *SMOKE])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "exists, not trained again" in result.output
    assert (out / "ablations.md").stat().st_mtime_ns >= before


def test_bad_input_fails_before_training(data, tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["ablate", "--data", str(tmp_path / "nope"), "--out", str(tmp_path), *SMOKE])
    assert missing.exit_code == 2 and "does not exist" in _plain(missing.output)
    claim = runner.invoke(
        app, ["ablate", "--data", str(data), "--out", str(tmp_path), *SMOKE, "--claims", "supervision,jepa"]
    )
    assert claim.exit_code == 2 and "unknown claim" in _plain(claim.output)
    config = runner.invoke(
        app, ["ablate", "--data", str(data), "--out", str(tmp_path), *SMOKE, "--config", "x.y=1"]
    )
    assert config.exit_code == 2 and "unknown config key" in _plain(config.output)
    assert not (tmp_path / "runs").exists()


def test_model_mode_scores_a_trained_model_under_inference_time_variants(ablation, tmp_path, monkeypatch):
    trained = ablation[0] / "runs" / "pan" / "seed-0" / "final"
    seen = []
    real = __import__("pan_gym.model.glp", fromlist=["PanWorldModel"]).PanWorldModel.from_pretrained

    def spy(directory, device=None, overrides=""):
        seen.append(overrides)
        return real(directory, device, overrides)

    monkeypatch.setattr("pan_gym.model.glp.PanWorldModel.from_pretrained", spy)
    monkeypatch.setattr(
        "pan_gym.train.train", lambda *a, **k: (_ for _ in ()).throw(AssertionError("trained"))
    )
    args = ["ablate", "--model", str(trained), "--out", str(tmp_path), "--claims", "noise"]
    args += ["--eval-states", "2", "--eval-rollouts", "2", "--horizon", "3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert len(seen) == 4 and "diffusion.noise_offset=1.0" in seen and "diffusion.window=false" in seen
    for run in ("pan", "offset-0.25", "offset-1", "no-window"):
        meta = json.loads((tmp_path / "runs" / run / "seed-0" / "eval" / "report.json").read_text())["meta"]
        assert meta["model"] == str(trained)
    md = (tmp_path / "ablations.md").read_text()
    assert "no training" in md and "changed only at inference" in md and "`no-window`" in md


def test_model_mode_refuses_claims_that_need_training_and_bad_models(ablation, tmp_path):
    trained = ablation[0] / "runs" / "pan" / "seed-0" / "final"
    runner = CliRunner()
    sup = runner.invoke(
        app, ["ablate", "--model", str(trained), "--out", str(tmp_path), "--claims", "supervision"]
    )
    assert sup.exit_code == 2 and "changes what is trained" in _plain(sup.output)
    bad = runner.invoke(
        app, ["ablate", "--model", str(tmp_path), "--out", str(tmp_path), "--claims", "noise"]
    )
    assert bad.exit_code == 2 and "not a model directory" in _plain(bad.output)
    none = runner.invoke(app, ["ablate", "--budget", "5", "--out", str(tmp_path)])
    assert none.exit_code == 2 and "give --data" in _plain(none.output)
    assert not (tmp_path / "runs").exists()


def test_init_mode_continues_every_run_from_a_trained_model(ablation, data, tmp_path):
    from safetensors.torch import load_file

    trained = ablation[0] / "runs" / "pan" / "seed-0" / "final"
    args = ["ablate", "--data", str(data), "--out", str(tmp_path), "--init", str(trained), *SMOKE]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    start = load_file(str(trained / "model.safetensors"))
    dynamics = load_file(
        str(tmp_path / "runs" / "latent" / "seed-0" / "0-dynamics" / "final" / "model.safetensors")
    )
    # the dynamics stage never runs the decoder: its weights are the init's; the latent head is new
    decoder = [k for k in start if k.startswith("decoder.")]
    assert decoder and all(torch.equal(dynamics[k], start[k]) for k in decoder)
    assert any(k.startswith("latent_head.") for k in dynamics) and not any(
        k.startswith("latent_head.") for k in start
    )
    assert "Continued training: every run starts from" in (tmp_path / "ablations.md").read_text()
    both = CliRunner().invoke(app, [*args, "--model", str(trained)])
    assert both.exit_code == 2 and "give one of them" in _plain(both.output)
