"""FLOPs of one imagined step (one ``env.step``: f over a new round, g's Swin-DPM denoising of one chunk, the VAE
decode, h on the last frame) for a preset, counted with ``torch.utils.flop_counter`` on the meta device (no memory,
no weights), and the seconds it takes on a GPU of a given peak at an assumed model FLOPs utilisation.

g's calls per step, as ``SwinDenoiser.denoise`` makes them: ``sampler_steps / 2`` on the whole window (1 + 2T latent
frames: the chunk beside the previous one) and ``sampler_steps / 2`` on 1 + T frames (the chunk beside its
conditioning frame alone), each on a doubled batch under classifier-free guidance (no prefix reuse then). f runs
one round of new tokens (the round and the Q queries); the attention to the cached history is left out (under 1 %
of the step at the paper's sizes). h is estimated as 2 FLOPs per parameter per patch (not counted: its window
attention does not run on meta tensors).

Example:
    >>> f = step_flops("tiny")
    >>> f["total"] > f["decoder"] > 0
    True
"""

from __future__ import annotations

import torch

from pan_gym.config import PanConfig, preset
from pan_gym.perf.timing import count_flops

H100_BF16_DENSE = 989e12  # FLOP/s, NVIDIA's figure for the H100 SXM without sparsity


def step_flops(name: str | PanConfig, batch: int = 1) -> dict[str, float]:
    """FLOPs of one imagined step of ``batch`` rollouts, by part: ``backbone``, ``decoder``, ``vae``, ``encoder``."""
    from pan_gym.model.decoder import ChunkCondition
    from pan_gym.model.glp import PanWorldModel

    cfg = preset(name) if isinstance(name, str) else name
    model = PanWorldModel.from_config(cfg, device="meta")
    meta = dict(device="meta")
    t, d, q = cfg.frames_per_chunk, model.backbone.lm.config.hidden_size, cfg.backbone.num_queries
    size = cfg.image_size // model.latent.factor
    text_len = 512 if cfg.decoder.text_kind == "umt5" else cfg.text.max_tokens
    text_dim = cfg.decoder.text_dim or model.text.dim
    cfg_batch = batch * (2 if cfg.diffusion.guidance_scale != 1.0 else 1)
    half = cfg.diffusion.sampler_steps / 2
    flops: dict[str, float] = {}

    def dit(frames: int, chunks: int) -> float:
        x = torch.zeros(cfg_batch, model.latent.channels, frames, size, size, **meta)
        cond = ChunkCondition(
            torch.zeros(cfg_batch, text_len, text_dim, **meta),
            torch.ones(cfg_batch, text_len, dtype=torch.bool, **meta),
            torch.zeros(cfg_batch, q, d, **meta),
        )
        return count_flops(lambda: model.decoder(x, torch.zeros(cfg_batch, frames, **meta), [cond] * chunks))[
            0
        ]

    flops["decoder"] = half * dit(1 + 2 * t, 2) + half * dit(1 + t, 1)
    n_round = (
        2 + 2 * q + model.backbone.n_vis + cfg.text.max_tokens
    )  # <user> ŝ h(o) action <assistant> queries
    embeds = torch.zeros(batch, n_round, d, **meta)
    pos = torch.zeros(3, n_round, dtype=torch.long, **meta)
    flops["backbone"] = count_flops(lambda: model.backbone._run(embeds, pos, None))[0]
    if cfg.vae.kind != "pixel":
        z = torch.zeros(batch, model.latent.channels, t, size, size, **meta)
        flops["vae"] = count_flops(
            lambda: model.latent.vae.decode(z.transpose(1, 2).flatten(0, 1)[:, :, None])
        )[0]
    # h on the last frame: 2 FLOPs per parameter per patch (its window attention is not run on meta tensors)
    patches = batch * (cfg.image_size // cfg.encoder.patch_size) ** 2
    flops["encoder"] = 2.0 * sum(p.numel() for p in model.encoder.parameters()) * patches
    flops["total"] = sum(flops.values())
    return flops


def seconds_per_step(flops: float, peak: float = H100_BF16_DENSE, mfu: float = 0.4) -> float:
    """Seconds for ``flops`` on a device of ``peak`` FLOP/s running at ``mfu`` of it."""
    return flops / (peak * mfu)
