"""``pan-gym eval`` end to end with the tiny model and a tiny budget."""

import json

from typer.testing import CliRunner

from pan_gym.cli import app


def test_eval_cli_writes_report(tmp_path):
    out = tmp_path / "report.json"
    args = ["eval", "--world", "babyai", "--model", "tiny", "--out", str(out), "--n-states", "4",
            "--actions-per-state", "1", "--rollouts", "2", "--horizons", "4,6", "--planning-episodes", "2",
            "--baselines", "copy,oracle", "--seed-offset", "100000", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    ims = report["simulators"]
    assert set(ims) == {"model", "copy", "oracle"}
    assert ims["oracle"]["fidelity"]["agent"]["fidelity"] == 1.0
    assert ims["oracle"]["stepwise"]["heldout"]["accuracy"] in (1.0, None)
    assert ims["copy"]["fidelity"]["environment"]["fidelity"] == 0.0
    assert set(ims["model"]["horizon"]) == set(ims["model"]["horizon_primitive"]) == {"4", "6"}
    assert (
        ims["oracle"]["horizon"]["6"]["walk"] == "listing"
        and ims["oracle"]["horizon"]["6"]["grid_exact"][-1] == 1
    )
    assert ims["copy"]["horizon_primitive"]["6"]["grid_exact"][0] == 0.0  # every step changes the frame
    assert report["reference"]["pan_percent"]["fidelity_agent"] == 70.3
    seeds = report["meta"]["seeds"]  # the validation block: every block shifted by the offset
    assert seeds["start_states"] == [1_100_000 + i for i in range(4)] and min(seeds["horizon"]) == 1_110_000
    assert report["planning"]["random"]["n"] == 2
    md = out.with_suffix(".md").read_text()
    assert "| fidelity, agent" in md and "70.3" in md
    assert "| listing walk H=6: whole grid right after 6 actions" in md and "| primitive walk H=4:" in md
    per_template = md.split("## One action, per template")[1].split("##")[0]
    assert "| agent | `turn {side}` |" in per_template and "| environment |" in per_template
    pngs = sorted(p.name for p in tmp_path.glob("report_*.png"))
    assert (
        "report_horizon.png" in pngs
        and "report_smoothness.png" in pngs
        and "report_model_rollout.png" in pngs
    )


def test_default_model_missing_is_a_clear_error(tmp_path, monkeypatch):
    from pan_gym.env import models

    monkeypatch.setitem(models.SHIPPED, "babyai", tmp_path / "not-shipped")
    result = CliRunner().invoke(app, ["eval", "--out", str(tmp_path / "r.json"), "--no-progress"])
    assert result.exit_code == 1 and "no shipped babyai model" in result.output


def test_bad_horizons_and_precision(tmp_path):
    result = CliRunner().invoke(
        app, ["eval", "--model", "tiny", "--out", str(tmp_path / "r.json"), "--horizons", "x"]
    )
    assert result.exit_code != 0
    result = CliRunner().invoke(
        app, ["eval", "--model", "tiny", "--out", str(tmp_path / "r.json"), "--precision", "fp16"]
    )
    assert result.exit_code != 0 and "precision must be one of" in result.output


def test_eval_config_overrides_the_models_inference_settings(tmp_path):
    from pan_gym.env.models import describe_model, resolve_model

    tiny = tmp_path / "m"
    resolve_model("tiny").save_pretrained(tiny)
    model = resolve_model(str(tiny), overrides="diffusion.sampler_steps=4")
    assert model.cfg.diffusion.sampler_steps == 4 and model.sampler.steps == 4
    assert model is not resolve_model(str(tiny))  # a model with overrides is a new one, not the cached
    assert describe_model(str(tiny), overrides="diffusion.sampler_steps=4").endswith(
        "with diffusion.sampler_steps=4"
    )
    out = tmp_path / "r.json"
    args = ["eval", "--model", str(tiny), "--out", str(out), "--n-states", "2", "--actions-per-state", "1",
            "--rollouts", "1", "--horizons", "3", "--planning-episodes", "0", "--baselines", "",
            "--precision", "bf16-weights", "--config", "diffusion.guidance_scale=2", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    meta = json.loads(out.read_text())["meta"]
    assert "guidance_scale=2" in meta["model"] and meta["config"]["precision"] == "bf16-weights"
    bad = CliRunner().invoke(app, [*args[:-3], "--config", "diffusion.nope=1", "--no-progress"])
    assert bad.exit_code == 1 and "unknown config key" in bad.output
