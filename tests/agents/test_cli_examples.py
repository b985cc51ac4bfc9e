"""``pan-gym plan`` end to end, the argument parser, and every example run with a tiny budget (in process)."""

import json
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agents._args import parse_args
from pan_gym.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def plan(*args):
    result = CliRunner().invoke(app, ["plan", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_plan_cli_oracle_and_random():
    r = plan("--planner", "oracle-pss", "--seeds", "1000000:1000004")
    assert r["n"] == 4 and r["success_rate"] == 1.0 and r["seconds_per_decision"] >= 0
    assert set(r) >= {"success_rate", "mean_steps", "seconds_per_decision", "planner", "seeds"}
    assert r["model"] is None  # the true simulator plans, not a model
    r = plan("--planner", "random", "--seeds", "1000000:1000002", "--max-steps", "2")
    assert r["n"] == 2 and 1 <= r["mean_steps"] <= 2 and r["model"] is None


def test_plan_cli_model_planner_tiny():
    r = plan("--planner", "cem", "--model", "tiny", "--seeds", "1000000:1000001", "--samples", "4",
             "--iterations", "1", "--horizon", "2", "--elites", "2", "--max-steps", "2")  # fmt: skip
    assert r["n"] == 1 and r["model"] == "tiny"
    r = plan("--planner", "pss", "--model", "tiny", "--seeds", "1000000:1000001", "--max-steps", "1",
             "--precision", "bf16", "--threads", "2")  # fmt: skip
    assert r["n"] == 1


def test_plan_cli_primitive_menu_and_frame_scorer():
    goto = ("--levels", "BabyAI-GoToLocal-v0", "--menu", "primitives", "--max-steps", "12")
    r = plan("--planner", "oracle-pss", "--scorer", "mission-distance", "--seeds", "1000000:1000004", *goto)
    assert r["menu"] == "primitives" and r["scorer"] == "mission-distance" and r["success_rate"] >= 0.75
    r = plan("--planner", "cem", "--model", "tiny", "--scorer", "mission-distance", "--seeds", "1000000:1000001",
             "--samples", "4", "--iterations", "1", "--horizon", "2", "--elites", "2", *goto[:4], "--max-steps", "1")  # fmt: skip
    assert r["n"] == 1


def test_plan_cli_errors():
    result = CliRunner().invoke(app, ["plan", "--planner", "random", "--seeds", "0:3"])
    assert result.exit_code == 1 and "overlap the training seeds" in result.output
    result = CliRunner().invoke(app, ["plan", "--planner", "beam"])
    assert result.exit_code != 0 and "--planner" in result.output
    result = CliRunner().invoke(app, ["plan", "--planner", "pss", "--model", "tiny", "--precision", "fp8"])
    assert result.exit_code == 1 and "precision must be one of" in result.output
    for flag, value in (("--menu", "macros"), ("--scorer", "vlm")):
        result = CliRunner().invoke(app, ["plan", "--planner", "oracle-cem", flag, value])
        assert result.exit_code == 1 and f"unknown {flag[2:]}" in result.output


def test_parse_args_reads_field_docstrings(capsys):
    @dataclass
    class Args:
        steps: int = 10
        """how many steps"""
        name: str | None = None
        """a name"""
        levels: tuple[str, ...] = ("a",)
        """levels"""
        real: bool = True
        """also real"""

    assert parse_args(Args, ["--steps", "3", "--name", "none", "--levels", "x,y", "--no-real"]) == Args(
        3, None, ("x", "y"), False
    )
    with pytest.raises(SystemExit):
        parse_args(Args, ["--help"])
    assert "how many steps" in capsys.readouterr().out


@pytest.mark.parametrize(
    "script,argv,expect",
    [
        ("rollout_video.py", ["--model", "tiny", "--steps", "1", "--out", "{tmp}/r.gif"], "wrote"),
        (
            "plan_mission.py",
            ["--model", "tiny", "--samples", "4", "--iterations", "1", "--horizon", "2", "--max-steps", "1"],
            "success:",
        ),  # fmt: skip
        ("plan_mission.py", ["--oracle", "--samples", "8", "--iterations", "1"], "success: True"),
        (
            "custom_reward.py",
            ["--model", "tiny", "--samples", "4", "--iterations", "1", "--steps", "1"],
            "true reward",
        ),
        (
            "ppo_in_imagination.py",
            ["--model", "tiny", "--total-timesteps", "32", "--eval-episodes", "1"],
            "real",
        ),
        (
            "gym_cartpole.py",
            "--out {tmp}/cp --episodes 4 --steps 2 --preset tiny --threads 1 --probe-starts 2 --plan-episodes 1 "
            "--max-steps 3".split(),
            "imagined_mae_share_of_band",
        ),
    ],
)
def test_examples_run(script, argv, expect, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("pan_gym.worlds.GYM_OPTIONS", {})  # what an example sets for gym: worlds stays in it
    monkeypatch.setattr(sys, "argv", [script, *(a.format(tmp=tmp_path) for a in argv)])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    assert expect in capsys.readouterr().out


def test_imagination_ppo_pieces():
    from agents.imagination_ppo import MENU, MENUS, VOCAB, Args, TrainSeeds, main, mission_vector
    from pan_gym.worlds import make_world

    v = mission_vector("pick up the red ball on your left")
    assert v.shape == (len(VOCAB),) and {VOCAB[i] for i in v.nonzero()[0]} == {"pick", "red", "ball", "left"}
    assert len(MENU) == 39 and len(set(MENU)) == 39
    assert set(MENUS["walk"]) < set(MENU) and not any(a.startswith("go to") for a in MENUS["walk"])
    world = TrainSeeds(make_world("babyai"))
    assert world.reset(seed=1_000_002)[1]["mission"] == make_world("babyai").reset(seed=2)[1]["mission"]
    with pytest.raises(ValueError, match="nothing to train"):
        main(Args(imagination=False, real=False))
    with pytest.raises(ValueError, match="menu must be one of all, walk"):
        main(Args(menu="primitive"))


def test_imagination_ppo_primitives_with_the_frame_reward():
    from agents.imagination_ppo import Args, main, world_env

    args = Args(model="tiny", levels=("BabyAI-GoToLocal-v0",), menu="primitives", reward="mission-distance",
                total_timesteps=32, num_envs=2, n_steps=16, batch_size=16, eval_episodes=1)  # fmt: skip
    out = main(args)
    assert 0 <= out["imagination"]["success_rate"] <= 1 and 0 <= out["real"]["success_rate"] <= 1
    env = world_env(args)
    env.reset(seed=0)
    # a turn: no GoTo mission is done by it, the reward is the nudge
    _, reward, terminated, _, _ = env.step(0)
    assert not terminated and -0.2 <= reward < 0
    with pytest.raises(ValueError, match="reward must be"):
        main(Args(reward="vlm"))
