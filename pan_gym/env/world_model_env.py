"""``PanWorldModelEnv``: a ``PanWorldModel`` as a ``gymnasium.Env`` — language actions in, imagined video out.

It is the one-row view of the env core (``pan_gym.env.core.Imagination``, which the vector env batches), plus
``get_state``/``set_state`` for branching.

``reset`` encodes an initial observation (a frame passed in ``options``, else a start state drawn from the world);
``step(action)`` runs the backbone f on the action text, then the decoder g, and returns the imagined chunk.

Observations: ``frames`` uint8 (T, H, W, 3), T = ``model.cfg.frames_per_chunk`` (T = 0 when ``latent_only``:
the backbone steps without decoding), and ``state`` float32 (Q, D), the predicted latent ŝ. After ``reset`` the
frames are the start frame repeated T times and the state is zeros (nothing has been predicted yet).
All sampling noise comes from a ``torch.Generator`` reseeded from ``np_random`` at every reset, so a seed and a
sequence of actions fix the rollout; ``get_state``/``set_state`` snapshot and restore the whole simulation.

Example:
    >>> env = PanWorldModelEnv(model="tiny", world=None)
    >>> obs, info = env.reset(seed=0, options={"observation": np.zeros((64, 64, 3), np.uint8), "mission": "go to the red ball"})
    >>> obs, reward, terminated, truncated, info = env.step("turn left")
    >>> obs["frames"].shape, obs["state"].shape, info["action"]
    ((2, 64, 64, 3), (4, 32), 'turn left')
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from pan_gym.env import spaces as S
from pan_gym.env.core import Cohort, CoreView, Imagination, Obs
from pan_gym.model.glp import RolloutState

_STATE_KEYS = {"rollout", "generator", "np_random", "steps", "mission", "goal", "last_frame", "world_info"}


class PanWorldModelEnv(CoreView, gym.Env[Obs, str]):
    """The PAN world model as a Gymnasium env (see the module docstring).

    Args:
        model: a ``PanWorldModel``, a local directory, a preset name (``"tiny"``, ``"small"``), or None for the
            model shipped for ``default_model``.
        world: where start states come from: a World, a world name, or None.
        render_mode: None or ``"rgb_array"`` (the last frame).
        settings: the env core's keywords (``pan_gym.env.core.Imagination``): ``reward`` (``"model"``, ``"goal"``
            or a callable), ``latent_only``, ``precision``, ``termination_threshold``, ``goal_threshold``, …
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, model=None, world=None, *, render_mode: str | None = None, **settings):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.core = Imagination(1, model, world, **settings)
        self.render_mode = render_mode
        self.action_space = S.action_space()
        self.observation_space = self.core.observation_space()
        self._rollout_shapes: dict | None = None  # this model's rollout shapes, to check snapshots against

    @property
    def _rollout(self) -> RolloutState | None:
        return None if self.core.cohorts is None else self.core.cohorts[0].state

    # ---- episode ------------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]:
        options = dict(options or {})
        frame = options.get("observation")
        if isinstance(frame, np.ndarray | torch.Tensor):  # one frame (H, W, 3), checked and resized once
            options["observation"] = S.to_frame(frame, self.core.size)
        for key in ("mission", "goal"):  # one row's value, whatever its type
            if options.get(key) is not None:
                options[key] = [options[key]]
        rows = self.core.parse_options(options)  # checked whole before anything changes
        super().reset(seed=seed)
        obs, infos = self.core.reset(self.np_random, rows)
        return {k: v[0] for k, v in obs.items()}, infos[0]

    def step(self, action: str) -> tuple[Obs, float, bool, bool, dict]:
        if not self.core.started:
            raise RuntimeError("step() called before reset(): call env.reset() first")
        obs, rewards, terminated, infos = self.core.step([action])
        return {k: v[0] for k, v in obs.items()}, float(rewards[0]), bool(terminated[0]), False, infos[0]

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return self.core.last[0].copy()

    def close(self) -> None:
        if self.world is not None and hasattr(self.world, "close"):
            self.world.close()

    # ---- branching ----------------------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """A snapshot of the whole simulation: rollout (backbone cache, decoder window), RNGs, episode fields."""
        if not self.core.started:
            raise RuntimeError("get_state() called before reset(): there is no simulation to snapshot")
        core = self.core
        return {
            "rollout": self._rollout.snapshot(),
            "generator": core.generator.get_state(),
            "np_random": copy.deepcopy(self.np_random.bit_generator.state),
            "steps": int(core.steps[0]),
            "mission": core.missions[0],
            "goal": core.goals[0],
            "last_frame": core.last[0].copy(),
            "world_info": copy.deepcopy(core.world_infos[0]),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a ``get_state`` snapshot (it stays reusable: restoring twice gives the same rollout twice).

        The snapshot is checked whole before anything changes: one from another model, or with a bad field, raises
        ``ValueError`` naming the field and leaves the env as it was. Gymnasium's wrappers (``TimeLimit``) keep
        their own counters: ``pan_gym.env.snapshot`` saves and restores those too."""
        if not isinstance(state, dict) or set(state) != _STATE_KEYS:
            raise ValueError(f"set_state expects a dict from get_state() with keys {sorted(_STATE_KEYS)}")
        if self._rollout_shapes is None:
            self._rollout_shapes = rollout_shapes(self.model)
        check_rollout(state["rollout"], self._rollout_shapes)
        generator = torch.Generator(device="cpu")
        rng = copy.deepcopy(self.np_random)
        try:
            generator.set_state(state["generator"])
        except (TypeError, RuntimeError) as e:
            raise ValueError(f"set_state: 'generator' is not a torch.Generator state ({e})") from None
        try:
            rng.bit_generator.state = copy.deepcopy(state["np_random"])
        except (TypeError, ValueError, KeyError) as e:
            raise ValueError(
                f"set_state: 'np_random' is not a state of this env's {type(rng.bit_generator).__name__} ({e})"
            ) from None
        steps, mission, last = state["steps"], state["mission"], state["last_frame"]
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"set_state: 'steps' must be an int >= 0, got {steps!r}")
        if not isinstance(mission, str):
            raise ValueError(f"set_state: 'mission' must be a str, got {type(mission).__name__}")
        if last is not None:
            last = S.to_frame(last, self.core.size, "set_state: 'last_frame'")
        goal = state["goal"]
        if goal is not None and (
            not isinstance(goal, torch.Tensor) or goal.shape[-1] != self.model.backbone.queries.shape[-1]
        ):
            raise ValueError("set_state: 'goal' must be None or a goal latent of this model")
        if not isinstance(state["world_info"], dict):
            raise ValueError("set_state: 'world_info' must be a dict")
        core, rollout = self.core, state["rollout"].snapshot()
        core.cohorts = [Cohort([0], rollout)]
        core.generator.set_state(generator.get_state())
        self._np_random = rng
        core.steps[0], core.missions[0], core.goals[0] = steps, mission, goal
        if last is not None:
            core.last[0] = last
        core.world_infos[0] = copy.deepcopy(state["world_info"])


def rollout_shapes(model) -> dict[str, tuple]:
    """The shapes a batch-1 rollout of ``model`` has (``check_rollout`` compares snapshots with them)."""
    size = model.cfg.image_size
    ref = model.start(torch.zeros(1, size, size, 3, dtype=torch.uint8))
    q, d = model.backbone.queries.shape
    return {
        "swin.last_frame": tuple(ref.swin.last_frame.shape),
        "vis": tuple(ref.vis.shape),
        "s_hat": (1, q, d),
        "width": model.cfg.backbone.hidden_size,
        "chunk": model.cfg.frames_per_chunk,
    }


def check_rollout(rollout, shapes: dict[str, tuple]) -> None:
    """``ValueError`` unless ``rollout`` is a batch-1 ``RolloutState`` with ``shapes`` and finite values."""
    if not isinstance(rollout, RolloutState):
        raise ValueError(f"set_state: 'rollout' must be a RolloutState, got {type(rollout).__name__}")
    if not isinstance(getattr(rollout.swin, "last_frame", None), torch.Tensor):
        raise ValueError("set_state: 'rollout' has no decoder window (swin.last_frame)")
    if rollout.batch_size != 1:
        raise ValueError(f"set_state: 'rollout' holds {rollout.batch_size} rows; this env runs one")
    held = {"swin.last_frame": rollout.swin.last_frame, "vis": rollout.vis, "s_hat": rollout.s_hat}
    for name, t in held.items():
        if t is not None and (not isinstance(t, torch.Tensor) or tuple(t.shape) != shapes[name]):
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(
                f"set_state: rollout {name} is {got}, this model's is {shapes[name]}: a snapshot of another model"
            )
    if any(t.shape[2] != shapes["chunk"] for t in rollout.swin.prev_traj):
        raise ValueError(
            f"set_state: the rollout's chunks are not {shapes['chunk']} frames: a snapshot of another model"
        )
    width = shapes["width"]
    if any(r.shape[-1] != width for r in rollout.backbone.rounds):
        raise ValueError(
            f"set_state: rollout backbone rounds are not {width} wide: a snapshot of another model"
        )
    if not all(torch.isfinite(t).all() for t in rollout.tensors() if t.is_floating_point()):
        raise ValueError("set_state: the rollout holds non-finite values (NaN/inf)")
