"""Any Gymnasium env as a world: action names and bins, frames, language, snapshots, and the whole pipeline."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import pan_gym  # noqa: F401  (registers the ids)
from pan_gym.worlds import World, configure_world, make_world
from pan_gym.worlds.gym_world import GymWorld, options_from_text


def test_discrete_actions_take_names_or_generic_ones():
    world = make_world("gym:CartPole-v1", actions=["Push left", "push right"])
    assert isinstance(world, World) and world.name == "gym:CartPole-v1"
    assert world.actions() == ["push left", "push right"] and world.actions("environment") == []
    assert world.env_action("push right") == 1
    assert make_world("gym:FrozenLake-v1").actions() == [f"action {i}" for i in range(4)]
    with pytest.raises(ValueError, match="list of 2 action names"):
        GymWorld("CartPole-v1", actions=["only one"])
    with pytest.raises(ValueError, match="unknown action 'jump'"):
        world.step("jump")


def test_box_actions_go_through_named_bins():
    world = make_world("gym:Pendulum-v1")
    assert world.actions() == ["no action", "action 0 low", "action 0 high"]
    assert world.env_action("action 0 high").tolist() == [2.0]
    named = make_world("gym:MountainCarContinuous-v0", actions={"push left": [-1.0], "push right": [1.0]})
    frames, *_, info = named.step("push right")
    assert frames.shape == (4, 64, 64, 3) and frames.dtype == np.uint8 and info["action"] == "push right"
    with pytest.raises(ValueError, match="outside the action space"):
        GymWorld("Pendulum-v1", actions={"too hard": [5.0]})


def test_paraphrases_parse_back_and_split():
    world = GymWorld(
        "CartPole-v1",
        actions=["push left", "push right"],
        paraphrases={"push left": ["shove the cart left"]},
        heldout={"push left": ["nudge it to the left"]},
    )
    assert world.paraphrases("train")["push left"] == ["push left", "shove the cart left"]
    assert world.paraphrases("heldout") == {"push left": ["nudge it to the left"]}
    world.reset(seed=0)
    assert world.step("Nudge it to the left.")[-1]["action"] == "push left"
    with pytest.raises(ValueError, match="unknown actions"):
        GymWorld("CartPole-v1", actions=["a", "b"], paraphrases={"c": ["x"]})


@pytest.mark.parametrize(
    "env_id, snapshot",
    [
        ("CartPole-v1", "deep copy"),
        ("Pendulum-v1", "deep copy"),
        ("FrozenLake-v1", "deep copy"),
        ("InvertedPendulum-v5", "MuJoCo qpos/qvel"),
    ],
)
def test_a_restored_snapshot_gives_identical_frames(env_id, snapshot):
    world = make_world(f"gym:{env_id}")
    assert snapshot in world._snapshot.name
    world.reset(seed=3)
    world.step(world.actions()[0])
    snap = world.get_state()
    a = [world.step(x)[0] for x in world.actions()]
    world.set_state(snap)
    b = [world.step(x)[0] for x in world.actions()]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(a[0], x) for x in a[1:]) or env_id == "FrozenLake-v1"  # actions differ


def test_steps_per_action_make_a_real_chunk_and_success_by_survival():
    world = GymWorld("CartPole-v1", steps_per_action=4, frames_per_action=4, success="survive")
    world.reset(seed=0)
    frames = world.step("action 0")[0]
    assert len({f.tobytes() for f in frames}) > 1  # four primitive steps: not one frame repeated
    for _ in range(50):
        *_, terminated, _, info = world.step("action 0")
        if terminated:
            break
    assert terminated and info["success"] is False  # a pole that falls is a failure


def test_cli_options_from_names_bins_and_files(tmp_path):
    assert options_from_text("push left, push right") == {"actions": ["push left", "push right"]}
    assert options_from_text("a=[1,0],b=[0,1]") == {"actions": {"a": [1.0, 0.0], "b": [0.0, 1.0]}}
    (tmp_path / "cp.toml").write_text('actions = ["push left", "push right"]\nsuccess = "survive"\n')
    assert options_from_text(str(tmp_path / "cp.toml"))["success"] == "survive"
    with pytest.raises(ValueError, match="mixes names and bins"):
        options_from_text("a,b=1")
    with pytest.raises(ValueError, match="gym:<id>"):
        configure_world("babyai", "a,b")


def test_collect_train_eval_plan_and_the_imagined_env_on_two_gym_envs(tmp_path, monkeypatch):
    import shlex

    from typer.testing import CliRunner

    from pan_gym.cli import app

    monkeypatch.setattr("pan_gym.worlds.GYM_OPTIONS", {})
    runner = CliRunner()
    for env_id, actions in (("CartPole-v1", "push left,push right"), ("Pendulum-v1", "left=-2,right=2")):
        world, out = f"gym:{env_id}", tmp_path / env_id
        common = f"--world {world} --actions '{actions}'"
        model = f"--model {out}/run/final"
        for line in (
            f"collect {common} --episodes 4 --max-steps 6 --policy random --out {out}/data",
            f"train --data {out}/data --world {world} --preset tiny --steps 2 --batch-size 2 --window 2 "
            f"--out {out}/run --no-progress --no-tensorboard --threads 1",
            f"eval {common} {model} --out {out}/eval/report.json --n-states 2 --rollouts 1 --horizons 3 "
            "--planning-episodes 1 --no-progress",
            f"plan {common} {model} --planner cem --samples 4 --iterations 1 --elites 2 --seeds 1000000:1000001",
            f"demo {common} {model} --steps 2 --out {out}/demo.mp4 --no-progress",
        ):
            result = runner.invoke(app, shlex.split(line))
            assert result.exit_code == 0, (line, result.output, result.exception)
        assert (out / "eval" / "report.md").is_file() and (out / "demo.gif").stat().st_size > 0
        env = gym.make("pan_gym/World-v0", world=make_world(world), model=f"{out}/run/final")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*infinity.*")
            warnings.filterwarnings("ignore", message=".*different from the unwrapped.*")
            check_env(env.unwrapped)
        env.reset(seed=0)
        t = env.unwrapped.model.cfg.frames_per_chunk
        assert env.step(make_world(world).actions()[0])[0]["frames"].shape == (t, 64, 64, 3)
