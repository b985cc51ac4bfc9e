"""The reward/termination head: (predicted state ŝ, mission text) -> (reward, termination logit).

Trained on the world's rewards beside the flow-matching loss; the env uses it by default.

Example:
    >>> import torch
    >>> head = RewardHead(state_dim=32, text_dim=16, hidden=8)
    >>> r, done_logit = head(torch.randn(2, 4, 32), torch.randn(2, 5, 16), torch.ones(2, 5, dtype=torch.bool))
    >>> r.shape, done_logit.shape
    (torch.Size([2]), torch.Size([2]))
"""

from __future__ import annotations

import torch
from torch import nn


class RewardHead(nn.Module):
    def __init__(self, state_dim: int, text_dim: int, hidden: int):
        super().__init__()
        self.mission_in = nn.Linear(text_dim, state_dim)
        self.attn = nn.MultiheadAttention(state_dim, num_heads=1, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(2 * state_dim, hidden), nn.SiLU(), nn.Linear(hidden, 2))

    def forward(
        self, state: torch.Tensor, mission: torch.Tensor, mission_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """state (B, Q, D), mission (B, L, E), mission_mask (B, L) -> reward (B,), termination logit (B,)."""
        m = mission_mask.to(mission.dtype)[..., None]
        goal = self.mission_in((mission * m).sum(1) / m.sum(1).clamp(min=1))  # (B, D)
        read, _ = self.attn(goal[:, None], state, state)  # the goal queries the state: (B, 1, D)
        out = self.mlp(torch.cat([read[:, 0], goal], dim=-1))  # (B, 2)
        return out[:, 0], out[:, 1]
