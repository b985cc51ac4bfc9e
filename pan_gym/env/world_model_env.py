"""``PanWorldModelEnv``: a ``PanWorldModel`` as a ``gymnasium.Env`` — language actions in, imagined video out.

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
from pan_gym.env.batching import Rollback, tensors
from pan_gym.env.models import resolve_model, with_precision
from pan_gym.env.rewards import Rewarder, RewardFn
from pan_gym.model.glp import RolloutState

Obs = dict[str, np.ndarray]
_STATE_KEYS = {"rollout", "generator", "np_random", "steps", "mission", "goal", "last_frame", "world_info"}


def make_world_arg(world):
    """``world``: a World, a world name (``"babyai"``), or None (reset then needs ``options["observation"]``)."""
    if world is None or not isinstance(world, str):
        return world
    from pan_gym.worlds import make_world

    return make_world(world)


def check_reset_options(options: dict | None) -> dict:
    options = dict(options or {})
    unknown = set(options) - {"observation", "mission", "goal"}
    if unknown:
        raise ValueError(f"unknown reset options {sorted(unknown)}; known: 'observation', 'mission', 'goal'")
    return options


class PanWorldModelEnv(gym.Env[Obs, str]):
    """The PAN world model as a Gymnasium env (see the module docstring).

    Args:
        model: a ``PanWorldModel``, a local directory, a preset name (``"tiny"``, ``"small"``), or None for the
            model shipped for ``default_model``.
        world: where start states come from: a World, a world name, or None.
        reward: ``"model"`` (learned head, default), ``"goal"`` (latent distance to ``options["goal"]``) or a
            callable ``reward_fn(obs, action, info) -> reward | (reward, terminated)``; ``reward_fn`` is an alias.
        latent_only: step the backbone only (``frames`` has shape (0, H, W, 3)): fast planning.
        precision: ``"fp32"``, ``"bf16"`` (autocast) or ``"bf16-weights"`` (a bf16 copy of the model): see
            ``pan_gym.env.models.with_precision``.
        render_mode: None or ``"rgb_array"`` (the last frame).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        model=None,
        world=None,
        *,
        reward: str | RewardFn = "model",
        reward_fn: RewardFn | None = None,
        latent_only: bool = False,
        render_mode: str | None = None,
        default_model: str | None = None,
        termination_threshold: float = 0.5,
        goal_threshold: float | None = None,
        precision: str = "fp32",
    ):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.model, self._precision = with_precision(resolve_model(model, default_model), precision)
        self.world = make_world_arg(world)
        self.rewarder = Rewarder(self.model, reward_fn or reward, termination_threshold, goal_threshold)
        self.latent_only, self.render_mode = latent_only, render_mode
        cfg = self.model.cfg
        self.size, self.chunk = cfg.image_size, (0 if latent_only else cfg.frames_per_chunk)
        q, d = self.model.backbone.queries.shape
        self.action_space = S.action_space()
        self.observation_space = S.observation_space(self.chunk, self.size, q, d)
        self.generator = torch.Generator(device="cpu")
        self._rollout = None  # RolloutState of batch 1; None before the first reset
        self._rollout_shapes: dict | None = None  # this model's rollout shapes, to check snapshots against
        self._steps, self._mission, self._goal, self._last_frame, self._world_info = 0, "", None, None, {}

    # ---- episode ------------------------------------------------------------------------------------------------
    def _start_frame(self) -> tuple[np.ndarray, dict]:
        if self.world is None:
            raise ValueError("this env has no world: pass reset(options={'observation': frame})")
        frame, info = self.world.reset(seed=int(self.np_random.integers(2**31 - 1)))
        return S.to_frame(frame, self.size, "world frame"), dict(info)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Obs, dict]:
        options = check_reset_options(options)
        if "observation" in options:  # validate before touching any state
            frame, world_info = S.to_frame(options["observation"], self.size), {}
        mission = S.check_mission(options["mission"]) if "mission" in options else None
        goal = self.rewarder.goal_latent(options["goal"]) if options.get("goal") is not None else None
        if self.rewarder.mode == "goal" and goal is None:
            raise ValueError("reward='goal' needs reset(options={'goal': frame (H, W, 3) or latent (D,)})")
        super().reset(seed=seed)
        if "observation" not in options:
            frame, world_info = self._start_frame()
        self.generator.manual_seed(int(self.np_random.integers(2**62)))
        with self._precision():
            self._rollout = self.model.start(torch.from_numpy(frame)[None])
        self._mission = mission if mission is not None else str(world_info.get("mission", ""))
        self._goal, self._steps, self._last_frame, self._world_info = goal, 0, frame, world_info
        frames = np.repeat(frame[None], self.chunk, axis=0)
        q, d = self.observation_space["state"].shape
        return {"frames": frames, "state": np.zeros((q, d), np.float32)}, self._info()

    def _info(self, **extra) -> dict[str, Any]:
        return {"mission": self._mission, "step": self._steps, **extra}

    def step(self, action: str) -> tuple[Obs, float, bool, bool, dict]:
        if self._rollout is None:
            raise RuntimeError("step() called before reset(): call env.reset() first")
        text = S.check_action(action)
        undo = Rollback(self._rollout, self.generator)
        try:
            with self._precision():  # the model raises on non-finite frames; the rollback undoes the step
                s_hat, frames = self.model.step(
                    self._rollout, [text], generator=self.generator, decode=not self.latent_only
                )
                vis = None if self.latent_only else self._rollout.vis
                r, done = self.rewarder.batch(s_hat, vis, [self._mission], [self._goal])
        except Exception:
            undo.restore()
            raise
        self._steps += 1
        state = s_hat[0].float().cpu().numpy()  # (Q, D)
        if frames is None:
            chunk = np.zeros((0, self.size, self.size, 3), np.uint8)
        else:
            chunk = frames[0].cpu().numpy()  # (T, H, W, 3)
            self._last_frame = chunk[-1]
        obs = {"frames": chunk, "state": state}
        info = self._info(action=text)
        reward, terminated = self.rewarder.call(obs, text, info, float(r[0]), bool(done[0]))
        return obs, reward, terminated, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._last_frame is None:
            return np.zeros((self.size, self.size, 3), np.uint8)
        return self._last_frame.copy()

    def close(self) -> None:
        if self.world is not None and hasattr(self.world, "close"):
            self.world.close()

    # ---- branching ----------------------------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """A snapshot of the whole simulation: rollout (backbone cache, decoder window), RNGs, episode fields."""
        if self._rollout is None:
            raise RuntimeError("get_state() called before reset(): there is no simulation to snapshot")
        return {
            "rollout": self._rollout.snapshot(),
            "generator": self.generator.get_state(),
            "np_random": copy.deepcopy(self.np_random.bit_generator.state),
            "steps": self._steps,
            "mission": self._mission,
            "goal": self._goal,
            "last_frame": None if self._last_frame is None else self._last_frame.copy(),
            "world_info": copy.deepcopy(self._world_info),
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
            last = S.to_frame(last, self.size, "set_state: 'last_frame'")
        goal = state["goal"]
        if goal is not None and (
            not isinstance(goal, torch.Tensor) or goal.shape[-1] != self.model.backbone.queries.shape[-1]
        ):
            raise ValueError("set_state: 'goal' must be None or a goal latent of this model")
        if not isinstance(state["world_info"], dict):
            raise ValueError("set_state: 'world_info' must be a dict")
        rollout = state["rollout"].snapshot()
        self._rollout, self.generator, self._np_random = rollout, generator, rng
        self._steps, self._mission, self._goal = steps, mission, goal
        self._last_frame = None if last is None else last.copy()
        self._world_info = copy.deepcopy(state["world_info"])


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
    if not all(torch.isfinite(t).all() for t in tensors(rollout) if t.is_floating_point()):
        raise ValueError("set_state: the rollout holds non-finite values (NaN/inf)")
