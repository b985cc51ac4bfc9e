"""``GoalImage``: score simulated rollouts by how close their frames come to a goal image, in the model's encoding.

V-JEPA 2-AC's planning energy, on PAN's encoder: each frame and the goal frame are encoded by the world model's
vision encoder h into patch tokens, and a frame's distance to the goal is the mean absolute difference of the two
token maps (L1 over tokens and channels; pooling the tokens first would lose where the arm is). A rollout scores
``-(its smallest distance over the horizon) - step·ε``: the best frame it reaches, the sooner the better (under MPC
only the first action is executed, so a sequence that passes through the goal is as good as one that stops there).

The same scorer serves the model (its decoded frames: the simulator must decode, ``latent_only=False``) and the true
simulator (its rendered frames), so the two differ only by what the model imagines. The goal is ``rollouts.goal``:
the planner's ``obs["goal"]`` (``pan_gym.eval.goals.search_goal`` finds one per episode).

Example:
    >>> import numpy as np
    >>> from pan_gym.env.models import resolve_model
    >>> from agents.simulators import Rollouts
    >>> goal = np.zeros((64, 64, 3), np.uint8); near, far = goal + 10, goal + 200
    >>> ro = Rollouts(np.zeros((2, 1)), np.zeros((2, 1), bool), np.stack([near, far])[:, None], None, goal=goal)
    >>> s = GoalImage(resolve_model("tiny"))(ro, "reach the goal")
    >>> s.shape, bool(s[0] > s[1])
    ((2,), True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from agents.simulators import Rollouts
from pan_gym.env.spaces import to_frame


class GoalImage:
    """Negative L1 distance, in h's patch tokens, of the best frame of each rollout to the goal image.

    Args:
        model: the ``PanWorldModel`` whose encoder h measures distances.
        step_cost: ε per step before the best frame (prefers the sooner of equal outcomes).
    """

    def __init__(self, model: Any, step_cost: float = 1e-3) -> None:
        self.model, self.step_cost = model, step_cost
        self._goal_key: bytes | None = None
        self._goal_tokens: torch.Tensor | None = None  # (N_vis, D)

    @torch.no_grad()
    def encode(self, frames: np.ndarray) -> torch.Tensor:
        """(B, H, W, 3) uint8 -> patch tokens (B, N_vis, D) float32."""
        return self.model.encode(torch.from_numpy(np.ascontiguousarray(frames))).float()

    def goal_tokens(self, goal: np.ndarray) -> torch.Tensor:
        """The goal frame's tokens (N_vis, D), encoded once per goal."""
        goal = to_frame(np.asarray(goal), self.model.cfg.image_size, "goal")
        key = goal.tobytes()
        if key != self._goal_key:
            self._goal_key, self._goal_tokens = key, self.encode(goal[None])[0]
        return self._goal_tokens

    def distances(self, frames: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """(..., H, W, 3) uint8 frames -> (...,) mean |h(frame) − h(goal)|."""
        flat = frames.reshape(-1, *frames.shape[-3:])
        tokens = self.encode(flat)  # (B, N_vis, D)
        d = (tokens - self.goal_tokens(goal)).abs().mean((1, 2))
        return d.numpy().astype(np.float64).reshape(frames.shape[:-3])

    def pair_distances(self, frames: np.ndarray, goals: np.ndarray) -> np.ndarray:
        """Frames and a goal image for each, uint8 (N, H, W, 3) both -> (N,) mean |h(frame) − h(goal)|."""
        d = (self.encode(frames) - self.encode(goals)).abs().mean((1, 2))
        return d.numpy().astype(np.float64)

    def __call__(self, rollouts: Rollouts, mission: str) -> np.ndarray:
        if rollouts.goal is None:
            raise ValueError("GoalImage needs a goal image: the planner's obs['goal'] (uint8 H×W×3)")
        if rollouts.frames is None:
            raise ValueError("GoalImage reads frames: simulate with latent_only=False")
        d = self.distances(rollouts.frames, rollouts.goal)  # (N, H)
        return -(d + self.step_cost * np.arange(d.shape[1])).min(axis=1)
