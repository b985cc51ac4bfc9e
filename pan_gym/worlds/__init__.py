"""Worlds: real simulators behind language actions (see ``base.World``)."""

from __future__ import annotations

import importlib

from pan_gym.worlds.base import World, normalize_action

# name -> "module:Class"; imported lazily so that e.g. MuJoCo loads only when Meta-World is asked for.
WORLDS: dict[str, str] = {
    "babyai": "pan_gym.worlds.babyai:BabyAIWorld",
    "metaworld": "pan_gym.worlds.metaworld:MetaWorldWorld",
}


def make_world(name: str, **kwargs) -> World:
    """Build a world by name (``babyai`` or ``metaworld``); keyword arguments go to the world's constructor."""
    if name not in WORLDS:
        raise ValueError(f"unknown world {name!r}; known worlds: {sorted(WORLDS)}")
    module, cls = WORLDS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)


__all__ = ["WORLDS", "World", "make_world", "normalize_action"]
