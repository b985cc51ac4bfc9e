"""Stage-specific losses that the world model's own ``loss`` does not cover: the VAE stage's autoencoder loss.

Example:
    >>> import torch
    >>> from pan_gym.config import VAEConfig
    >>> from pan_gym.model.vae import KLSpace
    >>> vae = KLSpace(VAEConfig(kind="kl", block_out_channels=(8, 8))).vae
    >>> frames = torch.randint(0, 256, (2, 32, 32, 3), dtype=torch.uint8)
    >>> out = vae_loss(vae, frames, torch.Generator().manual_seed(0))
    >>> sorted(out)
    ['kl', 'loss', 'recon']
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def vae_loss(
    vae: nn.Module, frames: torch.Tensor, generator: torch.Generator | None = None, kl_weight: float = 1e-4
) -> dict[str, torch.Tensor]:
    """L1 + MSE reconstruction of frames uint8 (M, H, W, 3) through a diffusers ``AutoencoderKL`` (a sampled latent),
    plus ``kl_weight`` times the KL to N(0, I) per latent element."""
    x = frames.permute(0, 3, 1, 2).float() / 127.5 - 1.0  # (M, 3, H, W) in [-1, 1]
    post = vae.encode(x).latent_dist
    z = post.mean + post.std * torch.randn(post.mean.shape, generator=generator).to(post.mean)
    rec = vae.decode(z).sample  # (M, 3, H, W)
    recon = F.l1_loss(rec, x) + F.mse_loss(rec, x)
    kl = post.kl().mean() / post.mean[0].numel()
    return {"loss": recon + kl_weight * kl, "recon": recon.detach(), "kl": kl.detach()}
