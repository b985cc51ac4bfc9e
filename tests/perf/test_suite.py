"""``pan-gym bench`` on the tiny preset with minimal sizes: every section prints its table with positive figures
(no timing assertions: the machine is shared)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from pan_gym.perf.suite import BenchConfig, run_suite


@pytest.fixture(scope="module")
def suite():
    lines: list[str] = []
    cfg = BenchConfig(
        model="tiny",
        batches=(1, 2),
        history=(0, 1),
        sampler_steps=(2, 4),
        sampler_batches=(1,),
        component_batches=(1,),
        cache_rounds=(1,),
        env_num=2,
        env_steps=1,
        rollout_steps=3,
        cem_samples=4,
        cem_horizon=2,
        goal_samples=4,
        cem_iterations=1,
        cem_decisions=1,
        repeats=1,
        peak_size=128,
    )
    out = run_suite(cfg, echo=lambda *a, **k: lines.append(" ".join(map(str, a))))
    return out, "\n".join(lines)


def test_every_section_prints_a_table(suite):
    out, text = suite
    for name in (
        "machine",
        "peak",
        "components",
        "batch",
        "history",
        "sampler",
        "chunk",
        "cache",
        "env",
        "memory",
        "cem",
        "bf16_weights",
        "threads",
        "goals",
    ):
        assert f"### {name}" in text, name
    assert "goal-image CEM" in text
    assert "dit (per call = per Euler step)" in text and "| 4 |" in text  # sampler row for 4 steps


def test_figures_are_positive(suite):
    out, _ = suite
    assert out["peak"]["fp32"] > 0 and out["peak"]["bf16"] > 0
    comp = out["components"][0]
    assert comp["total_s"] > 0 and comp["flops"] > 0
    assert comp["parts"]["dit"]["calls"] == 2  # two Euler steps of the default sampler
    assert comp["parts"]["backbone"]["calls"] == 1 and comp["parts"]["backbone"]["flops"] > 0
    for row in out["batch"]:
        for p in ("fp32", "bf16", "bf16-weights"):
            assert row[p]["frames_per_s"] > 0 and row[p]["latent_steps_per_s"] > 0 and 0 < row[p]["of_peak"]
    assert [r["steps"] for r in out["sampler"]] == [2, 4]
    t1, t4 = out["chunk"]  # the same weights at 1 and 4 frames per chunk: 4 frames per step cost more FLOPs
    assert (t1["frames_per_chunk"], t4["frames_per_chunk"]) == (1, 4) and t1[1]["over_first"] == 1
    assert t4[1]["step_s"] > 0 and t4[1]["flops_over_first"] > 1.5
    assert out["cache"]["rows"][0]["ratio"] > 0
    decoder = out["cache"]["decoder"][0]
    assert decoder["ratio"] > 0 and decoder["flop_ratio"] > 1  # the prefix cache does fewer FLOPs
    assert all(out["env"][p]["vector"] > 0 and out["env"][p]["latent"] > 0 for p in ("fp32", "bf16-weights"))
    assert out["memory"]["marks"][-1]["rss"] > 0 and out["memory"]["marks"][-1]["state_bytes"] > 0
    assert all(out["cem"][p]["decision_s"] > 0 for p in ("fp32", "bf16", "bf16-weights"))
    assert all(out["cem"]["goal"][p]["decision_s"] > 0 for p in ("fp32", "bf16", "bf16-weights"))
    assert all(v > 0 for k, v in out["threads"][0].items() if k.startswith("threads_"))
    w = out["bf16_weights"]
    assert w["rows"][0]["bf16_weights"] > 0 and 0 < w["state_rel_diff"] < 0.2  # bf16 rounds, and only rounds
    assert w["decoded_rows"][0]["bf16_weights"] > 0 and 0 <= w["frame_abs_diff"] < 32  # the frames stay close


def test_cli_bench(tmp_path):
    from pan_gym.cli import app

    path = tmp_path / "bench.json"
    res = CliRunner().invoke(
        app,
        [
            "bench",
            "--model",
            "tiny",
            "--config",
            "",
            "--sections",
            "peak,components,batch",
            "--batches",
            "1",
            "--precisions",
            "fp32",
            "--repeats",
            "1",
            "--json",
            str(path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "### components" in res.output and "### batch" in res.output
    assert re.search(r"\| 1 \| [0-9.]+ \(", res.output)
    assert json.loads(path.read_text())["batch"][0]["fp32"]["step_s"] > 0


def test_cli_rejects_bad_sections():
    from pan_gym.cli import app

    res = CliRunner().invoke(app, ["bench", "--model", "tiny", "--sections", "nope"])
    assert res.exit_code != 0
