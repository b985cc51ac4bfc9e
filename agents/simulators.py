"""Simulators for planning: start from a real observation, branch, step a batch of action sequences, score them.

A planner imagines with a *simulator*: ``begin(obs)`` starts from the planner's observation dict (the one
``pan_gym.eval.planning_eval`` passes: ``frame``, ``mission``, ``actions``, ``world_state``), and
``simulate(sequences)`` rolls out N equal-length sequences of language actions from that start, all together:

- ``ModelSimulator``: the world model through the env's public API — a native vector env
  (``gym.make_vec(..., vectorization_mode="vector_entry_point")``) with N sub-envs, reset at the real frame and
  mission (``options={"observation": frame, "mission": mission}``), then one batched model call per step of the
  horizon. Rewards are the env's (``reward="model"``: the learned head on ŝ conditioned on the mission;
  ``"goal"``: the negative latent distance to a goal frame; or a callable). Latent-only by default (the reward head
  reads ŝ only, and skipping the decoder is ~10× faster on the small preset).
- ``OracleSimulator``: the true world replayed from ``obs["world_state"]`` with ``get_state``/``set_state``, to
  measure what the model costs (same interface, same scoring).

Why a vector env reset at the frame, not a branch of a single env's ``get_state()``: the vector env cannot start a
batch from a given ``RolloutState``, and a planner in a real-world loop (``agents.mpc``) re-encodes the real
observation at every decision anyway, so every candidate starting from the same observation *is* the branch.
The model's history is therefore one frame long at each decision (fine for GoTo/PickUp missions; note that the
frame does not show what the agent carries).

Scores: ``returns(rollouts)`` sums the discounted rewards up to and including the first termination.

Example:
    >>> from pan_gym.worlds import make_world
    >>> world = make_world("babyai"); frame, info = world.reset(seed=1_000_002)
    >>> obs = {"frame": frame, "mission": info["mission"], "actions": world.actions("agent"),
    ...        "world_state": world.get_state()}
    >>> sim = OracleSimulator("babyai"); sim.begin(obs)
    >>> ro = sim.simulate([["go to the green box"], ["turn left"]])
    >>> ro.rewards.shape, bool(returns(ro)[0] > 0), float(returns(ro)[1])
    ((2, 1), True, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

import pan_gym  # noqa: F401  (registers the env ids)

ENV_IDS = {"babyai": "pan_gym/BabyAI-v0", "metaworld": "pan_gym/MetaWorld-v0"}


@dataclass
class Rollouts:
    """What N simulated sequences of H actions produced (rows after a termination hold no meaning)."""

    rewards: np.ndarray  # (N, H) float32
    terminated: np.ndarray  # (N, H) bool
    frames: np.ndarray | None  # (N, H, H_img, W_img, 3) uint8, last frame of each step; None when latent-only
    states: np.ndarray | None  # (N, H, Q, D) float32 predicted latent ŝ; None for the oracle
    start: np.ndarray | None = None  # (H_img, W_img, 3) uint8, the frame every row starts from (when known)


ScoreFn = Callable[[Rollouts, str], np.ndarray]  # (rollouts, mission) -> scores (N,)


def returns(rollouts: Rollouts, gamma: float = 0.99) -> np.ndarray:
    """Σ_t γ^t r_t up to and including each row's first termination -> (N,) float64."""
    r, done = rollouts.rewards.astype(np.float64), rollouts.terminated.astype(bool)
    alive = np.ones_like(r, dtype=bool)
    # a step counts when no termination came before it (the terminating step itself counts)
    alive[:, 1:] = ~np.cumsum(done, axis=1)[:, :-1].astype(bool)
    discount = gamma ** np.arange(r.shape[1])
    return (r * alive * discount).sum(axis=1)


def check_sequences(sequences: Sequence[Sequence[str]]) -> tuple[int, int]:
    if isinstance(sequences, str) or not sequences:
        raise ValueError("sequences must be a non-empty list of action lists")
    h = len(sequences[0])
    if h == 0 or any(isinstance(s, str) or len(s) != h for s in sequences):
        raise ValueError("every sequence must be a list of the same positive number of action strings")
    return len(sequences), h


@runtime_checkable
class Simulator(Protocol):
    """Starts at a planner observation, then rolls out batches of equal-length action sequences."""

    name: str

    def begin(self, obs: dict[str, Any]) -> None: ...

    def simulate(self, sequences: Sequence[Sequence[str]]) -> Rollouts: ...


class ModelSimulator:
    """The world model as a simulator (see the module docstring).

    Args:
        model: a ``PanWorldModel``, a directory, a preset name, or None for the model the env ships (the default of
            ``pan_gym/BabyAI-v0``; an error says so when none is present yet).
        world: world name; picks the env id (``babyai`` -> ``pan_gym/BabyAI-v0``).
        reward: the env's reward: ``"model"``, ``"goal"`` (needs ``goal``) or a callable ``(obs, action, info)``.
        goal: a goal frame uint8 (H, W, 3) or latent (D,) for ``reward="goal"``.
        latent_only: step the backbone only (no frames); a callable reward usually needs frames (set False).
        seed: seeds the sampling noise of successive ``simulate`` calls.
        env_kwargs: more keywords for the env (e.g. ``termination_threshold``, ``goal_threshold``).
    """

    name = "model"

    def __init__(
        self,
        model=None,
        world: str = "babyai",
        *,
        reward: str | Callable = "model",
        goal: Any = None,
        latent_only: bool = True,
        seed: int = 0,
        **env_kwargs: Any,
    ) -> None:
        if world not in ENV_IDS and model is None:
            raise ValueError(f"no model ships for world {world!r} (shipped: {sorted(ENV_IDS)}); pass model=")
        if reward == "goal" and goal is None:
            raise ValueError("reward='goal' needs goal= (a frame (H, W, 3) uint8 or a latent (D,))")
        self.env_id = ENV_IDS.get(world, "pan_gym/World-v0")  # any other world: the env over a given model
        self.model, self.reward, self.goal = model, reward, goal
        self.latent_only, self.env_kwargs = latent_only, env_kwargs
        self.rng = np.random.default_rng([seed, 0x51A])
        self._envs: dict[int, Any] = {}
        self._start: dict[str, Any] | None = None
        self.calls = 0  # batched env steps so far (model calls, for the timing report)

    def vector_env(self, n: int):
        """The cached native vector env with ``n`` sub-envs (models are cached per process, so this is cheap)."""
        if n not in self._envs:
            self._envs[n] = gym.make_vec(
                self.env_id,
                num_envs=n,
                vectorization_mode="vector_entry_point",
                model=self.model,
                world=None,
                reward=self.reward,
                latent_only=self.latent_only,
                max_episode_steps=None,
                **self.env_kwargs,
            )
        return self._envs[n]

    def begin(self, obs: dict[str, Any]) -> None:
        self._start = {"observation": obs["frame"], "mission": str(obs.get("mission", ""))}
        if self.goal is not None:
            self._start["goal"] = self.goal

    def simulate(self, sequences: Sequence[Sequence[str]]) -> Rollouts:
        if self._start is None:
            raise RuntimeError("call begin(obs) before simulate()")
        n, h = check_sequences(sequences)
        env = self.vector_env(n)
        env.reset(seed=int(self.rng.integers(2**31 - 1)), options=self._start)
        rewards, terminated = np.zeros((n, h), np.float32), np.zeros((n, h), bool)
        frames, states = None, None
        for t in range(h):
            obs, r, term, _, infos = env.step([s[t] for s in sequences])
            self.calls += 1
            # a finished row was auto-reset in the same step: its own last observation is in final_obs
            for i in np.flatnonzero(term):
                obs["state"][i] = infos["final_obs"][i]["state"]
                if obs["frames"].shape[1]:
                    obs["frames"][i] = infos["final_obs"][i]["frames"]
            if states is None:
                states = np.zeros((n, h, *obs["state"].shape[1:]), np.float32)
                if obs["frames"].shape[1]:
                    frames = np.zeros((n, h, *obs["frames"].shape[2:]), np.uint8)
            rewards[:, t], terminated[:, t], states[:, t] = r, term, obs["state"]
            if frames is not None:
                frames[:, t] = obs["frames"][:, -1]
        return Rollouts(rewards, terminated, frames, states, self._start["observation"])

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()


class OracleSimulator:
    """The true world as the planner's model: every sequence replayed from ``obs["world_state"]``.

    Args:
        world: a World or a world name (its own instance: the real world the agent acts in is never touched).
        reward: ``"world"`` (the world's true reward and termination), ``"goal"`` (negative mean absolute pixel
            distance of each step's last frame to ``goal``, a uint8 frame) or a callable ``(obs, action, info)``
            as for the env, with ``obs = {"frames": chunk}``.
        goal: the goal frame for ``reward="goal"``.
    """

    name = "oracle"

    def __init__(self, world: Any = "babyai", *, reward: str | Callable = "world", goal: Any = None) -> None:
        from pan_gym.worlds import make_world

        self.world = make_world(world) if isinstance(world, str) else world
        if not (callable(reward) or reward in ("world", "goal")):
            raise ValueError(f"reward must be 'world', 'goal' or a callable, got {reward!r}")
        if reward == "goal" and goal is None:
            raise ValueError("reward='goal' needs goal= (a uint8 frame (H, W, 3))")
        self.reward, self.goal = reward, None if goal is None else np.asarray(goal, np.float32)
        self._state, self._frame = None, None
        self.calls = 0

    def begin(self, obs: dict[str, Any]) -> None:
        if obs.get("world_state") is None:
            raise ValueError("OracleSimulator needs obs['world_state'] (a snapshot of the true world)")
        self._state, self._frame = obs["world_state"], obs.get("frame")

    def _reward(self, chunk: np.ndarray, action: str, r: float, info: dict) -> tuple[float, bool | None]:
        if self.reward == "world":
            return r, None
        if self.reward == "goal":
            return -float(np.abs(chunk[-1].astype(np.float32) - self.goal).mean()), None
        out = self.reward({"frames": chunk}, action, info)
        return (float(out[0]), bool(out[1])) if isinstance(out, tuple) else (float(out), None)

    def simulate(self, sequences: Sequence[Sequence[str]]) -> Rollouts:
        if self._state is None:
            raise RuntimeError("call begin(obs) before simulate()")
        n, h = check_sequences(sequences)
        rewards, terminated = np.zeros((n, h), np.float32), np.zeros((n, h), bool)
        frames = np.zeros((n, h, *self.world.frame_shape), np.uint8)
        for i, seq in enumerate(sequences):
            self.world.set_state(self._state)
            for t, action in enumerate(seq):
                chunk, r, term, trunc, info = self.world.step(action)
                self.calls += 1
                rewards[i, t], done = self._reward(chunk, action, r, info)
                terminated[i, t] = term if done is None else done
                frames[i, t:] = chunk[-1]
                if term or trunc:  # the episode is over in the real world: the rest of the row stays put
                    terminated[i, t] = terminated[i, t] or term
                    break
        return Rollouts(rewards, terminated, frames, None, self._frame)

    def close(self) -> None:
        if hasattr(self.world, "close"):
            self.world.close()


def make_simulator(
    kind: str, world: Any = "babyai", model=None, **kwargs: Any
) -> ModelSimulator | OracleSimulator:
    """``"model"`` -> ``ModelSimulator(model, world name, **kwargs)``; ``"oracle"`` -> ``OracleSimulator(world)``.

    ``world`` is a world name or a World (the oracle replays it; the model simulator only needs its name)."""
    if kind == "model":
        return ModelSimulator(model, getattr(world, "name", world), **kwargs)
    if kind == "oracle":
        return OracleSimulator(world, **kwargs)
    raise ValueError(f"simulator kind must be 'model' or 'oracle', got {kind!r}")
