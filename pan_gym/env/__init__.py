"""env: the world model as a Gymnasium environment (ids registered by ``pan_gym.env.registration``).

Public names are imported lazily so that ``import pan_gym`` stays cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "PanWorldModelEnv": "pan_gym.env.world_model_env",
    "PanWorldModelVectorEnv": "pan_gym.env.vector",
    "DiscreteLanguageActions": "pan_gym.env.wrappers",
    "LastFrame": "pan_gym.env.wrappers",
    "SB3VecEnv": "pan_gym.env.wrappers",
    "TorchRLEnv": "pan_gym.env.torchrl",
    "get_state": "pan_gym.env.snapshot",
    "set_state": "pan_gym.env.snapshot",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'pan_gym.env' has no attribute {name!r}")
