"""Gymnasium's FrozenLake as a pan-gym World: language actions in, 64×64 frames out.

The whole recipe for bringing any Gymnasium env (see docs/your_own_world.md):
1. frames: ``env.render()`` with ``render_mode="rgb_array"``, resized to 64×64 (FrozenLake's 4×4 grid becomes
   16-px tiles; ``tile_size`` tells the evaluation to score whole cells);
2. language: a ``Phrasebook`` of action templates with train and held-out paraphrases, parsed back to the
   env's discrete actions;
3. state: ``get_state``/``set_state`` of everything that decides the future (position, last action, RNG);
4. optional extras the tools use when present: ``expert_action`` (for ``policy="expert"``/``"mixed"``),
   ``action_template`` (for grouped random actions).

Example:
    >>> world = FrozenLakeWorld()
    >>> frame, info = world.reset(seed=0)
    >>> frame.shape, info["mission"]
    ((64, 64, 3), 'reach the present')
    >>> frames, reward, terminated, truncated, info = world.step("head right")   # a held-out paraphrase
    >>> frames.shape, info["action"]
    ((2, 64, 64, 3), 'move right')
"""

from __future__ import annotations

import copy
import os
from collections import deque
from typing import Any

import cv2
import gymnasium as gym
import numpy as np

from pan_gym.worlds.base import ActionKind, Split, chunk_indices
from pan_gym.worlds.language import Phrasebook, Template

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # FrozenLake renders with pygame: no window needed
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

# FrozenLake's discrete actions and how each moves (row, col)
DIRECTIONS = {"left": (0, (0, -1)), "down": (1, (1, 0)), "right": (2, (0, 1)), "up": (3, (-1, 0))}

PHRASEBOOK = Phrasebook(
    [
        Template(
            "move {dir}",
            train=("go {dir}", "step {dir}", "walk one tile {dir}", "take a step {dir}"),
            heldout=("head {dir}", "slide {dir}", "shuffle {dir} across the ice"),
        )
    ],
    slots={"dir": tuple(DIRECTIONS)},
    aliases={"west": "left", "east": "right", "north": "up", "south": "down"},
)


class FrozenLakeWorld:
    """``FrozenLake-v1`` behind language actions (see the module docstring).

    Args:
        map_name: ``"4x4"`` or ``"8x8"`` (FrozenLake's maps).
        is_slippery: FrozenLake's slippery ice (the outcome of an action is then random: a harder world to learn).
        frames_per_action: T, frames per chunk (one primitive step per action, repeated to T frames).
    """

    name = "frozenlake"
    frame_shape = (64, 64, 3)

    def __init__(self, map_name: str = "4x4", is_slippery: bool = False, frames_per_action: int = 2) -> None:
        self.env = gym.make(
            "FrozenLake-v1", map_name=map_name, is_slippery=is_slippery, render_mode="rgb_array"
        )
        self.lake = self.env.unwrapped
        self.frames_per_action = frames_per_action
        self.tile_size = 64 // self.lake.ncol  # 16 px on 4×4: the evaluation scores whole cells
        self._rng = np.random.default_rng()

    # ----- episode -----
    def _frame(self) -> np.ndarray:
        return cv2.resize(self.env.render(), (64, 64), interpolation=cv2.INTER_AREA)  # (64, 64, 3) uint8

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is None:
            seed = int(self._rng.integers(2**31 - 1))
        self.env.reset(seed=seed)
        return self._frame(), {"mission": "reach the present"}

    def step(self, action: str) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        canonical = PHRASEBOOK.canonical(action)  # ValueError naming valid examples when unparseable
        direction = canonical.split()[-1]
        _, reward, terminated, truncated, _ = self.env.step(DIRECTIONS[direction][0])
        frames = np.stack([self._frame()])  # one primitive step -> 1 frame; resampled to T below
        info = {"mission": "reach the present", "action": canonical, "kind": "agent"}
        return frames[chunk_indices(1, self.frames_per_action)], float(reward), terminated, truncated, info

    # ----- language -----
    def actions(self, kind: ActionKind = "all") -> list[str]:
        if kind not in ("agent", "environment", "all"):
            raise ValueError(f"kind must be 'agent', 'environment' or 'all', got {kind!r}")
        return [] if kind == "environment" else [f"move {d}" for d in DIRECTIONS]

    def paraphrases(self, split: Split = "train") -> dict[str, list[str]]:
        return PHRASEBOOK.paraphrases(split)

    def action_template(self, action: str) -> str:
        return PHRASEBOOK.template_of(action)

    def expert_action(self, rng: np.random.Generator, **_: Any) -> str:
        """The first move of a shortest hole-free path to the goal (breadth-first search on the map)."""
        desc, n_rows, n_cols = self.lake.desc, self.lake.nrow, self.lake.ncol
        start = divmod(int(self.lake.s), n_cols)
        first: dict[tuple[int, int], str | None] = {start: None}
        queue = deque([start])
        while queue:
            r, c = queue.popleft()
            if desc[r, c] == b"G":
                return f"move {first[(r, c)] or 'right'}"
            for d, (_, (dr, dc)) in DIRECTIONS.items():
                nxt = (r + dr, c + dc)
                if 0 <= nxt[0] < n_rows and 0 <= nxt[1] < n_cols and nxt not in first and desc[nxt] != b"H":
                    first[nxt] = first[(r, c)] or d
                    queue.append(nxt)
        return f"move {list(DIRECTIONS)[int(rng.integers(4))]}"  # no path: any move

    # ----- state -----
    def get_state(self) -> dict[str, Any]:
        return {
            "s": int(self.lake.s),
            "lastaction": self.lake.lastaction,
            "np_random": copy.deepcopy(self.lake.np_random.bit_generator.state),
            "elapsed": getattr(self.env, "_elapsed_steps", None),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.lake.s, self.lake.lastaction = state["s"], state["lastaction"]
        self.lake.np_random.bit_generator.state = copy.deepcopy(state["np_random"])
        if state["elapsed"] is not None:
            self.env._elapsed_steps = state["elapsed"]

    def close(self) -> None:
        self.env.close()
