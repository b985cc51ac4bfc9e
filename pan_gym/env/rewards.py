"""Rewards of imagined steps: the model's learned head, a goal in latent space, or a user callable.

- ``"model"`` (default): ``model.reward(ŝ, mission)``, the head trained on the world's rewards; terminated when its
  termination probability exceeds ``termination_threshold``.
- ``"goal"``: ``−‖mean h(goal) − mean h(ô)‖₂``, the L2 distance between the mean-pooled vision encodings of the
  goal frame and of the last imagined frame (latent-only steps, which draw no frame, use the mean of ŝ instead of
  h(ô)). The goal is given at reset as ``options={"goal": frame}`` (uint8 H×W×3) or as a latent (D,) / (N, D).
  Terminated when the distance falls below ``goal_threshold`` (never if None).
- a callable ``reward_fn(obs, action, info)`` returning a reward or ``(reward, terminated)``.

Example:
    >>> import torch
    >>> from pan_gym.env.models import resolve_model
    >>> rewarder = Rewarder(resolve_model("tiny"), "model")
    >>> r, done = rewarder.batch(torch.zeros(2, 4, 32), None, ["go to the red ball"] * 2, [None, None])
    >>> r.shape, r.dtype, done.dtype
    ((2,), dtype('float32'), dtype('bool'))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from pan_gym.env.spaces import to_frame

RewardFn = Callable[[dict, str, dict], "float | tuple[float, bool]"]


class Rewarder:
    """Computes (reward, terminated) for a batch of imagined steps in one of the three modes above."""

    def __init__(
        self,
        model,
        reward: str | RewardFn = "model",
        termination_threshold: float = 0.5,
        goal_threshold: float | None = None,
    ):
        if not (callable(reward) or reward in ("model", "goal")):
            raise ValueError(
                f"reward must be 'model', 'goal' or a callable(obs, action, info), got {reward!r}"
            )
        self.model, self.mode = model, reward if isinstance(reward, str) else "callable"
        self.fn = reward if callable(reward) else None
        self.termination_threshold, self.goal_threshold = termination_threshold, goal_threshold

    @torch.no_grad()
    def goal_latent(self, goal: Any) -> torch.Tensor:
        """A goal frame uint8 (H, W, 3) or latent (D,) / (N, D) -> mean-pooled latent (D,)."""
        d = self.model.backbone.queries.shape[-1]
        if isinstance(goal, (np.ndarray, torch.Tensor)) and goal.dtype in (np.uint8, torch.uint8):
            frame = torch.from_numpy(to_frame(goal, self.model.cfg.image_size, "goal"))
            return self.model.encode(frame[None])[0].mean(0).float()  # (D,)
        lat = torch.as_tensor(np.asarray(goal, dtype=np.float32))
        if lat.ndim not in (1, 2) or lat.shape[-1] != d or not torch.isfinite(lat).all():
            raise ValueError(
                f"goal must be a uint8 frame (H, W, 3) or a finite latent of shape ({d},) or (N, {d}), "
                f"got {getattr(goal, 'dtype', type(goal))} {tuple(lat.shape)}"
            )
        return lat if lat.ndim == 1 else lat.mean(0)

    @torch.no_grad()
    def batch(
        self,
        s_hat: torch.Tensor,
        vis: torch.Tensor | None,
        missions: list[str],
        goals: list[torch.Tensor | None],
    ) -> tuple[np.ndarray, np.ndarray]:
        """s_hat (B, Q, D); vis h(ô) (B, N_vis, D) or None after latent-only steps -> rewards (B,), terminated (B,).

        Callable rewards are applied by the env once the observation exists (here they return zeros)."""
        b = s_hat.shape[0]
        if self.mode == "model":
            r, p = self.model.reward(s_hat, list(missions))
            r, p = r.float(), p.float()
            if not (torch.isfinite(r).all() and torch.isfinite(p).all()):
                raise RuntimeError("the model's reward head produced non-finite values (NaN/inf)")
            return r.cpu().numpy(), (p > self.termination_threshold).cpu().numpy()
        if self.mode == "goal":
            if any(g is None for g in goals):
                raise RuntimeError("reward='goal' needs a goal: reset(options={'goal': frame_or_latent})")
            at = (vis if vis is not None else s_hat).float().mean(1)  # (B, D)
            dist = (at - torch.stack(goals).to(at)).norm(dim=-1)  # (B,)
            done = (
                dist < self.goal_threshold if self.goal_threshold is not None else torch.zeros(b, dtype=bool)
            )
            return (-dist).cpu().numpy().astype(np.float32), done.cpu().numpy()
        return np.zeros(b, np.float32), np.zeros(b, bool)

    def call(self, obs: dict, action: str, info: dict, reward: float, terminated: bool) -> tuple[float, bool]:
        """Apply a user callable (if any) to one finished step."""
        if self.fn is None:
            return reward, terminated
        out = self.fn(obs, action, info)
        r, done = out if isinstance(out, tuple) else (out, False)
        if not np.isfinite(float(r)):
            raise RuntimeError(f"reward_fn returned a non-finite reward {r!r}")
        return float(r), bool(done)
