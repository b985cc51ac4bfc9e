"""Wrappers for off-the-shelf RL: a discrete menu of language actions, the last frame as the observation, and a
stable-baselines3 ``VecEnv`` over the native batched vector env.

Example:
    >>> from pan_gym.env.world_model_env import PanWorldModelEnv
    >>> import numpy as np
    >>> env = PanWorldModelEnv(model="tiny", world=None)
    >>> env = LastFrame(DiscreteLanguageActions(env, ["turn left", "turn right", "go forward"]))
    >>> env.action_space, env.observation_space.shape
    (Discrete(3), (64, 64, 3))
    >>> obs, _ = env.reset(seed=0, options={"observation": np.zeros((64, 64, 3), np.uint8)})
    >>> obs, reward, terminated, truncated, info = env.step(2)
    >>> info["action"], obs.shape
    ('go forward', (64, 64, 3))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

from pan_gym.env.spaces import check_action


def _check_menu(menu: Sequence[str]) -> list[str]:
    if isinstance(menu, str) or len(menu) == 0:
        raise ValueError("menu must be a non-empty sequence of language actions")
    for a in menu:
        check_action(a)  # raises on an invalid phrasing
    return list(menu)


class DiscreteLanguageActions(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """A fixed menu of phrasings → ``Discrete(len(menu))``; action ``i`` sends ``menu[i]`` to the env."""

    def __init__(self, env: gym.Env, menu: Sequence[str]):
        gym.utils.RecordConstructorArgs.__init__(self, menu=list(menu))
        gym.ActionWrapper.__init__(self, env)
        self.menu = _check_menu(menu)
        self.action_space = spaces.Discrete(len(self.menu))

    def action(self, action: Any) -> str:
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an int in [0, {len(self.menu)}), got {action!r}")
        return self.menu[int(action)]


class LastFrame(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """obs → the last imagined frame uint8 (H, W, 3), e.g. for CNN policies (not for latent-only envs)."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        box = env.observation_space["frames"]
        if box.shape[0] == 0:
            raise ValueError("LastFrame needs decoded frames: the env is latent_only (frames of length 0)")
        self.observation_space = spaces.Box(0, 255, box.shape[1:], np.uint8)

    def observation(self, observation: dict) -> np.ndarray:
        return observation["frames"][-1]


class SB3VecEnv(VecEnv):
    """A stable-baselines3 ``VecEnv`` over a ``PanWorldModelVectorEnv``: one batched model call per step.

    Actions are indices into ``menu``; observations are the last frame (``obs="last_frame"``, (N, H, W, 3)) or
    the predicted state (``obs="state"``, (N, Q, D)). Finished sub-envs carry ``terminal_observation`` and
    ``TimeLimit.truncated`` in their info, as SB3 expects; ``set_options`` passes reset options through.

    Example:
        >>> import numpy as np
        >>> from pan_gym.env.vector import PanWorldModelVectorEnv
        >>> venv = SB3VecEnv(PanWorldModelVectorEnv(2, model="tiny", world=None), ["turn left", "go forward"])
        >>> venv.set_options({"observation": np.zeros((64, 64, 3), np.uint8)})
        >>> venv.reset().shape
        (2, 64, 64, 3)
    """

    def __init__(self, vec_env, menu: Sequence[str], obs: str = "last_frame"):
        if obs not in ("last_frame", "state"):
            raise ValueError(f"obs must be 'last_frame' or 'state', got {obs!r}")
        single = vec_env.single_observation_space
        if obs == "last_frame" and single["frames"].shape[0] == 0:
            raise ValueError("obs='last_frame' needs decoded frames: the vector env is latent_only")
        self.vec_env, self.menu, self.obs_key = vec_env, _check_menu(menu), obs
        box = single["frames"].shape[1:]
        space = spaces.Box(0, 255, box, np.uint8) if obs == "last_frame" else single["state"]
        self._actions: np.ndarray | None = None
        super().__init__(vec_env.num_envs, space, spaces.Discrete(len(self.menu)))

    def _obs(self, obs: dict) -> np.ndarray:
        return obs["frames"][:, -1] if self.obs_key == "last_frame" else obs["state"]

    def reset(self):
        seed = self._seeds[0]
        options = self._options[0] or None
        obs, infos = self.vec_env.reset(seed=seed, options=options)
        self.reset_infos = _unbatch(infos, self.num_envs)
        self._reset_seeds()
        return self._obs(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions).reshape(self.num_envs)

    def step_wait(self):
        texts = [self.menu[int(a)] for a in self._actions]
        obs, rewards, terminated, truncated, infos = self.vec_env.step(texts)
        out = _unbatch(infos, self.num_envs)
        for i in np.flatnonzero(terminated | truncated):
            out[i]["terminal_observation"] = self._obs(
                {k: v[None] for k, v in infos["final_obs"][i].items()}
            )[0]
            out[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return self._obs(obs), rewards, terminated | truncated, out

    def close(self) -> None:
        self.vec_env.close()

    def get_images(self):
        frames = self.vec_env.render()
        return list(frames) if frames is not None else [None] * self.num_envs

    # The sub-envs are rows of one batched env, not objects: attributes and methods are the batched env's. A
    # call for a subset of the rows cannot be honoured, so it is refused rather than applied to every row.
    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.vec_env, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        self._all_rows(indices, "set_attr")
        setattr(self.vec_env, attr_name, value)

    def env_method(self, method_name: str, *args, indices=None, **kwargs) -> list[Any]:
        """The batched env's method, called once; its result is given for each sub-env of ``indices``."""
        self._all_rows(indices, "env_method")
        result = getattr(self.vec_env, method_name)(*args, **kwargs)
        return [result for _ in self._get_indices(indices)]

    def _all_rows(self, indices, what: str) -> None:
        if sorted(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ValueError(
                f"{what} acts on the batched env as a whole, so it needs all {self.num_envs} sub-envs "
                f"(indices=None), got {indices!r}"
            )

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]


def _unbatch(infos: dict, n: int) -> list[dict]:
    """Gymnasium's batched info dict (arrays + ``_key`` masks) -> one dict per sub-env (as SB3 wants)."""
    out: list[dict] = [{} for _ in range(n)]
    for key, value in infos.items():
        if key.startswith("_") or key in ("final_obs", "final_info"):
            continue
        mask = infos.get(f"_{key}", np.ones(n, bool))
        for i in range(n):
            if mask[i]:
                out[i][key] = _unbatch(value, n)[i] if isinstance(value, dict) else value[i]
    return out
