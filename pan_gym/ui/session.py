"""An interactive imagination session: the world model env stepped by language actions, the true world shadowing it.

Used by ``pan-gym demo``, ``pan-gym play`` and ``pan-gym web``. The model side is a ``PanWorldModelEnv`` started
from the true world's start frame (open loop: the model never sees a true frame after the start). The true world
executes the same actions for comparison while it understands them; an action it cannot parse (free text the model
accepts) leaves it behind, and the session says so. ``undo`` restores both sides with ``get_state``/``set_state``;
the last ``max_undo`` actions can be taken back (each snapshot holds the model's rollout, a few MB with a shipped
model), so a long session's memory stays bounded.

Example:
    >>> from pan_gym.env.models import resolve_model
    >>> s = Session(resolve_model("tiny"), "babyai")
    >>> start = s.reset(seed=0)
    >>> r = s.step("turn left")
    >>> r.imagined.shape, r.true.shape, s.steps
    ((2, 64, 64, 3), (4, 64, 64, 3), 1)
    >>> s.undo(), s.steps
    (True, 0)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pan_gym.ui.common import frame_figures, side_by_side


@dataclass
class StepResult:
    action: str
    imagined: np.ndarray  # (T, H, W, 3): the model's chunk
    true: np.ndarray | None  # (T_world, H, W, 3): the true world's chunk, None when it could not follow
    reward: float  # the model's predicted reward
    terminated: bool  # the model's predicted termination
    true_reward: float | None = None
    true_done: bool = False
    # imagined vs true final frame (see frame_figures)
    figures: dict[str, float] = field(default_factory=dict)
    note: str = ""  # e.g. why the true world stopped following


@dataclass
class _Undo:
    env_state: Any
    world_state: Any
    in_sync: bool
    history_len: int


class Session:
    """A world model env plus the true world, stepped together; see the module docstring.

    Args:
        model: a loaded ``PanWorldModel``.
        world: a World or a world name; supplies start states and the true frames.
        tile: how cells are read for the cell figures (a size in px or a ``TileBook``; None: PSNR only). Default:
            as the evaluation reads the world (``eval.fidelity.world_tile``).
        max_undo: how many of the last actions ``undo`` can take back (older snapshots are dropped).
    """

    def __init__(self, model: Any, world: Any = "babyai", tile: Any = -1, max_undo: int = 32):
        if not isinstance(max_undo, int) or max_undo < 0:
            raise ValueError(f"max_undo must be an integer >= 0, got {max_undo!r}")
        from pan_gym.env.core import make_world_arg
        from pan_gym.env.world_model_env import PanWorldModelEnv
        from pan_gym.eval.fidelity import world_tile

        self.world = make_world_arg(world)
        self.env = PanWorldModelEnv(model=model, world=None)
        self.model = model
        self.tile = world_tile(self.world) if tile == -1 else tile
        self.size = int(model.cfg.image_size)
        self.mission = ""
        self.seed: int | None = None
        self.start_frame: np.ndarray | None = None
        self.history: list[StepResult] = []
        self.in_sync = True
        self.max_undo = max_undo
        self._undo: deque[_Undo] = deque(maxlen=max_undo)

    @property
    def steps(self) -> int:
        return len(self.history)

    def reset(self, seed: int = 0) -> np.ndarray:
        """Start at the true world's start state for ``seed`` (an integer in [0, 2**32)); returns the start frame
        (H, W, 3). A bad seed is a ``ValueError`` and leaves the session as it was."""
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or not 0 <= seed < 2**32:
            raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
        frame, info = self.world.reset(seed=seed)
        frame = np.asarray(frame, np.uint8)
        if frame.shape != (self.size, self.size, 3):
            import cv2

            frame = cv2.resize(frame, (self.size, self.size), interpolation=cv2.INTER_AREA)
        self.mission, self.seed, self.start_frame = str(info.get("mission", "")), seed, frame
        self.env.reset(seed=seed, options={"observation": frame, "mission": self.mission})
        self.history, self.in_sync = [], True
        self._undo.clear()
        return frame

    def actions(self, kind: str = "all") -> list[str]:
        """Actions the true world understands now (only meaningful while it follows the imagined rollout)."""
        return list(self.world.actions(kind)) if self.in_sync else []

    def step(self, action: str) -> StepResult:
        """Imagine ``action`` (and execute it in the true world while it can follow)."""
        if self.start_frame is None:
            raise RuntimeError("call reset() before step()")
        snap = _Undo(
            self.env.unwrapped.get_state(),
            self.world.get_state() if self.in_sync else None,
            self.in_sync,
            len(self.history),
        )
        obs, reward, terminated, _, _ = self.env.step(action)  # raises ValueError on a bad action text
        result = StepResult(action, obs["frames"], None, float(reward), bool(terminated))
        if self.in_sync:
            try:
                true, r, term, trunc, _ = self.world.step(action)
            except ValueError as e:
                self.in_sync = False
                result.note = f"the true world cannot execute {action!r}, so it stops following: {e}"
            else:
                result.true, result.true_reward, result.true_done = (
                    np.asarray(true),
                    float(r),
                    bool(term or trunc),
                )
                if result.true.shape[1:3] != result.imagined.shape[1:3]:
                    import cv2

                    result.true = np.stack(
                        [
                            cv2.resize(f, (self.size, self.size), interpolation=cv2.INTER_AREA)
                            for f in result.true
                        ]
                    )
                result.figures = frame_figures(result.imagined[-1], result.true[-1], self.tile)
                if result.true_done:
                    self.in_sync = False
                    result.note = "the true episode ended" + (" (mission reached)" if r > 0 else "")
        self._undo.append(snap)
        self.history.append(result)
        return result

    def undo(self) -> bool:
        """Take back the last action (both sides); False when there is nothing (left within ``max_undo``) to undo."""
        if not self._undo:
            return False
        snap = self._undo.pop()
        self.env.unwrapped.set_state(snap.env_state)
        if snap.world_state is not None:
            self.world.set_state(snap.world_state)
        self.in_sync = snap.in_sync
        del self.history[snap.history_len :]
        return True

    def video(self, scale: int = 4, hold: int = 2) -> np.ndarray:
        """The whole session as side-by-side frames (N, h, w, 3): imagined | true, the start held ``hold`` frames."""
        if self.start_frame is None:
            raise RuntimeError("nothing to render: call reset() first")
        first = np.repeat(self.start_frame[None], hold, axis=0)
        parts = [side_by_side(first, first, scale, ("start", "start"))]
        for r in self.history:
            labels = (f"imagined: {r.action}"[:44], "true" if r.true is not None else "true: not followed")
            parts.append(side_by_side(r.imagined, r.true, scale, labels))
        return np.concatenate(parts)

    def close(self) -> None:
        self.env.close()
        if hasattr(self.world, "close"):
            self.world.close()
