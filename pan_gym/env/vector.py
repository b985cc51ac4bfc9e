"""``PanWorldModelVectorEnv``: N imagined rollouts stepped with batched model calls, same-step autoreset.

The sub-envs are the rows of one ``pan_gym.env.core.Imagination``: while no sub-env finishes, or all finish
together, every step is one backbone call and one decoder call; sub-envs that finish restart together as a new
cohort of rows (the core's docstring says how cohorts batch).

Finished sub-envs are reset in the same step (``AutoresetMode.SAME_STEP``): ``infos["final_obs"]`` and
``infos["final_info"]`` hold what the finished episode's last step returned. ``reset`` options (``observation``:
a frame or (N, H, W, 3); ``mission``: a str or N strs; ``goal``: one or N goals) stick to their sub-envs for later
autoresets; sub-envs without them draw start states from the world.

Example:
    >>> import numpy as np
    >>> envs = PanWorldModelVectorEnv(3, model="tiny", world=None, max_episode_steps=2)
    >>> obs, infos = envs.reset(seed=0, options={"observation": np.zeros((64, 64, 3), np.uint8), "mission": "go"})
    >>> obs, rewards, terminated, truncated, infos = envs.step(["turn left", "go forward", "turn right"])
    >>> obs["frames"].shape, rewards.shape
    ((3, 2, 64, 64, 3), (3,))
"""

from __future__ import annotations

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from pan_gym.env import spaces as S
from pan_gym.env.core import CoreView, Imagination, Obs


class PanWorldModelVectorEnv(CoreView, VectorEnv):
    """Native batched vector env over one ``PanWorldModel``: ``num_envs`` sub-envs, ``max_episode_steps``
    (truncation; None: never), ``render_mode`` (None or ``"rgb_array"``: each sub-env's last frame), and the
    keywords of ``pan_gym.env.core.Imagination`` (model, world, reward, latent_only, precision, …)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10, "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self,
        num_envs: int,
        model=None,
        world=None,
        *,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        **settings,
    ):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.core = Imagination(num_envs, model, world, **settings)
        self.num_envs, self.render_mode, self.max_episode_steps = num_envs, render_mode, max_episode_steps
        self.single_action_space = S.action_space()
        self.single_observation_space = self.core.observation_space()
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)

    @property
    def num_cohorts(self) -> int:
        """How many separately batched backbone histories there are (1 while all sub-envs are in step)."""
        return 0 if self.core.cohorts is None else len(self.core.cohorts)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]:
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be one int (it seeds the whole batch) or None, got {seed!r}")
        rows = self.core.parse_options(options)  # checked whole before anything changes
        super().reset(seed=seed)
        obs, infos = self.core.reset(self.np_random, rows)
        return obs, self._batch_infos(infos, range(self.num_envs))

    def step(self, actions) -> tuple[Obs, np.ndarray, np.ndarray, np.ndarray, dict]:
        if not self.core.started:
            raise RuntimeError("step() called before reset(): call envs.reset() first")
        ordered = isinstance(actions, (list, tuple)) or (
            isinstance(actions, np.ndarray) and actions.ndim == 1
        )
        if not ordered or len(actions) != self.num_envs:
            raise ValueError(
                f"actions must be a list or tuple of {self.num_envs} str, one per sub-env in order; "
                f"got {type(actions).__name__} {actions!r:.80}"
            )
        obs, rewards, terminated, infos = self.core.step(list(actions))
        truncated = (
            self.core.steps >= self.max_episode_steps
            if self.max_episode_steps
            else np.zeros(self.num_envs, bool)
        ) & ~terminated
        batched = self._batch_infos(infos, range(self.num_envs))
        done = np.flatnonzero(terminated | truncated).tolist()
        if done:
            for i in done:
                final = {k: v[i].copy() for k, v in obs.items()}
                batched = self._add_info(batched, {"final_obs": final, "final_info": infos[i]}, i)
            new_obs, new_infos = self.core.restart(done, self.np_random)
            for k in obs:
                obs[k][done] = new_obs[k]
            for i, info in zip(done, new_infos, strict=True):
                batched = self._add_info(batched, info, i)
        return obs, rewards, terminated, truncated, batched

    def _batch_infos(self, infos: list[dict], rows) -> dict:
        batched: dict = {}
        for i, info in zip(rows, infos, strict=True):
            batched = self._add_info(batched, info, i)
        return batched

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode != "rgb_array":
            return None
        return tuple(self.core.last.copy())

    def close_extras(self, **kwargs) -> None:
        if self.world is not None and hasattr(self.world, "close"):
            self.world.close()
