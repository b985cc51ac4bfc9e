"""Worlds: real simulators behind language actions (see ``base.World``)."""

from __future__ import annotations

import importlib

from pan_gym.worlds.base import World, normalize_action

# name -> "module:Class"; imported lazily so that e.g. MuJoCo loads only when Meta-World is asked for.
WORLDS: dict[str, str] = {
    "babyai": "pan_gym.worlds.babyai:BabyAIWorld",
    "metaworld": "pan_gym.worlds.metaworld:MetaWorldWorld",
}


# "gym:<id>" -> GymWorld keywords every later make_world of that name gets (set by the CLI's --actions, or by
# configure_world), so tools that rebuild a world from its name rebuild the same one
GYM_OPTIONS: dict[str, dict] = {}
ACTIONS_HELP = (
    "gym:<id> worlds: the env's action names ('push left,push right'), named bins for Box actions "
    "('push left=-2,push right=2'), or a .json/.toml file of them (default: 'action 0', ...)."
)


def configure_world(name: str, actions: str | None) -> None:
    """Record the CLI's ``--actions`` for a ``gym:`` world (``gym_world.options_from_text``); a no-op when None.
    ``ValueError`` for ``--actions`` on a world that takes no action names."""
    if actions is None:
        return
    if not name.startswith("gym:"):
        raise ValueError(f"--actions names the actions of a gym:<id> world; {name!r} has its own language")
    from pan_gym.worlds.gym_world import options_from_text

    GYM_OPTIONS[name] = options_from_text(actions)


def make_world(name: str, **kwargs) -> World:
    """Build a world by name (``babyai``, ``metaworld``, or ``gym:<Gymnasium id>`` for any env with an
    ``rgb_array`` render: ``GymWorld``); keyword arguments go to the world's constructor.

    Example:
        >>> make_world("gym:CartPole-v1", actions=["push left", "push right"]).actions()
        ['push left', 'push right']
    """
    if name.startswith("gym:"):
        from pan_gym.worlds.gym_world import GymWorld

        return GymWorld(name.removeprefix("gym:"), **{**GYM_OPTIONS.get(name, {}), **kwargs})
    if name not in WORLDS:
        raise ValueError(f"unknown world {name!r}; known worlds: {sorted(WORLDS)}, or gym:<Gymnasium id>")
    module, cls = WORLDS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)


def world_with_levels(name: str, levels: str = "") -> World:
    """``make_world(name)`` playing ``levels``: comma-separated BabyAI levels or Meta-World tasks ("" = the world's
    own); ``ValueError`` for levels on a world that has none.

    Example:
        >>> world_with_levels("metaworld", "reach-v3, push-v3").tasks
        ('reach-v3', 'push-v3')
    """
    names = tuple(x.strip() for x in levels.split(",") if x.strip())
    if not names:
        return make_world(name)
    if name not in ("babyai", "metaworld"):
        raise ValueError(f"levels apply to babyai and metaworld, not {name!r}")
    return make_world(name, **{"levels" if name == "babyai" else "tasks": names})


__all__ = [
    "ACTIONS_HELP",
    "GYM_OPTIONS",
    "WORLDS",
    "World",
    "configure_world",
    "make_world",
    "normalize_action",
    "world_with_levels",
]
