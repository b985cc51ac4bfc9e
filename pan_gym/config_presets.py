"""The named configs ``pan_gym.config.preset`` builds: tiny, small, mid and paper (see ``pan_gym.config``).

Example:
    >>> PRESETS["small"]().image_size
    64
"""

from __future__ import annotations

import dataclasses

from pan_gym.config import (
    BackboneConfig,
    DecoderConfig,
    DiffusionConfig,
    EncoderConfig,
    PanConfig,
    RewardConfig,
    TextConfig,
    VAEConfig,
)

# the vision tower of every Qwen2.5-VL size (3B, 7B, 72B): 14x14 patches, 2x2 merge, window attention
_QWEN_VISION = EncoderConfig(
    depth=32,
    hidden_size=1280,
    intermediate_size=3420,
    num_heads=16,
    patch_size=14,
    spatial_merge_size=2,
    temporal_patch_size=2,
    window_size=112,
    fullatt_block_indexes=(7, 15, 23, 31),
    freeze=True,
)


def _tiny() -> PanConfig:
    return PanConfig(
        frames_per_chunk=2,
        encoder=EncoderConfig(
            depth=1,
            hidden_size=32,
            intermediate_size=64,
            num_heads=2,
            patch_size=16,
            fullatt_block_indexes=(0,),
        ),
        backbone=BackboneConfig(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            intermediate_size=64,
            mrope_section=(2, 3, 3),
            num_queries=4,
            max_rounds=3,
            keep_rounds=2,
        ),
        text=TextConfig(kind="minilm-scratch", scratch_hidden_size=32, max_tokens=12),
        decoder=DecoderConfig(
            num_attention_heads=2,
            attention_head_dim=16,
            ffn_dim=64,
            num_layers=2,
            patch_size=(1, 16, 16),
            freq_dim=32,
        ),
        reward=RewardConfig(hidden_size=16),
    )


def _small() -> PanConfig:
    # x0-prediction and training on the 2-step sampler's own noise levels: v-prediction did not learn with 8-px
    # pixel patches on a CPU budget (benchmarks/RESULTS.md, "Default BabyAI model: recipe experiments")
    return PanConfig(diffusion=DiffusionConfig(prediction="x0", grid_prob=0.5, logit_normal=False))


def _paper() -> PanConfig:
    # Qwen2.5-VL-7B-Instruct and Wan2.1-T2V-14B; 832x480 at 20 fps in the paper (we keep the layouts).
    return PanConfig(
        image_size=448,
        frames_per_chunk=21,
        encoder=dataclasses.replace(_QWEN_VISION),  # a copy: configs are mutable
        backbone=BackboneConfig(
            hidden_size=3584,
            num_hidden_layers=28,
            num_attention_heads=28,
            num_key_value_heads=4,
            intermediate_size=18944,
            vocab_size=152064,
            mrope_section=(16, 24, 24),
            num_queries=256,
            freeze=True,
            max_position_embeddings=128000,
            rms_norm_eps=1e-6,
        ),
        text=TextConfig(kind="qwen", max_tokens=64),
        vae=VAEConfig(kind="wan", latent_channels=16),
        decoder=DecoderConfig(
            num_attention_heads=40,
            attention_head_dim=128,
            ffn_dim=13824,
            num_layers=40,
            patch_size=(1, 2, 2),
            text_kind="umt5",
            text_dim=4096,
            adaln_action=False,
        ),
        diffusion=DiffusionConfig(sampler_steps=50, shift=5.0, guidance_scale=4.0),
        reward=RewardConfig(hidden_size=1024),
    )


def _mid() -> PanConfig:
    # Qwen2.5-VL-3B-Instruct and Wan2.1-T2V-1.3B: the paper's recipe at a size one 80 GB GPU fine-tunes
    # (docs/paper_scale.md gives the budget, pan_gym.paper.budget computes it)
    paper = _paper()
    return dataclasses.replace(
        paper,
        frames_per_chunk=9,
        backbone=dataclasses.replace(
            paper.backbone,
            hidden_size=2048,
            num_hidden_layers=36,
            num_attention_heads=16,
            num_key_value_heads=2,
            intermediate_size=11008,
            vocab_size=151936,
        ),
        decoder=dataclasses.replace(
            paper.decoder, num_attention_heads=12, attention_head_dim=128, ffn_dim=8960, num_layers=30
        ),
    )


PRESETS = {"tiny": _tiny, "small": _small, "mid": _mid, "paper": _paper}
