"""Gymnasium ids for pan-gym, registered on ``import pan_gym`` (cheap: no torch model is built here).

- ``pan_gym/BabyAI-v0``: the model shipped for BabyAI (``pan_gym/assets/models/babyai-small``), BabyAI start states.
- ``pan_gym/MetaWorld-v0``: the model shipped for Meta-World, Meta-World start states.
- ``pan_gym/World-v0``: any world (``world="gym:CartPole-v1"``, a World, or None) over the ``model=`` you give.

Both take ``model=`` (a ``PanWorldModel``, a local directory or a preset name) and ``world=`` (a World or a name)
plus every ``PanWorldModelEnv`` keyword, and ``gym.make_vec(..., vectorization_mode="vector_entry_point")`` builds
the native batched ``PanWorldModelVectorEnv``. Bump the version when the default model or the action vocabulary
changes.

Example:
    >>> import gymnasium as gym, pan_gym
    >>> env = gym.make("pan_gym/BabyAI-v0", model="tiny", world=None, max_episode_steps=5)
    >>> env.spec.max_episode_steps
    5
"""

from __future__ import annotations

import gymnasium as gym

ENTRY_POINT = "pan_gym.env.world_model_env:PanWorldModelEnv"
VECTOR_ENTRY_POINT = "pan_gym.env.vector:PanWorldModelVectorEnv"
ENVS = {
    "pan_gym/BabyAI-v0": {"world": "babyai", "default_model": "babyai"},
    "pan_gym/MetaWorld-v0": {"world": "metaworld", "default_model": "metaworld"},
    "pan_gym/World-v0": {"world": None},
}
WORLD_ENV_IDS = {kw["world"]: env_id for env_id, kw in ENVS.items() if kw["world"]}  # "babyai" -> its env id
MAX_EPISODE_STEPS = 64


def register_envs() -> None:
    for env_id, kwargs in ENVS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point=ENTRY_POINT,
                vector_entry_point=VECTOR_ENTRY_POINT,
                max_episode_steps=MAX_EPISODE_STEPS,
                kwargs=dict(kwargs),
            )


register_envs()
