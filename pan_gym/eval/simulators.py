"""Simulators: what the evaluation scores and what planners imagine with. One protocol, three kinds:

- ``ModelSimulator``: a ``PanWorldModel`` (the thing under test), with the env's rewards (``env.rewards.Rewarder``);
- ``OracleSimulator``: the true world replayed from saved world states (it must score perfectly);
- ``CopySimulator``: ignores the action and repeats the last frame (the copy baseline).

Each starts B rollouts at frames (``start``), optionally with the ``Past`` that led to each (the model runs it
through its backbone: what the agent carries never shows in a frame), and imagines one action per rollout at a
time (``step`` -> ``Imagined``: the chunk, rewards, terminations, ŝ). A simulator's chunk length T may differ
from the world's: metrics compare the final frame of each chunk. Planners branch with ``begin(obs)`` and ``simulate(sequences)``:
N action sequences rolled out from one observation, all together (``Rollouts``).

Example:
    >>> import numpy as np
    >>> from pan_gym.worlds import make_world
    >>> from pan_gym.eval.starts import eval_seeds, start_states
    >>> starts = start_states(make_world("babyai"), eval_seeds(2))
    >>> frames = np.stack([s.frame for s in starts])                     # (B, H, W, 3)
    >>> oracle = OracleSimulator("babyai")
    >>> oracle.start(frames, [s.state for s in starts])
    >>> oracle.step(["turn left", "turn right"]).frames.shape            # (B, T, H, W, 3)
    (2, 4, 64, 64, 3)
    >>> copy = CopySimulator(); copy.start(frames)
    >>> bool((copy.step(["turn left", "turn left"]).frames[:, -1] == frames).all())
    True
    >>> oracle.begin({"frame": frames[0], "mission": starts[0].mission, "world_state": starts[0].state})
    >>> oracle.simulate([["turn left", "move forward"]] * 3).rewards.shape   # (N, H)
    (3, 2)
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Past:
    """What led to a frame: the frame it began at and each (action, the frame that action ended on) since; the last
    step's frame is the frame itself."""

    first: np.ndarray  # (H, W, 3) uint8
    steps: tuple[tuple[str, np.ndarray], ...] = ()

    def then(self, action: str, frame: np.ndarray) -> Past:
        """This past followed by ``action``, which ended on ``frame`` (H, W, 3)."""
        return Past(self.first, (*self.steps, (action, frame)))

    def last(self, n: int) -> Past:
        """Its last ``n`` steps only, beginning at the frame before them."""
        if len(self.steps) <= n:
            return self
        return Past(self.steps[-n - 1][1], self.steps[len(self.steps) - n :])


def by_past_length(pasts: Sequence[Past], batch_size: int) -> list[list[int]]:
    """Index batches of at most ``batch_size`` whose pasts have one length (a ``start`` call takes one), shortest
    pasts first."""
    length = [len(p.steps) for p in pasts]
    out: list[list[int]] = []
    for n in sorted(set(length)):
        rows = [i for i, k in enumerate(length) if k == n]
        out += [rows[j : j + batch_size] for j in range(0, len(rows), batch_size)]
    return out


@dataclass
class Imagined:
    """One step of B rollouts."""

    frames: np.ndarray | None  # (B, T, H, W, 3) uint8; None when latent-only
    rewards: np.ndarray  # (B,) float32
    terminated: np.ndarray  # (B,) bool
    states: np.ndarray | None = None  # (B, Q, D) float32 predicted ŝ; None for the oracle and the copy


@dataclass
class Rollouts:
    """What N simulated sequences of H actions produced (rows after a termination hold no meaning)."""

    rewards: np.ndarray  # (N, H) float32
    terminated: np.ndarray  # (N, H) bool
    frames: np.ndarray | None  # (N, H, H_img, W_img, 3) uint8, last frame of each step; None when latent-only
    states: np.ndarray | None  # (N, H, Q, D) float32 predicted latent ŝ; None for the oracle
    start: np.ndarray | None = None  # (H_img, W_img, 3) uint8, the frame every row starts from (when known)
    goal: np.ndarray | None = (
        None  # (H_img, W_img, 3) uint8, the goal image of goal-image planning (obs["goal"])
    )


def returns(rollouts: Rollouts, gamma: float = 0.99) -> np.ndarray:
    """Σ_t γ^t r_t up to and including each row's first termination -> (N,) float64."""
    r, done = rollouts.rewards.astype(np.float64), rollouts.terminated.astype(bool)
    alive = np.ones_like(r, dtype=bool)
    # a step counts when no termination came before it (the terminating step itself counts)
    alive[:, 1:] = ~np.cumsum(done, axis=1)[:, :-1].astype(bool)
    discount = gamma ** np.arange(r.shape[1])
    return (r * alive * discount).sum(axis=1)


def check_sequences(sequences: Sequence[Sequence[str]]) -> tuple[int, int]:
    """(N, H) of N equal-length, non-empty action sequences; ``ValueError`` otherwise."""
    if isinstance(sequences, str) or not sequences:
        raise ValueError("sequences must be a non-empty list of action lists")
    h = len(sequences[0])
    if h == 0 or any(isinstance(s, str) or len(s) != h for s in sequences):
        raise ValueError("every sequence must be a list of the same positive number of action strings")
    return len(sequences), h


class Simulator:
    """The protocol: ``start`` B rollouts, ``step`` B actions at a time. ``begin``/``simulate`` (planning) are
    built on them here, once for every kind."""

    name: str
    frames_per_action: int  # T of the chunks ``step`` returns
    calls: int = 0  # batched steps so far

    def start(
        self,
        frames: np.ndarray,
        world_states: Sequence[Any] | None = None,
        missions: Sequence[str] | None = None,
        pasts: Sequence[Past] | None = None,
    ) -> None:
        """Begin B rollouts at frames uint8 (B, H, W, 3); ``world_states``: the matching world snapshots (the
        oracle needs them); ``missions``: what rewards are conditioned on; ``pasts``: what led to each frame, all of
        one length (``by_past_length``; the model reads them, the oracle and the copy need not)."""
        raise NotImplementedError

    def step(self, actions: Sequence[str]) -> Imagined:
        """Imagine one action per rollout."""
        raise NotImplementedError

    def begin(self, obs: dict[str, Any]) -> None:
        """Plan from ``obs``: the planner's observation dict (``frame``, ``mission``, ``world_state``, ``past``)."""
        self._begin = obs

    def simulate(self, sequences: Sequence[Sequence[str]]) -> Rollouts:
        """Roll N equal-length action sequences out from ``begin``'s observation, batched over N."""
        obs = getattr(self, "_begin", None)
        if obs is None:
            raise RuntimeError("call begin(obs) before simulate()")
        n, h = check_sequences(sequences)
        frame = obs.get("frame")
        frames = None if frame is None else np.repeat(np.asarray(frame)[None], n, axis=0)
        states = None if obs.get("world_state") is None else [obs["world_state"]] * n
        pasts = None if obs.get("past") is None else [obs["past"]] * n
        self.start(frames, states, [str(obs.get("mission", ""))] * n, pasts)
        steps = [self.step([s[t] for s in sequences]) for t in range(h)]
        return Rollouts(
            rewards=np.stack([s.rewards for s in steps], 1).astype(np.float32),
            terminated=np.stack([s.terminated for s in steps], 1),
            frames=None if steps[0].frames is None else np.stack([s.frames[:, -1] for s in steps], 1),
            states=None if steps[0].states is None else np.stack([s.states for s in steps], 1),
            start=frame,
            goal=obs.get("goal"),
        )

    def close(self) -> None:
        """Release what the simulator holds (a world's renderer)."""


class ModelSimulator(Simulator):
    """A ``PanWorldModel`` as a simulator, open loop: it sees only the start frame and the actions, never a true
    frame after the start.

    Args:
        model: a ``PanWorldModel``, a directory, a preset name, or None for the model shipped for ``world``.
        world: a world name: the shipped model ``model=None`` means.
        reward: the env's reward (``env.rewards``): ``"model"`` (the learned head on ŝ and the mission), ``"goal"``
            (needs ``goal``) or a callable ``(obs, action, info)``.
        goal: a goal frame uint8 (H, W, 3) or latent (D,) for ``reward="goal"``.
        latent_only: step the backbone only (no frames; ~10× faster on the small preset).
        seed: seeds the sampling noise once; successive rollouts draw on.
        precision: as the envs take it (``fp32``, ``bf16`` autocast, ``bf16-weights``).
        termination_threshold, goal_threshold: as for the env.
    """

    name = "model"

    def __init__(
        self,
        model: Any = None,
        world: str | None = None,
        *,
        reward: str | Callable = "model",
        goal: Any = None,
        latent_only: bool = False,
        seed: int = 0,
        precision: str = "fp32",
        termination_threshold: float = 0.5,
        goal_threshold: float | None = None,
    ) -> None:
        from pan_gym.env.models import resolve_model, with_precision
        from pan_gym.env.rewards import Rewarder

        if reward == "goal" and goal is None:
            raise ValueError("reward='goal' needs goal= (a frame (H, W, 3) uint8 or a latent (D,))")
        self.model, self._precision = with_precision(resolve_model(model, world), precision)
        self.rewarder = Rewarder(self.model, reward, termination_threshold, goal_threshold)
        self.goal = None if goal is None else self.rewarder.goal_latent(goal)
        self.latent_only = latent_only
        self.frames_per_action = int(self.model.cfg.frames_per_chunk)
        self.generator = torch.Generator().manual_seed(seed)
        self._state, self._missions, self.calls = None, [], 0
        self._past: tuple[Past, Any] | None = None  # the last shared past and the rollout that ran it

    def start(self, frames, world_states=None, missions=None, pasts=None) -> None:
        if frames is None:
            raise ValueError("ModelSimulator starts from frames: obs['frame'] (H, W, 3) uint8")
        lengths = {len(p.steps) for p in pasts or ()}
        if pasts is not None and (len(pasts) != len(frames) or len(lengths) != 1):
            raise ValueError(
                "pasts must be one per frame, all of one length (group rows with by_past_length)"
            )
        with self._precision():
            if not lengths - {0}:
                self._state = self.model.start(torch.from_numpy(np.ascontiguousarray(frames)))
            elif all(p is pasts[0] for p in pasts):
                # one past for every row (a planner's): run it once, keep it for the next call, repeat the rollout
                if self._past is None or self._past[0] is not pasts[0]:
                    self._past = (pasts[0], self._observe(pasts[:1]))
                self._state = self._past[1].select([0] * len(pasts))
            else:
                self._state = self._observe(pasts)
        self._missions = list(missions) if missions is not None else [""] * len(frames)

    def _observe(self, pasts: Sequence[Past]):
        """A rollout that has run ``pasts`` (one length) through the model: its true frames, not drawn ones."""
        state = self.model.start(torch.from_numpy(np.stack([p.first for p in pasts])))
        for j in range(len(pasts[0].steps)):
            seen = torch.from_numpy(np.stack([p.steps[j][1] for p in pasts]))
            self.model.observe(state, [p.steps[j][0] for p in pasts], seen)
        return state

    def step(self, actions: Sequence[str]) -> Imagined:
        if self._state is None:
            raise RuntimeError("call start() before step()")
        actions = list(actions)
        with self._precision():
            s_hat, frames = self.model.step(self._state, actions, self.generator, decode=not self.latent_only)
            vis = None if frames is None else self._state.vis
            rewards, terminated = self.rewarder.batch(s_hat, vis, self._missions, [self.goal] * len(actions))
        self.calls += 1
        frames = None if frames is None else frames.cpu().numpy()  # (B, T, H, W, 3)
        states = s_hat.float().cpu().numpy()  # (B, Q, D)
        if self.rewarder.fn is not None:
            for i, a in enumerate(actions):
                row = {"frames": None if frames is None else frames[i], "state": states[i]}
                info = {"mission": self._missions[i], "step": self._state.steps, "action": a}
                rewards[i], terminated[i] = self.rewarder.call(row, a, info, rewards[i], terminated[i])
        return Imagined(frames, rewards.astype(np.float32), terminated, states)


class OracleSimulator(Simulator):
    """The true world: one world replays every rollout from its saved state. A rollout goes on after its episode
    terminates (as the evaluation's ground truth does); one the world's time limit has cut off stays put (its
    last frame, reward 0).

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

        if not (callable(reward) or reward in ("world", "goal")):
            raise ValueError(f"reward must be 'world', 'goal' or a callable, got {reward!r}")
        if reward == "goal" and goal is None:
            raise ValueError("reward='goal' needs goal= (a uint8 frame (H, W, 3))")
        self.world = make_world(world) if isinstance(world, str) else world
        self.frames_per_action = int(self.world.frames_per_action)
        self.reward, self.goal = reward, None if goal is None else np.asarray(goal, np.float32)
        self._states: list[Any] = []
        self._last: list[np.ndarray | None] = []  # a finished rollout's last chunk
        self.calls = 0

    def start(self, frames, world_states=None, missions=None, pasts=None) -> None:
        if world_states is None or any(s is None for s in world_states):
            raise ValueError(
                "OracleSimulator needs the true world's state: obs['world_state'] / world_states"
            )
        if frames is not None and len(world_states) != len(frames):
            raise ValueError("OracleSimulator needs one world state per start frame")
        self._states = [_copy.deepcopy(s) for s in world_states]
        self._last = [None] * len(self._states)

    def _reward(self, chunk: np.ndarray, action: str, r: float, info: dict) -> tuple[float, bool | None]:
        if self.reward == "world":
            return r, None
        if self.reward == "goal":
            return -float(np.abs(chunk[-1].astype(np.float32) - self.goal).mean()), None
        out = self.reward({"frames": chunk}, action, info)
        return (float(out[0]), bool(out[1])) if isinstance(out, tuple) else (float(out), None)

    def step(self, actions: Sequence[str]) -> Imagined:
        if len(actions) != len(self._states):
            raise ValueError(f"got {len(actions)} actions for {len(self._states)} rollouts")
        n = len(actions)
        chunks, rewards, terminated = [], np.zeros(n, np.float32), np.zeros(n, bool)
        for i, action in enumerate(actions):
            if self._last[i] is not None:  # truncated: the world cannot step on, the row stays put
                chunks.append(np.repeat(self._last[i][-1:], self.frames_per_action, axis=0))
                continue
            self.world.set_state(self._states[i])
            chunk, r, term, trunc, info = self.world.step(action)
            self._states[i] = self.world.get_state()
            rewards[i], done = self._reward(chunk, action, r, info)
            terminated[i] = term if done is None else (done or term)
            if trunc:
                self._last[i] = chunk
            chunks.append(chunk)
        self.calls += 1
        return Imagined(np.stack(chunks), rewards, terminated)

    def close(self) -> None:
        if hasattr(self.world, "close"):
            self.world.close()


class CopySimulator(Simulator):
    """Ignores the action: every chunk is the start frame repeated T times (the copy baseline: on a forward-biased
    random walk it is "exact" about half the time, which is why only changing transitions count)."""

    name = "copy"

    def __init__(self, frames_per_action: int = 4) -> None:
        self.frames_per_action = frames_per_action
        self._last: np.ndarray | None = None

    def start(self, frames, world_states=None, missions=None, pasts=None) -> None:
        self._last = np.asarray(frames).copy()  # (B, H, W, 3)

    def step(self, actions: Sequence[str]) -> Imagined:
        if self._last is None:
            raise RuntimeError("call start() before step()")
        if len(actions) != len(self._last):
            raise ValueError(f"got {len(actions)} actions for {len(self._last)} rollouts")
        n = len(actions)
        frames = np.repeat(self._last[:, None], self.frames_per_action, axis=1)  # (B, T, H, W, 3)
        return Imagined(frames, np.zeros(n, np.float32), np.zeros(n, bool))
