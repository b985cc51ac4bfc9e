"""The env core: the single env is its one-row view, actions are checked once, a failed reward undoes the step,
the world's reset info is passed on."""

from __future__ import annotations

import numpy as np
import pytest

from pan_gym.env import spaces
from pan_gym.env.core import Imagination
from pan_gym.env.vector import PanWorldModelVectorEnv
from pan_gym.env.world_model_env import PanWorldModelEnv

ACTIONS = ["turn left", "go to the red ball", "pick up the key", "move forward"]


def test_the_single_env_is_the_vector_envs_one_row_view(world):
    single = PanWorldModelEnv(model="tiny", world=world)
    vector = PanWorldModelVectorEnv(1, model="tiny", world=world, termination_threshold=2.0)  # no autoreset
    (obs, info), (vobs, vinfo) = single.reset(seed=7), vector.reset(seed=7)
    assert np.array_equal(obs["frames"], vobs["frames"][0]) and info["mission"] == vinfo["mission"][0]
    for a in ACTIONS:
        obs, r, *_ = single.step(a)
        vobs, vr, *_ = vector.step([a])
        assert np.array_equal(obs["frames"], vobs["frames"][0]) and np.array_equal(
            obs["state"], vobs["state"][0]
        )
        assert r == float(vr[0])


def test_an_action_is_checked_once_per_step(monkeypatch, world):
    calls = []
    check = spaces.check_action
    monkeypatch.setattr(spaces, "check_action", lambda a, *args: calls.append(a) or check(a, *args))
    env = PanWorldModelEnv(model="tiny", world=world)
    env.reset(seed=0)
    env.step("Turn LEFT.")
    envs = PanWorldModelVectorEnv(3, model="tiny", world=world)
    envs.reset(seed=0)
    envs.step(["turn left", "go forward", "turn right"])
    assert calls == ["Turn LEFT.", "turn left", "go forward", "turn right"]


def test_a_failing_reward_callable_undoes_the_whole_step(world):
    fail = {"now": False}

    def reward_fn(obs, action, info):
        if fail["now"]:
            raise RuntimeError("the user's reward failed")
        return float(obs["frames"].mean())

    core = Imagination(2, model="tiny", world=world, reward_fn=reward_fn)
    ref = Imagination(2, model="tiny", world=world, reward_fn=reward_fn)
    for c in (core, ref):
        c.reset(np.random.default_rng(0), c.parse_options(None))
        c.step(ACTIONS[:2])
    fail["now"] = True
    with pytest.raises(RuntimeError, match="the user's reward failed"):
        core.step(ACTIONS[2:])
    assert core.steps.tolist() == [1, 1]
    fail["now"] = False
    (obs, r, *_), (obs_ref, r_ref, *_) = core.step(ACTIONS[2:]), ref.step(ACTIONS[2:])
    assert np.array_equal(obs["frames"], obs_ref["frames"]) and np.array_equal(r, r_ref)


def test_reset_options_are_checked_whole_before_anything_changes(world, frame):
    core = Imagination(2, model="tiny", world=None)
    core.reset(np.random.default_rng(0), core.parse_options({"observation": frame, "mission": ["a", "b"]}))
    with pytest.raises(ValueError, match="2 entries|holds 3"):
        core.parse_options({"observation": frame, "mission": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="no world"):
        core.parse_options({"mission": "a"})
    with pytest.raises(ValueError, match="unknown reset options"):
        core.parse_options({"observation": frame, "seed": 1})
    assert core.missions == ["a", "b"] and core.started


def test_the_worlds_reset_info_reaches_the_user_under_world(world, frame):
    venv = PanWorldModelVectorEnv(
        2, model="tiny", world=world, max_episode_steps=1, termination_threshold=2.0
    )
    _, infos = venv.reset(seed=0)
    assert list(infos["world"]["mission"]) == list(infos["mission"]) and infos["world"]["level"][0]
    _, _, _, truncated, infos = venv.step(["turn left", "turn left"])
    # the autoreset episodes' own reset info, not the finished ones'
    assert truncated.all() and list(infos["world"]["mission"]) == list(infos["mission"])
    _, info = PanWorldModelEnv(model="tiny", world=world).reset(seed=0, options={"observation": frame})
    assert "world" not in info  # a start frame the user gave: no world was reset
