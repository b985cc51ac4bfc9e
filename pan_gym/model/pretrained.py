"""A ``PanConfig`` made to describe the checkpoints it names: the layout fields of h, f and g read from the local
directories' own configs (``qwen_path/config.json``, ``decoder.path/transformer/config.json``,
``vae.path/config.json``), so a model built from them saves a ``config.json`` that rebuilds the same modules.

A preset states the layout it expects (``paper``: Qwen2.5-VL-7B + Wan2.1-T2V-14B); the directories decide. Without
paths the config is returned unchanged.

Example:
    >>> from pan_gym.config import preset
    >>> config_from_checkpoints(preset("tiny")) == preset("tiny")     # no local paths: nothing to read
    True
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from transformers import Qwen2_5_VLConfig

from pan_gym.config import PanConfig

# fields named alike in EncoderConfig / BackboneConfig and in Qwen2.5-VL's vision / text configs
QWEN_VISION_FIELDS = (
    "depth", "hidden_size", "intermediate_size", "num_heads", "patch_size", "spatial_merge_size",
    "temporal_patch_size", "window_size",
)  # fmt: skip
QWEN_TEXT_FIELDS = (
    "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size",
    "vocab_size", "max_position_embeddings",
)  # fmt: skip


def _qwen_fields(path: str | Path) -> tuple[dict, dict]:
    """(encoder fields, backbone fields) of a local Qwen2.5-VL directory's config."""
    from transformers import Qwen2_5_VLConfig

    qc = Qwen2_5_VLConfig.from_pretrained(path, local_files_only=True)
    v, t = qc.vision_config, qc.text_config
    rope = t.rope_parameters or {}
    encoder = {f: getattr(v, f) for f in QWEN_VISION_FIELDS} | {
        "fullatt_block_indexes": tuple(v.fullatt_block_indexes)
    }
    backbone = {f: getattr(t, f) for f in QWEN_TEXT_FIELDS} | {"rms_norm_eps": t.rms_norm_eps}
    if "rope_theta" in rope:
        backbone["rope_theta"] = float(rope["rope_theta"])
    if "mrope_section" in rope:
        backbone["mrope_section"] = tuple(rope["mrope_section"])
    return encoder, backbone


def _dit_fields(path: str | Path) -> dict:
    """Decoder fields of a local Wan2.1 / SkyReels-V2 diffusers directory's ``transformer/config.json``."""
    from diffusers import SkyReelsV2Transformer3DModel

    c = SkyReelsV2Transformer3DModel.load_config(Path(path) / "transformer", local_files_only=True)
    return dict(
        num_attention_heads=c["num_attention_heads"],
        attention_head_dim=c["attention_head_dim"],
        ffn_dim=c["ffn_dim"],
        num_layers=c["num_layers"],
        patch_size=tuple(c["patch_size"]),
        freq_dim=c["freq_dim"],
        cross_attn_norm=c["cross_attn_norm"],
        rope_max_seq_len=c["rope_max_seq_len"],
        text_dim=c["text_dim"],
    )


def _vae_fields(path: str | Path) -> dict:
    """VAE fields of a local ``AutoencoderKLWan`` directory's config."""
    from diffusers import AutoencoderKLWan

    return dict(latent_channels=AutoencoderKLWan.load_config(path, local_files_only=True)["z_dim"])


def config_from_checkpoints(cfg: PanConfig) -> PanConfig:
    """``cfg`` with the layout fields of every local checkpoint it names replaced by the checkpoint's own (a new,
    validated config; ``cfg`` is not changed). Raises ``OSError`` for a path without a readable config."""
    parts = {}
    if cfg.qwen_path is not None:
        encoder, backbone = _qwen_fields(cfg.qwen_path)
        parts["encoder"] = dataclasses.replace(cfg.encoder, **encoder)
        parts["backbone"] = dataclasses.replace(cfg.backbone, **backbone)
    if cfg.decoder.path is not None:
        parts["decoder"] = dataclasses.replace(cfg.decoder, **_dit_fields(cfg.decoder.path))
    if cfg.vae.kind == "wan" and cfg.vae.path is not None:
        parts["vae"] = dataclasses.replace(cfg.vae, **_vae_fields(cfg.vae.path))
    return dataclasses.replace(cfg, **parts) if parts else cfg


def qwen_config(cfg: PanConfig) -> Qwen2_5_VLConfig:
    """The Qwen2.5-VL config of h and f that ``cfg`` describes (vision tower and language model)."""
    e, b = cfg.encoder, cfg.backbone
    return Qwen2_5_VLConfig(
        vision_config=dict(
            {f: getattr(e, f) for f in QWEN_VISION_FIELDS},
            out_hidden_size=b.hidden_size,
            fullatt_block_indexes=list(e.fullatt_block_indexes),
        ),
        text_config=dict(
            {f: getattr(b, f) for f in QWEN_TEXT_FIELDS},
            **({} if b.rms_norm_eps is None else {"rms_norm_eps": b.rms_norm_eps}),
            bos_token_id=None,
            eos_token_id=None,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": b.rope_theta,
                "mrope_section": list(b.mrope_section),
            },
        ),
    )
