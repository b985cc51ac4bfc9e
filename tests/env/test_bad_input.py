"""Bad input raises a clear ValueError/RuntimeError and leaves the env usable (and unchanged)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pan_gym.env.vector import PanWorldModelVectorEnv
from pan_gym.env.world_model_env import PanWorldModelEnv
from pan_gym.model.glp import PanWorldModel


@pytest.fixture
def env(world):
    e = PanWorldModelEnv(model="tiny", world=world)
    e.reset(seed=0)
    return e


@pytest.mark.parametrize(
    "action,match",
    [
        ("", "letter or digit"),
        ("   \t ", "letter or digit"),
        ("...", "letter or digit"),
        ("x" * 129, "at most 128"),
        (3, "must be a str"),
        (None, "must be a str"),
        (["turn left"], "must be a str"),
        ("go to the ball ☃", "outside the action charset"),
    ],
)
def test_bad_actions(env, action, match):
    snap = env.get_state()
    with pytest.raises(ValueError, match=match):
        env.step(action)
    assert env.get_state()["steps"] == snap["steps"]
    env.step("turn left")  # still usable


@pytest.mark.parametrize(
    "frame,match",
    [
        (np.zeros((64, 64), np.uint8), r"\(H, W, 3\)"),
        (np.zeros((1, 64, 64, 3), np.uint8), r"\(H, W, 3\)"),
        (np.zeros((64, 64, 4), np.uint8), r"\(H, W, 3\)"),
        (np.zeros((64, 64, 3), np.float32), "uint8"),
        (np.zeros((0, 64, 3), np.uint8), r"\(H, W, 3\)"),
        ([[0, 0, 0]], "numpy array"),
    ],
)
def test_bad_frames(env, frame, match):
    with pytest.raises(ValueError, match=match):
        env.reset(options={"observation": frame})
    with pytest.raises(ValueError, match=match.replace("numpy array", "goal|numpy array")):
        PanWorldModelEnv(model="tiny", world=None, reward="goal").reset(
            options={"observation": np.zeros((64, 64, 3), np.uint8), "goal": frame}
        )
    env.step("turn left")  # the episode in progress is untouched


def test_bad_options_and_missions(env):
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"obs": 1})
    with pytest.raises(ValueError, match="mission must be a str"):
        env.reset(options={"mission": 7})
    with pytest.raises(ValueError, match="no world"):
        PanWorldModelEnv(model="tiny", world=None).reset()
    with pytest.raises(ValueError, match="reward must be"):
        PanWorldModelEnv(model="tiny", world=None, reward="nope")
    with pytest.raises(ValueError, match="render_mode"):
        PanWorldModelEnv(model="tiny", world=None, render_mode="human")
    env.step("turn left")


def test_step_before_reset(world):
    env = PanWorldModelEnv(model="tiny", world=world)
    with pytest.raises(RuntimeError, match="before reset"):
        env.step("turn left")
    with pytest.raises(RuntimeError, match="before reset"):
        env.get_state()
    env.reset(seed=0)
    env.step("turn left")
    venv = PanWorldModelVectorEnv(2, model="tiny", world=world)
    with pytest.raises(RuntimeError, match="before reset"):
        venv.step(["a", "b"])
    venv.reset(seed=0)
    with pytest.raises(ValueError, match="list or tuple of 2 str"):
        venv.step(["turn left"])
    with pytest.raises(ValueError, match="letter or digit"):
        venv.step(["turn left", ""])
    venv.step(["turn left", "turn right"])


@pytest.mark.parametrize("part", ["backbone", "decoder"])
def test_nan_in_model_output_is_rolled_back(world, part):
    torch.manual_seed(0)
    model = PanWorldModel.from_preset("tiny").eval()  # private: its weights get poisoned below
    env = PanWorldModelEnv(model=model, world=world)
    env.reset(seed=0)
    for a in ["turn left", "go forward", "turn left"]:  # the next step rebuilds the capped history (3 rounds)
        env.step(a)
    snap = env.get_state()
    expected = [env.step(a)[0] for a in ["turn right", "go forward", "turn left"]]
    env.set_state(snap)
    param = model.backbone.queries if part == "backbone" else model.decoder.parameters().__next__()
    saved = param.data.clone()
    for a in ["turn right", "go forward"]:  # fail twice in a row: nothing may accumulate
        param.data.fill_(float("nan"))
        with pytest.raises(RuntimeError, match="non-finite"):
            env.step(a)
        param.data.copy_(saved)
    got = [env.step(a)[0] for a in ["turn right", "go forward", "turn left"]]
    for x, y in zip(expected, got, strict=True):
        assert np.array_equal(x["frames"], y["frames"]) and np.array_equal(x["state"], y["state"])


def test_nan_in_vector_env_is_rolled_back(world):
    torch.manual_seed(0)
    model = PanWorldModel.from_preset("tiny").eval()
    venv = PanWorldModelVectorEnv(3, model=model, world=world, termination_threshold=2.0)
    venv.reset(seed=0)
    venv.step(["turn left"] * 3)
    param = model.decoder.parameters().__next__()
    saved = param.data.clone()
    param.data.fill_(float("nan"))
    with pytest.raises(RuntimeError, match="non-finite"):
        venv.step(["go forward"] * 3)
    param.data.copy_(saved)
    obs, *_ = venv.step(["go forward"] * 3)
    ref = PanWorldModelVectorEnv(3, model=model, world=world, termination_threshold=2.0)
    ref.reset(seed=0)
    ref.step(["turn left"] * 3)
    obs_ref, *_ = ref.step(["go forward"] * 3)
    assert np.array_equal(obs["frames"], obs_ref["frames"]) and np.array_equal(obs["state"], obs_ref["state"])
