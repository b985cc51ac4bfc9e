"""The JEPA-style alternative to PAN's generative supervision (ablation): latent matching.

With ``backbone.supervision = "latent"`` the encoder h and the backbone f learn from

    ‖P(ŝ_{t+1}) − sg(h(o_{t+1}))‖²  +  latent_var_weight · mean_c relu(1 − std_c(h(o)))

instead of the decoder's flow-matching loss. ``P`` (``LatentPredictor``) maps the Q predicted state slots to the
N_vis tokens of the next frame's encoding: one learned query per visual token cross-attends to ŝ, so ŝ must carry the
whole next frame, token by token. The target is the same encoder's output under stop-gradient (no EMA copy: nothing
outside the loss to update, so DDP, gradient accumulation and resumed runs need no extra state). Collapse guard: a
constant encoder would make the target trivially predictable, so a VICReg-style hinge keeps every channel of h's
tokens at a standard deviation of at least 1 over the batch's tokens (weight ``backbone.latent_var_weight``).

Example:
    >>> import torch
    >>> head = LatentPredictor(dim=32, n_vis=16, num_heads=2)
    >>> s_hat, target = torch.randn(2, 3, 4, 32), torch.randn(2, 3, 16, 32)   # (B, N, Q, D), (B, N, N_vis, D)
    >>> head(s_hat).shape
    torch.Size([2, 3, 16, 32])
    >>> sorted(latent_losses(head(s_hat), target, target))
    ['latent', 'variance']
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LatentPredictor(nn.Module):
    """P: predicted state ŝ (..., Q, D) -> the next frame's visual tokens (..., N_vis, D)."""

    def __init__(self, dim: int, n_vis: int, num_heads: int = 4):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(n_vis, dim) * 0.02)  # (N_vis, D): one query per visual token
        self.norm_q, self.norm_kv = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.mlp = nn.Sequential(
            nn.LayerNorm(dim), nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim)
        )

    def forward(self, s_hat: torch.Tensor) -> torch.Tensor:
        lead, (q, d) = s_hat.shape[:-2], s_hat.shape[-2:]
        kv = self.norm_kv(s_hat.reshape(-1, q, d))  # (B', Q, D)
        query = self.norm_q(self.pos).expand(kv.shape[0], -1, -1)  # (B', N_vis, D)
        x = self.pos + self.attn(query, kv, kv, need_weights=False)[0]
        x = x + self.mlp(x)
        return x.reshape(*lead, *x.shape[-2:])  # (..., N_vis, D)


def latent_losses(pred: torch.Tensor, target: torch.Tensor, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
    """``latent``: MSE of P(ŝ) (..., N_vis, D) against the stop-gradient target of the same shape; ``variance``:
    the collapse guard on h's tokens (..., D), mean over channels of relu(1 − std), std over every other axis."""
    latent = F.mse_loss(pred.float(), target.detach().float())
    flat = tokens.reshape(-1, tokens.shape[-1]).float()  # (M, D)
    std = torch.sqrt(flat.var(dim=0) + 1e-4)  # (D,)
    return {"latent": latent, "variance": F.relu(1.0 - std).mean()}
