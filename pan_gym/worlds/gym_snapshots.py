"""How a ``GymWorld`` saves and restores its env: MuJoCo ``qpos``/``qvel``, ALE ``cloneState``, else a deep copy.

Each kind also keeps the wrappers' own attributes (a ``TimeLimit``'s step count). ``GymWorld`` checks at
construction that a restored state reproduces the env's frames.

Example:
    >>> import gymnasium as gym
    >>> snapshot_kind(gym.make("CartPole-v1")).name
    "a deep copy of the env's attributes"
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym


class _Snapshot:
    """How to save and restore one kind of env."""

    name = "a deep copy of the env's attributes"
    _SHARED = ("env", "_env", "spec", "_cached_spec")  # a wrapper's inner env is its own layer

    def get(self, env: gym.Env) -> list[dict[str, Any]]:
        return [self._copy_attrs(layer) for layer in _layers(env)]

    def set(self, env: gym.Env, state: list[dict[str, Any]]) -> None:
        for layer, attrs in zip(_layers(env), state, strict=True):
            layer.__dict__.update(self._copy_attrs_dict(attrs))

    def _wrappers(self, env: gym.Env) -> list[dict[str, Any]]:
        """The wrappers' own attributes (a TimeLimit's step count, ...), for snapshots of the unwrapped env's."""
        return [self._copy_attrs(layer) for layer in _layers(env)[:-1]]

    def _set_wrappers(self, env: gym.Env, state: list[dict[str, Any]]) -> None:
        for layer, attrs in zip(_layers(env)[:-1], state, strict=True):
            layer.__dict__.update(self._copy_attrs_dict(attrs))

    def _copy_attrs(self, layer: Any) -> dict[str, Any]:
        return self._copy_attrs_dict({k: v for k, v in vars(layer).items() if k not in self._SHARED})

    @staticmethod
    def _copy_attrs_dict(attrs: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in attrs.items():
            try:
                out[k] = copy.deepcopy(v)
            except Exception:  # a window, a GL context, a pygame clock: left as it is, not part of the state
                pass
        return out


class _MujocoSnapshot(_Snapshot):
    name = "MuJoCo qpos/qvel"

    def get(self, env: gym.Env) -> dict[str, Any]:
        sim = env.unwrapped
        return {
            "qpos": sim.data.qpos.copy(),
            "qvel": sim.data.qvel.copy(),
            "time": float(sim.data.time),
            "rng": copy.deepcopy(sim.np_random.bit_generator.state),
            "wrappers": self._wrappers(env),
        }

    def set(self, env: gym.Env, state: dict[str, Any]) -> None:
        sim = env.unwrapped
        self._set_wrappers(env, state["wrappers"])
        sim.set_state(state["qpos"], state["qvel"])
        sim.data.time = state["time"]
        sim.np_random.bit_generator.state = copy.deepcopy(state["rng"])


class _AleSnapshot(_Snapshot):
    name = "ALE cloneState"

    def get(self, env: gym.Env) -> dict[str, Any]:
        sim = env.unwrapped
        return {
            "ale": sim.ale.cloneState(),
            "rng": copy.deepcopy(sim.np_random.bit_generator.state),
            "wrappers": self._wrappers(env),
        }

    def set(self, env: gym.Env, state: dict[str, Any]) -> None:
        sim = env.unwrapped
        self._set_wrappers(env, state["wrappers"])
        sim.ale.restoreState(state["ale"])
        sim.np_random.bit_generator.state = copy.deepcopy(state["rng"])


def _layers(env: gym.Env) -> list[Any]:
    """The wrappers, outermost first, then the unwrapped env."""
    out = [env]
    while isinstance(out[-1], gym.Wrapper):
        out.append(out[-1].env)
    return out


def snapshot_kind(env: gym.Env) -> _Snapshot:
    sim = env.unwrapped
    if hasattr(sim, "ale") and hasattr(sim.ale, "cloneState"):
        return _AleSnapshot()
    if all(hasattr(sim, a) for a in ("data", "set_state", "init_qpos")):
        return _MujocoSnapshot()
    return _Snapshot()
