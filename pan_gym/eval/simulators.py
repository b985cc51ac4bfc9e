"""Imaginers: what the evaluation scores. Each starts a batch of rollouts and imagines the chunk of each action.

- ``ModelImaginer``: a ``PanWorldModel`` (the thing under test).
- ``OracleImaginer``: the true simulator replayed from the saved world states (it must score perfectly).
- ``CopyImaginer``: ignores the action and repeats the last frame (the copy baseline).

An imaginer's chunk length T may differ from the world's: metrics compare the final frame of each chunk.

Example:
    >>> import numpy as np
    >>> from pan_gym.worlds import make_world
    >>> from pan_gym.eval.starts import eval_seeds, start_states
    >>> starts = start_states(make_world("babyai"), eval_seeds(2))
    >>> frames = np.stack([s.frame for s in starts])                     # (B, H, W, 3)
    >>> oracle = OracleImaginer(lambda: make_world("babyai"))
    >>> oracle.start(frames, [s.state for s in starts])
    >>> oracle.step(["turn left", "turn right"]).shape                   # (B, T, H, W, 3)
    (2, 4, 64, 64, 3)
    >>> copy = CopyImaginer(); copy.start(frames)
    >>> bool((copy.step(["turn left", "turn left"])[:, -1] == frames).all())
    True
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from pan_gym.worlds.base import World


@runtime_checkable
class Imaginer(Protocol):
    """A batch of imagined rollouts: ``start`` at frames, then ``step`` a list of B action texts at a time."""

    name: str
    frames_per_action: int  # T of the chunks ``step`` returns

    def start(self, frames: np.ndarray, world_states: Sequence[Any] | None = None) -> None:
        """Begin B rollouts at frames uint8 (B, H, W, 3); ``world_states`` are the matching world snapshots."""
        ...

    def step(self, actions: Sequence[str]) -> np.ndarray:
        """Imagine one action per rollout: frames uint8 (B, T, H, W, 3)."""
        ...


class ModelImaginer:
    """A ``PanWorldModel`` as an imaginer; sampling noise from a ``torch.Generator`` seeded once with ``seed``;
    ``precision`` as the envs take it (``fp32``, ``bf16`` autocast, ``bf16-weights``).

    The model sees only the start frame and the actions (open loop): never a true frame after the start.
    """

    name = "model"

    def __init__(self, model: Any, seed: int = 0, precision: str = "fp32") -> None:
        from pan_gym.env.models import with_precision

        self.model, self._precision = with_precision(model, precision)
        self.frames_per_action = int(model.cfg.frames_per_chunk)
        self.generator = torch.Generator().manual_seed(seed)
        self._state = None

    def start(self, frames: np.ndarray, world_states: Sequence[Any] | None = None) -> None:
        with self._precision():
            self._state = self.model.start(torch.from_numpy(np.ascontiguousarray(frames)))

    def step(self, actions: Sequence[str]) -> np.ndarray:
        if self._state is None:
            raise RuntimeError("call start() before step()")
        with self._precision():
            _, frames = self.model.step(self._state, list(actions), self.generator)
        return frames.cpu().numpy()  # (B, T, H, W, 3)


class OracleImaginer:
    """The true simulator: one world (from ``world_factory``) replays every rollout from its saved state."""

    name = "oracle"

    def __init__(self, world_factory: Callable[[], World]) -> None:
        self.world = world_factory()
        self.frames_per_action = int(self.world.frames_per_action)
        self._states: list[Any] = []

    def start(self, frames: np.ndarray, world_states: Sequence[Any] | None = None) -> None:
        if world_states is None or len(world_states) != len(frames):
            raise ValueError("OracleImaginer needs one world state per start frame")
        self._states = [_copy.deepcopy(s) for s in world_states]

    def step(self, actions: Sequence[str]) -> np.ndarray:
        if len(actions) != len(self._states):
            raise ValueError(f"got {len(actions)} actions for {len(self._states)} rollouts")
        out = []
        for i, action in enumerate(actions):
            self.world.set_state(self._states[i])
            chunk, *_ = self.world.step(action)
            self._states[i] = self.world.get_state()
            out.append(chunk)
        return np.stack(out)  # (B, T, H, W, 3)


class CopyImaginer:
    """Ignores the action: every chunk is the start frame repeated T times (the copy baseline: on a forward-biased
    random walk it is "exact" about half the time, which is why only changing transitions count)."""

    name = "copy"

    def __init__(self, frames_per_action: int = 4) -> None:
        self.frames_per_action = frames_per_action
        self._last: np.ndarray | None = None

    def start(self, frames: np.ndarray, world_states: Sequence[Any] | None = None) -> None:
        self._last = np.asarray(frames).copy()  # (B, H, W, 3)

    def step(self, actions: Sequence[str]) -> np.ndarray:
        if self._last is None:
            raise RuntimeError("call start() before step()")
        if len(actions) != len(self._last):
            raise ValueError(f"got {len(actions)} actions for {len(self._last)} rollouts")
        return np.repeat(self._last[:, None], self.frames_per_action, axis=1)  # (B, T, H, W, 3)
