"""Snapshots of an env as users hold it: the simulation plus the wrappers ``gym.make`` puts around it.

``env.unwrapped.get_state()`` holds the whole simulation (backbone cache, decoder window, RNGs, episode fields),
but ``gym.make`` wraps the env in Gymnasium's ``TimeLimit`` and ``OrderEnforcing``, which keep counters of their
own. ``get_state(env)`` / ``set_state(env, snap)`` take any wrapper chain over a ``PanWorldModelEnv`` and save and
restore those counters too, so an undo does not truncate an episode early. Wrappers that hold no state (the
action and observation wrappers of ``pan_gym.env.wrappers``, the env checker) pass through; a wrapper with a
``get_state``/``set_state`` of its own is asked for it.

Example:
    >>> import gymnasium as gym, numpy as np, pan_gym
    >>> env = gym.make("pan_gym/BabyAI-v0", model="tiny", world=None, max_episode_steps=3)
    >>> _ = env.reset(seed=0, options={"observation": np.zeros((64, 64, 3), np.uint8)})
    >>> _ = env.step("turn left")
    >>> snap = get_state(env)
    >>> _ = env.step("turn left"); truncated = env.step("turn left")[3]
    >>> set_state(env, snap)
    >>> env.step("turn left")[3], env.step("turn left")[3]  # the third step truncates, as before the undo
    (False, True)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

# wrapper class -> the attributes that decide its future
_COUNTERS: dict[type, tuple[str, ...]] = {
    gym.wrappers.TimeLimit: ("_elapsed_steps",),
    gym.wrappers.OrderEnforcing: ("_has_reset",),
}


def _chain(env: gym.Env) -> list[gym.Env]:
    """The env and every wrapper under it, outermost first."""
    chain = [env]
    while isinstance(chain[-1], gym.Wrapper):
        chain.append(chain[-1].env)
    return chain


def _layer_state(layer: gym.Env) -> Any:
    for cls, names in _COUNTERS.items():
        if isinstance(layer, cls):
            return {n: getattr(layer, n) for n in names}
    method = getattr(type(layer), "get_state", None)
    return layer.get_state() if method is not None else None


def get_state(env: gym.Env) -> dict[str, Any]:
    """A snapshot of ``env`` and every wrapper around its simulation (see the module docstring)."""
    chain = _chain(env)
    return {"layers": [type(layer).__name__ for layer in chain], "states": [_layer_state(x) for x in chain]}


def set_state(env: gym.Env, snapshot: dict[str, Any]) -> None:
    """Restore a ``get_state(env)`` snapshot, taken on the same wrapper chain; the inner env checks its part
    whole first (``PanWorldModelEnv.set_state``), so a bad snapshot raises ``ValueError`` and changes nothing."""
    chain = _chain(env)
    names = [type(layer).__name__ for layer in chain]
    if not isinstance(snapshot, dict) or snapshot.get("layers") != names:
        got = snapshot.get("layers") if isinstance(snapshot, dict) else type(snapshot).__name__
        raise ValueError(f"set_state: the snapshot was taken on wrappers {got}, this env has {names}")
    for layer, state in reversed(list(zip(chain, snapshot["states"], strict=True))):  # the simulation first
        if any(isinstance(layer, cls) for cls in _COUNTERS):
            for name, value in state.items():
                setattr(layer, name, value)
        elif state is not None:
            layer.set_state(state)
