"""The env's spaces and the checks on what users pass in (action text, observation frames).

Actions are free language: a ``LanguageActionSpace`` (a ``gymnasium.spaces.Text``) over an explicit charset —
ASCII letters, digits, space and ``.,;:!?'"-()/`` — of at most ``MAX_ACTION_LENGTH`` characters, holding at least
one letter or digit. Observations are a ``Dict`` of the imagined chunk ``frames`` uint8 (T, H, W, 3) and the
predicted latent state ``state`` float32 (Q, D).

Example:
    >>> space = action_space()
    >>> space.contains("go to the red ball"), space.contains("...")
    (True, False)
    >>> check_action("  Go to the RED ball. ")
    'go to the red ball'
    >>> to_frame(np.zeros((32, 48, 3), np.uint8), 64).shape
    (64, 64, 3)
"""

from __future__ import annotations

import re
import string
from typing import Any

import cv2
import numpy as np
import torch
from gymnasium import spaces

from pan_gym.worlds.base import normalize_action

PUNCTUATION = ".,;:!?'\"-()/"
ACTION_CHARSET = string.ascii_letters + string.digits + " " + PUNCTUATION
MAX_ACTION_LENGTH = 128
_HAS_WORD = re.compile(r"[A-Za-z0-9]")


class LanguageActionSpace(spaces.Text):
    """``Text`` over ``ACTION_CHARSET`` whose members also hold at least one letter or digit.

    ``sample()`` draws random strings as ``Text`` does, redrawing the rare ones without a letter or digit, so that
    every sample is a valid action (Gymnasium's checkers step with samples).
    """

    def __init__(self, max_length: int = MAX_ACTION_LENGTH, seed: int | np.random.Generator | None = None):
        super().__init__(max_length=max_length, min_length=1, charset=ACTION_CHARSET, seed=seed)

    def contains(self, x: Any) -> bool:
        return super().contains(x) and bool(_HAS_WORD.search(x))

    def sample(self, mask=None, probability=None) -> str:
        while True:
            text = super().sample(mask=mask, probability=probability)
            if _HAS_WORD.search(text):
                return text

    def __repr__(self) -> str:
        return f"LanguageActionSpace(max_length={self.max_length})"


def action_space(max_length: int = MAX_ACTION_LENGTH) -> LanguageActionSpace:
    return LanguageActionSpace(max_length)


def observation_space(frames: int, size: int, num_queries: int, dim: int) -> spaces.Dict:
    """Dict(frames uint8 (T, H, W, 3), state float32 (Q, D)); T = 0 for latent-only envs."""
    return spaces.Dict(
        {
            "frames": spaces.Box(0, 255, (frames, size, size, 3), np.uint8),
            "state": spaces.Box(-np.inf, np.inf, (num_queries, dim), np.float32),
        }
    )


def check_action(action: Any, max_length: int = MAX_ACTION_LENGTH) -> str:
    """The normalised action text, or ``ValueError`` saying what a valid action is."""
    if isinstance(action, np.str_):
        action = str(action)
    if not isinstance(action, str):
        raise ValueError(
            f"an action must be a str (a language action such as 'turn left'), got {type(action).__name__}"
        )
    if len(action) > max_length:
        raise ValueError(f"an action may have at most {max_length} characters, got {len(action)}")
    text = normalize_action(action)
    bad = sorted({c for c in text if c not in ACTION_CHARSET})
    if bad:
        raise ValueError(
            f"action {action!r} has characters outside the action charset: {bad} "
            f"(allowed: ASCII letters, digits, space and {PUNCTUATION})"
        )
    if not _HAS_WORD.search(text):
        raise ValueError(f"an action must contain at least one letter or digit, got {action!r}")
    return text


def check_mission(mission: Any) -> str:
    if not isinstance(mission, str):
        raise ValueError(f"a mission must be a str, got {type(mission).__name__}")
    return mission


def to_frame(frame: Any, size: int, name: str = "observation") -> np.ndarray:
    """Validate a uint8 (H, W, 3) image (numpy or torch) and resize it to (size, size, 3)."""
    if isinstance(frame, torch.Tensor):
        frame = frame.detach().cpu().numpy()
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"{name} must be a uint8 numpy array (H, W, 3), got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[-1] != 3 or 0 in frame.shape:
        raise ValueError(f"{name} must have shape (H, W, 3) (one RGB image), got {frame.shape}")
    if frame.dtype != np.uint8:
        raise ValueError(f"{name} must have dtype uint8 (0..255), got {frame.dtype}")
    if frame.shape[:2] != (size, size):
        interp = cv2.INTER_AREA if min(frame.shape[:2]) >= size else cv2.INTER_NEAREST
        frame = cv2.resize(np.ascontiguousarray(frame), (size, size), interpolation=interp)
    return np.ascontiguousarray(frame)


def to_frames(frames: Any, size: int, num: int, name: str = "observation") -> np.ndarray:
    """One frame (H, W, 3), broadcast to ``num``, or a batch (num, H, W, 3); returns (num, size, size, 3)."""
    arr = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else frames
    if isinstance(arr, np.ndarray) and arr.ndim == 4:
        if arr.shape[0] != num:
            raise ValueError(f"{name} holds {arr.shape[0]} frames for {num} sub-environments")
        return np.stack([to_frame(f, size, name) for f in arr])
    return np.repeat(to_frame(arr, size, name)[None], num, axis=0)
