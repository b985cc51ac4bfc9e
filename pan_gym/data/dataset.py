"""Training windows over collected episodes: every run of N consecutive action steps, read from memory maps.

An item is a dict:
    ``first_frame`` uint8 (H, W, 3): the frame before the window's first action (the episode's first frame, or the
    last frame of the previous chunk); ``frames`` uint8 (N, T, H, W, 3); ``actions`` list of N phrased texts;
    ``canonical_actions`` list of N; ``rewards`` float32 (N,); ``terminated``, ``truncated``, ``is_env_event``
    bool (N,); ``mission`` str.
Episodes shorter than N steps give no window (skipped, not padded). Frames stay on disk until an item is read.

Example:
    >>> import tempfile
    >>> from pan_gym.data.collect import collect
    >>> root = tempfile.mkdtemp()
    >>> _ = collect("babyai", episodes=2, out=root, policy="random", max_steps=6, progress=False)
    >>> ds = load_dataset(root, window=3)
    >>> item = ds[0]
    >>> item["frames"].shape, len(item["actions"])
    (torch.Size([3, 4, 64, 64, 3]), 3)
    >>> batch = collate_windows([ds[0], ds[1]])
    >>> batch["frames"].shape, len(batch["actions"])
    (torch.Size([2, 3, 4, 64, 64, 3]), 2)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tensordict import TensorDict
from torch.utils.data import Dataset

from pan_gym.data.collect import committed_episodes

FLAGS = ("rewards", "terminated", "truncated", "is_env_event")


class WindowDataset(Dataset):
    """All N-step windows of the committed episodes under ``root`` (one directory or several, e.g. a base set and
    an event-rich one; see the module docstring for the item)."""

    def __init__(self, root: str | Path | Sequence[str | Path], window: int = 4) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        roots = [Path(root)] if isinstance(root, (str, Path)) else [Path(r) for r in root]
        for r in roots:
            if not committed_episodes(r):
                raise FileNotFoundError(f"no collected episodes in {r} (write some with `pan-gym collect`)")
        self.roots, self.window = roots, window
        self.paths = [p for r in roots for p in committed_episodes(r)]
        self.meta = [json.loads((p / "episode.json").read_text()) for p in self.paths]
        self.index = [
            (e, s) for e, m in enumerate(self.meta) for s in range(len(m["actions"]) - window + 1)
        ]  # (episode, first step)
        self._episodes: dict[int, TensorDict] = {}  # memory-mapped, opened lazily (per DataLoader worker)

    def __len__(self) -> int:
        return len(self.index)

    def episode(self, e: int) -> TensorDict:
        """The memory-mapped TensorDict of episode ``e``."""
        td = self._episodes.get(e)
        if td is None:
            td = self._episodes[e] = TensorDict.load_memmap(self.paths[e])
        return td

    def __getitem__(self, i: int) -> dict[str, Any]:
        e, s = self.index[i]
        td, meta, n = self.episode(e), self.meta[e], self.window
        first = td["first_frame"] if s == 0 else td["frames"][s - 1, -1]
        item: dict[str, Any] = {
            "first_frame": first.clone(),  # (H, W, 3)
            "frames": td["frames"][s : s + n].clone(),  # (N, T, H, W, 3)
            "actions": meta["actions"][s : s + n],
            "canonical_actions": meta["canonical_actions"][s : s + n],
            "mission": meta["mission"],
        }
        for k in FLAGS:
            item[k] = td[k][s : s + n].clone()  # (N,)
        return item


def load_dataset(root: str | Path | Sequence[str | Path], window: int = 4) -> WindowDataset:
    """The windows of ``window`` consecutive action steps over every committed episode in ``root`` (or roots)."""
    return WindowDataset(root, window)


def collate_windows(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors with a leading B; keep strings as lists (``actions``: B lists of N strings)."""
    return {
        k: torch.stack([it[k] for it in items])
        if isinstance(items[0][k], torch.Tensor)
        else [it[k] for it in items]
        for k in items[0]
    }
