"""The decoder's latent space: frames uint8 (B, F, H, W, 3) <-> latents float (B, C, F, h, w).

- ``PixelSpace``: frames scaled to [-1, 1]; with DiT patches aligned to the world's tiles this is the strong choice
  at 64x64 (no error floor, and a VAE saves no tokens over 8-px patches there).
- ``KLSpace``: a small per-frame diffusers ``AutoencoderKL`` (trained in the VAE stage), for worlds without tiles.
- ``WanSpace``: Wan2.1's causal 3D ``AutoencoderKLWan`` from a local directory (paper preset, frozen).

Example:
    >>> import torch
    >>> from pan_gym.config import VAEConfig
    >>> space = make_latent_space(VAEConfig(kind="pixel"))
    >>> frames = torch.randint(0, 256, (2, 3, 64, 64, 3), dtype=torch.uint8)
    >>> z = space.encode(frames); z.shape
    torch.Size([2, 3, 3, 64, 64])
    >>> bool((space.decode(z) == frames).all())
    True
"""

from __future__ import annotations

import torch
from torch import nn

from pan_gym.config import VAEConfig


def to_unit(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (B, F, H, W, 3) -> float (B, 3, F, H, W) in [-1, 1]."""
    return frames.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0


def from_unit(x: torch.Tensor) -> torch.Tensor:
    """float (B, 3, F, H, W) in [-1, 1] -> uint8 (B, F, H, W, 3), rounded and clipped."""
    return (
        ((x.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 4, 1).contiguous()
    )


class LatentSpace(nn.Module):
    """Interface: ``encode`` uint8 frames -> latents, ``decode`` latents -> uint8 frames; ``channels``, ``factor``."""

    channels: int
    factor: int  # spatial downsampling

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class PixelSpace(LatentSpace):
    channels, factor = 3, 1

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        return to_unit(frames)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return from_unit(latents)


class KLSpace(LatentSpace):
    """A per-frame ``AutoencoderKL``: time is folded into the batch; latents are the posterior mean, scaled."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        from diffusers import AutoencoderKL

        n = len(cfg.block_out_channels)
        self.vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * n,
            up_block_types=("UpDecoderBlock2D",) * n,
            block_out_channels=tuple(cfg.block_out_channels),
            layers_per_block=cfg.layers_per_block,
            latent_channels=cfg.latent_channels,
            norm_num_groups=min(32, cfg.block_out_channels[0]),
        )
        self.channels, self.factor, self.scale = cfg.latent_channels, 2 ** (n - 1), cfg.scaling_factor

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        b, f = frames.shape[:2]
        x = to_unit(frames).to(self.vae.dtype).transpose(1, 2).flatten(0, 1)  # (B·F, 3, H, W)
        z = self.vae.encode(x).latent_dist.mean * self.scale  # (B·F, C, h, w)
        return z.unflatten(0, (b, f)).transpose(1, 2)  # (B, C, F, h, w)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        b, _, f = latents.shape[:3]
        z = latents.to(self.vae.dtype).transpose(1, 2).flatten(0, 1) / self.scale
        x = self.vae.decode(z).sample.unflatten(0, (b, f)).transpose(1, 2)  # (B, 3, F, H, W)
        return from_unit(x)


class WanSpace(LatentSpace):
    """Wan2.1's causal 3D VAE (frozen), loaded from a local directory; latents normalised by its mean/std.

    Frames are coded one by one (time folded into the batch): a causal VAE codes a lone frame as a first frame,
    without temporal compression, so F frames give F latent frames, as every latent space here does (the window,
    the env's T frames per action). The paper's 4x temporal compression is not used."""

    def __init__(self, cfg: VAEConfig):
        super().__init__()
        from diffusers import AutoencoderKLWan

        if cfg.path is None:
            self.vae = AutoencoderKLWan()
        else:
            self.vae = AutoencoderKLWan.from_pretrained(
                cfg.path, local_files_only=True, torch_dtype=torch.float32
            )
        self.vae.requires_grad_(False)
        c = self.vae.config
        self.channels, self.factor = c.z_dim, 2 ** len(c.temperal_downsample)
        self.register_buffer("mean", torch.tensor(c.latents_mean).view(1, -1, 1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(c.latents_std).view(1, -1, 1, 1, 1), persistent=False)

    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        b, f = frames.shape[:2]
        x = to_unit(frames.flatten(0, 1)[:, None]).to(self.vae.dtype)  # (B·F, 3, 1, H, W)
        z = self.vae.encode(x).latent_dist.mean  # (B·F, C, 1, h, w)
        z = z[:, :, 0].unflatten(0, (b, f)).transpose(1, 2)  # (B, C, F, h, w)
        return (z - self.mean.to(z)) / self.std.to(z)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        b, _, f = latents.shape[:3]
        z = (latents * self.std.to(latents) + self.mean.to(latents)).to(self.vae.dtype)
        x = self.vae.decode(z.transpose(1, 2).flatten(0, 1)[:, :, None]).sample  # (B·F, 3, 1, H, W)
        return from_unit(x[:, :, 0].unflatten(0, (b, f)).transpose(1, 2))  # (B, F, H, W, 3)


def make_latent_space(cfg: VAEConfig) -> LatentSpace:
    """The latent space a config names."""
    spaces = {"pixel": lambda: PixelSpace(), "kl": lambda: KLSpace(cfg), "wan": lambda: WanSpace(cfg)}
    if cfg.kind not in spaces:
        raise ValueError(f"unknown latent space {cfg.kind!r}; known: {sorted(spaces)}")
    return spaces[cfg.kind]()
