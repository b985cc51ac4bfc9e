"""Parameter counts and the GPU memory a preset needs to fine-tune with PAN's recipe, computed on the meta device.

The recipe (``pan-gym train --stage joint --bf16 --activation-checkpointing``): h, the Qwen LM, the VAE and UMT5
frozen; the queries, the DiT with its state stream, and the small heads trained with AdamW. Weights stay float32
(frozen ones too: one float dtype per model file) but UMT5's, which is bf16 and never saved; the forward runs under
bf16 autocast, which caches
a bf16 copy of each trained weight (it caches casts of leaves that need gradients only); each checkpointed block keeps only its bf16 input, and one block at a time holds its full
activations while it runs again. Under FSDP2 weights, gradients and optimizer state are split over the GPUs.

    weights      4 B x parameters (UMT5: 2 B)         grads   4 B x trained        AdamW   8 B x trained
    bf16 copies  2 B x trained
    activations  per block input (L x D x 2 B) x blocks + one block's working set + the attention masks

Example:
    >>> b = memory_budget("tiny")
    >>> b.params["decoder"] > 0 and b.total_gb < 1
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from pan_gym.config import PanConfig, preset

GB = 1e9
# Wan2.1's text encoder, umT5-XXL's encoder (google/umt5-xxl), the same for the 1.3B and the 14B DiT
UMT5_XXL = dict(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                feed_forward_proj="gated-gelu")  # fmt: skip


@dataclass
class MemoryBudget:
    """Parameters by part, and GB of GPU memory by kind for one training step (per GPU under FSDP2)."""

    params: dict[str, int]  # parameters by top-level part (umt5 included when the decoder reads it)
    trained: int  # parameters AdamW updates
    gb: dict[str, float] = field(default_factory=dict)  # weights, grads, adam, bf16_copies, activations

    @property
    def total_params(self) -> int:
        return sum(self.params.values())

    @property
    def total_gb(self) -> float:
        return sum(self.gb.values())


def umt5_xxl_params() -> int:
    """Parameters of umT5-XXL's encoder (built on the meta device)."""
    from transformers import UMT5Config, UMT5EncoderModel

    with torch.device("meta"):
        return sum(p.numel() for p in UMT5EncoderModel(UMT5Config(**UMT5_XXL)).parameters())


def parameter_counts(cfg: PanConfig) -> tuple[dict[str, int], int]:
    """(parameters by part, trained parameters) of ``cfg``'s model built on the meta device, for the joint stage."""
    from pan_gym.model.glp import PanWorldModel
    from pan_gym.train.stages import select_trainable

    model = PanWorldModel.from_config(cfg, device="meta")
    select_trainable(model, "joint")
    parts: dict[str, int] = {}
    for name, p in model.named_parameters():
        top = name.split(".", 1)[0]
        top = "lm" if name.startswith("backbone.lm.") else top
        parts[top] = parts.get(top, 0) + p.numel()
    if cfg.decoder.text_kind == "umt5" and model.decoder_text is None:  # not built without a local directory
        parts["umt5"] = umt5_xxl_params()
    return parts, sum(p.numel() for p in model.parameters() if p.requires_grad)


def _tokens(cfg: PanConfig, window: int) -> tuple[int, int]:
    """(LM tokens of a teacher-forced window of ``window`` rounds, DiT tokens of one Swin-DPM window)."""
    e, b, d = cfg.encoder, cfg.backbone, cfg.decoder
    n_vis = (cfg.image_size // e.patch_size) ** 2 // e.spatial_merge_size**2
    lm = window * (2 + 2 * b.num_queries + n_vis + cfg.text.max_tokens)
    factor = {"pixel": 1, "kl": 2 ** (len(cfg.vae.block_out_channels) - 1), "wan": 8}[cfg.vae.kind]
    per_frame = (cfg.image_size // factor // d.patch_size[1]) ** 2
    return lm, (1 + 2 * cfg.frames_per_chunk) * per_frame


def memory_budget(
    name: str | PanConfig, batch: int = 1, window: int = 4, gpus: int = 1, checkpointing: bool = True
) -> MemoryBudget:
    """The budget of fine-tuning preset ``name`` (or a config) with ``batch`` windows of ``window`` action rounds
    per GPU, over ``gpus`` GPUs with FSDP2 (see the module docstring for what each figure counts)."""
    cfg = preset(name) if isinstance(name, str) else name
    parts, trained = parameter_counts(cfg)
    total = sum(parts.values())
    b, d = cfg.backbone, cfg.decoder
    lm_tokens, dit_tokens = _tokens(cfg, window)
    inner = d.num_attention_heads * d.attention_head_dim
    act = 0.0
    for tokens, width, ffn, layers in (
        (lm_tokens, b.hidden_size, b.intermediate_size, b.num_hidden_layers),
        (dit_tokens, inner, d.ffn_dim, d.num_layers),
    ):
        working = tokens * (12 * width + 3 * ffn) * 2  # q, k, v, attention out, norms, residuals, MLP (bf16)
        kept = tokens * width * 2 * layers if checkpointing else working * layers
        act += batch * (kept + (working if checkpointing else 0))
    act += lm_tokens**2 * 4 + dit_tokens**2  # the LM's additive float mask, the DiT's bool chunk-causal mask
    gb = dict(
        weights=(4 * (total - parts.get("umt5", 0)) + 2 * parts.get("umt5", 0)) / gpus / GB,
        grads=4 * trained / gpus / GB,
        adam=8 * trained / gpus / GB,
        bf16_copies=2 * trained / gpus / GB,
        activations=act / GB,
    )
    return MemoryBudget(parts, trained, gb)
