"""The World protocol: a ground-truth simulator behind a language interface.

A world executes a language action (an agent action such as "pick up the blue key", or an environment event such as
"a green box appears next to the door") as a short scripted sequence of primitive simulator steps and returns the
rendered chunk of frames. Worlds are the data source for training and the judge for evaluation.

Example:
    >>> from pan_gym.worlds import make_world
    >>> world = make_world("babyai")
    >>> frame, info = world.reset(seed=0)
    >>> frames, reward, terminated, truncated, info = world.step(world.actions("agent")[0])
    >>> frames.shape == (world.frames_per_action, 64, 64, 3)
    True
"""

from __future__ import annotations

import re
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

ActionKind = Literal["agent", "environment", "all"]
Split = Literal["train", "heldout"]


def normalize_action(text: str) -> str:
    """Lower-case, trim, collapse whitespace and drop trailing punctuation: the canonical form of an action text."""
    if not isinstance(text, str):
        raise TypeError(f"an action must be a str, got {type(text).__name__}")
    return re.sub(r"\s+", " ", text.strip().lower()).rstrip(".!?")


def chunk_indices(k: int, t: int) -> np.ndarray:
    """Which of k frames make a chunk of t: ``round(linspace(0, k-1, t))``, evenly spaced and ending on the last
    (frames repeat when k < t); a chunk of one frame is the last frame, the action's outcome. Every world's chunks
    and every resampling of them follow this rule."""
    if t == 1:
        return np.array([k - 1])
    return np.rint(np.linspace(0, k - 1, t)).astype(int)


@runtime_checkable
class World(Protocol):
    """What every world provides. Frames are uint8 (H, W, 3); a step returns a chunk of ``frames_per_action`` frames."""

    name: str
    frame_shape: tuple[int, int, int]  # (H, W, 3)
    frames_per_action: int  # T: frames in the chunk that one action returns

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; returns the first frame (H, W, 3) and info with ``info["mission"]``."""
        ...

    def step(self, action: str) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Execute a language action; returns (frames (T, H, W, 3), reward, terminated, truncated, info).

        Raises ``ValueError`` naming the action and a few valid examples when the text cannot be parsed.
        """
        ...

    def actions(self, kind: ActionKind = "all") -> list[str]:
        """The language actions (canonical train phrasing) valid in the current state."""
        ...

    def paraphrases(self, split: Split = "train") -> dict[str, list[str]]:
        """Canonical action template -> phrasings of that split (``step`` accepts every phrasing of both splits)."""
        ...

    def get_state(self) -> Any:
        """An opaque snapshot of the whole simulation (including RNG)."""
        ...

    def set_state(self, state: Any) -> None:
        """Restore a snapshot: the same state and the same action give identical frames."""
        ...

    def close(self) -> None: ...
