"""Wrappers: discrete language menus, last frame, the SB3 VecEnv adapter; SB3's checker and a short PPO run."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import VecEnv

from pan_gym.env.vector import PanWorldModelVectorEnv
from pan_gym.env.world_model_env import PanWorldModelEnv
from pan_gym.env.wrappers import DiscreteLanguageActions, LastFrame, SB3VecEnv

MENU = ["turn left", "turn right", "go forward", "pick up the ball"]


def test_discrete_and_last_frame(world):
    env = DiscreteLanguageActions(PanWorldModelEnv(model="tiny", world=world), MENU)
    assert env.action_space == spaces.Discrete(4)
    env.reset(seed=0)
    obs, *_, info = env.step(np.int64(3))
    assert info["action"] == "pick up the ball" and obs["frames"].shape == (2, 64, 64, 3)
    with pytest.raises(ValueError, match=r"int in \[0, 4\)"):
        env.step(4)
    with pytest.raises(ValueError, match="letter or digit"):
        DiscreteLanguageActions(env.env, ["turn left", ""])
    with pytest.raises(ValueError, match="latent_only"):
        LastFrame(PanWorldModelEnv(model="tiny", world=world, latent_only=True))
    img = LastFrame(env)
    obs, _ = img.reset(seed=0)
    assert img.observation_space.contains(obs)


def test_sb3_check_env_and_ppo(world):
    env = LastFrame(DiscreteLanguageActions(PanWorldModelEnv(model="tiny", world=world), MENU))
    sb3_check_env(env, warn=True)
    model = PPO("CnnPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    assert model.num_timesteps >= 256


def test_sb3_vec_env(world):
    vec = PanWorldModelVectorEnv(3, model="tiny", world=world, max_episode_steps=2, termination_threshold=2.0)
    venv = SB3VecEnv(vec, MENU)
    assert isinstance(venv, VecEnv) and venv.observation_space.shape == (64, 64, 3)
    venv.seed(0)
    obs = venv.reset()
    assert obs.shape == (3, 64, 64, 3) and venv.reset_infos[0]["mission"]
    venv.step(np.array([0, 1, 2]))
    obs, rewards, dones, infos = venv.step(np.array([2, 2, 3]))
    assert dones.all() and infos[1]["TimeLimit.truncated"]
    assert infos[0]["terminal_observation"].shape == (64, 64, 3) and infos[2]["action"] == "pick up the ball"
    state_venv = SB3VecEnv(vec, MENU, obs="state")
    assert state_venv.reset().shape == (3, 4, 32)
    model = PPO("CnnPolicy", venv, n_steps=32, batch_size=48, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=96)


def _checked(env):
    import warnings

    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")
        warnings.filterwarnings("ignore", message=".*different from the unwrapped.*")
        check_env(env)
    if isinstance(env.action_space, spaces.Discrete):  # SB3 has no Text action spaces: the menu makes them
        sb3_check_env(env, warn=False)


@pytest.mark.parametrize("stack", ["discrete", "last_frame", "both"])
def test_every_wrapper_passes_gymnasium_and_sb3_checkers_on_a_made_env(world, stack):
    import gymnasium as gym

    import pan_gym  # noqa: F401  (registers the ids)

    env = gym.make("pan_gym/BabyAI-v0", model="tiny", world=world)
    if stack in ("discrete", "both"):
        env = DiscreteLanguageActions(env, MENU)
    if stack in ("last_frame", "both"):
        env = LastFrame(env)
    _checked(env)
    assert env.spec.additional_wrappers[-1].kwargs is not None  # Gymnasium can recreate the stack


def test_sb3_vec_env_env_method_refuses_a_subset_of_rows(world):
    venv = SB3VecEnv(PanWorldModelVectorEnv(3, model="tiny", world=world), MENU)
    assert venv.env_method("render") == [None, None, None]  # the batched env's method, once, for each row
    with pytest.raises(ValueError, match="all 3 sub-envs"):
        venv.env_method("render", indices=[1])
    with pytest.raises(ValueError, match="all 3 sub-envs"):
        venv.set_attr("render_mode", None, indices=[0, 2])
