"""Rectified flow: ``x_σ = (1−σ)·x_0 + σ·ε``, the model predicts ``v = ε − x_0``; shifted schedule; Euler sampling.

σ is given per frame, so one video window can hold chunks at different noise levels (Causal Swin-DPM).
The sampling schedule comes from diffusers' ``FlowMatchEulerDiscreteScheduler`` (its shift included); the Euler
update itself is applied per frame, since the two chunks of a window sit at different σ.

Example:
    >>> import torch
    >>> x0, eps = torch.zeros(1, 3, 2, 4, 4), torch.ones(1, 3, 2, 4, 4)
    >>> sigma = torch.tensor([[0.25, 0.75]])                    # (B, F): one σ per frame
    >>> add_noise(x0, eps, sigma)[0, 0, :, 0, 0]
    tensor([0.2500, 0.7500])
    >>> sigma_schedule(4, shift=1.0)
    tensor([1.0000, 0.7500, 0.5000, 0.2500, 0.0000])
"""

from __future__ import annotations

import torch
from diffusers import FlowMatchEulerDiscreteScheduler


def _per_frame(sigma: torch.Tensor) -> torch.Tensor:
    """(B, F) -> (B, 1, F, 1, 1), broadcastable against latents (B, C, F, h, w)."""
    return sigma[:, None, :, None, None]


def add_noise(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x_σ for latents (B, C, F, h, w) at per-frame σ (B, F)."""
    s = _per_frame(sigma).to(x0.dtype)
    return (1 - s) * x0 + s * noise


def velocity_target(x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The rectified-flow regression target ``ε − x_0``."""
    return noise - x0


def shift_sigma(u: torch.Tensor, shift: float) -> torch.Tensor:
    """The timestep shift used by Wan/SD3: ``σ = s·u / (1 + (s−1)·u)`` (identity for s = 1)."""
    return shift * u / (1 + (shift - 1) * u)


def sample_u(
    shape: tuple[int, ...], generator: torch.Generator | None = None, logit_normal: bool = True
) -> torch.Tensor:
    """Training noise levels in [0, 1] (unshifted): logit-normal (SD3) or uniform."""
    if logit_normal:
        return torch.sigmoid(torch.randn(shape, generator=generator))
    return torch.rand(shape, generator=generator)


def sigma_schedule(steps: int, shift: float = 1.0) -> torch.Tensor:
    """``steps + 1`` σ values from 1 to 0 (uniform in u, then shifted), via diffusers' flow-match scheduler."""
    scheduler = FlowMatchEulerDiscreteScheduler(shift=shift)
    u = torch.linspace(1.0, 0.0, steps + 1)[:-1]
    scheduler.set_timesteps(sigmas=u.tolist())
    return scheduler.sigmas.float()  # shifted, terminal 0 appended


def euler_step(
    x: torch.Tensor, v: torch.Tensor, sigma: torch.Tensor, sigma_next: torch.Tensor
) -> torch.Tensor:
    """One Euler step of dx/dσ = v from per-frame σ (B, F) to σ_next (B, F)."""
    return x + _per_frame(sigma_next - sigma).to(x.dtype) * v
