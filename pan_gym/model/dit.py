"""The DiT's forward as PAN runs it: diffusers' ``SkyReelsV2Transformer3DModel`` and its blocks, the same modules
and weights, with every per-call input passed explicitly (``WindowInputs``) instead of through diffusers' fixed
block signature, which has no room for per-chunk masks, state tokens or a prefix cache.

``as_state_dit(dit)`` gives a built or loaded diffusers DiT this forward (``StateDiT``, blocks ``StateBlock``):
only ``forward`` changes, so parameter names, state dicts, ``fully_shard`` per block and activation checkpointing
per block are those of the diffusers model. With one chunk, no mask and the state stream at its zero init, the
result is exactly diffusers' (tested).

Example:
    >>> import torch
    >>> from diffusers import SkyReelsV2Transformer3DModel
    >>> dit = as_state_dit(SkyReelsV2Transformer3DModel(num_attention_heads=2, attention_head_dim=16,
    ...     in_channels=3, out_channels=3, text_dim=8, freq_dim=16, ffn_dim=32, num_layers=1))
    >>> x = torch.randn(1, 3, 2, 16, 16)                                  # (B, C, F, h, w)
    >>> window = WindowInputs(rope=dit.rope(x), state=torch.zeros(1, 4, 8), record=True)
    >>> state_attn = torch.nn.ModuleList([StateCrossAttention(32, 8, heads=2)])
    >>> out, kv = dit(x, torch.rand(1, 2) * 1000, torch.randn(1, 5, 8), window, state_attn)
    >>> out.shape, kv[0][0].shape                                         # kv: (B, L, H, d) per block
    (torch.Size([1, 3, 2, 16, 16]), torch.Size([1, 128, 2, 16]))
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import SkyReelsV2Transformer3DModel
from diffusers.models.transformers.transformer_skyreels_v2 import SkyReelsV2TransformerBlock
from torch import nn

KV = tuple[torch.Tensor, torch.Tensor]  # one block's self-attention keys and values, each (B, L, H, d)


@dataclass
class WindowInputs:
    """What one DiT call attends with beside its tokens; ``Decoder`` builds it for each window.
    Masks are bool, True = may attend; ``None`` = no mask."""

    rope: tuple[torch.Tensor, torch.Tensor]  # RoPE cos, sin (1, L, 1, d) of the call's tokens
    state: torch.Tensor  # (B, n·Q, D) the chunks' predicted states ŝ
    self_mask: torch.Tensor | None = None  # (1, 1, L, L) chunk-causal
    text_mask: torch.Tensor | None = None  # (B, 1, L, n·Lt) each token reads its chunk's action text
    state_mask: torch.Tensor | None = None  # (1, 1, L, n·Q) each token reads its chunk's state
    frame_bias: torch.Tensor | None = None  # (B, F, inner) added to the per-frame time embedding (adaLN)
    prefix: list[KV] | None = None  # per block, keys/values of earlier frames, attended before the call's own
    record: bool = False  # return every block's keys/values (a later call's prefix)


class StateCrossAttention(nn.Module):
    """PAN's state stream: video queries attend to the Q state tokens (B, S, state_dim), linear-projected in;
    the output projection is zero-initialised. The query projection is the text cross-attention's own."""

    def __init__(self, dim: int, state_dim: int, heads: int, eps: float = 1e-6):
        super().__init__()
        self.heads = heads
        self.to_k = nn.Linear(state_dim, dim)
        self.to_v = nn.Linear(state_dim, dim)
        self.norm_k = nn.RMSNorm(dim, eps=eps)
        self.to_out = nn.Linear(dim, dim)
        nn.init.zeros_(self.to_out.weight)
        nn.init.zeros_(self.to_out.bias)

    def forward(self, query: torch.Tensor, state: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """query (B, H, L, d) from the text branch, state (B, S, state_dim) -> (B, L, H·d)."""
        b, s = state.shape[:2]
        k = self.norm_k(self.to_k(state)).view(b, s, self.heads, -1).transpose(1, 2)  # (B, H, S, d)
        v = self.to_v(state).view(b, s, self.heads, -1).transpose(1, 2)
        out = F.scaled_dot_product_attention(query, k, v, attn_mask=mask)  # (B, H, L, d)
        return self.to_out(out.transpose(1, 2).flatten(2))


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Wan's RoPE on x (B, L, H, d) with interleaved pairs; cos/sin (1, L, 1, d)."""
    x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
    cos, sin = cos[..., 0::2], sin[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x1 * sin + x2 * cos
    return out.type_as(x)


def self_attention(
    attn, x: torch.Tensor, window: WindowInputs, prefix: KV | None
) -> tuple[torch.Tensor, KV | None]:
    """Wan's self-attention (the projections, norms and RoPE of diffusers' ``SkyReelsV2AttnProcessor``) on x
    (B, L, inner) under the window's mask, after ``prefix``'s keys/values if given; -> (out, this call's (K, V)
    when the window records, else None)."""
    q = attn.norm_q(attn.to_q(x)).unflatten(2, (attn.heads, -1))  # (B, L, H, d)
    k = attn.norm_k(attn.to_k(x)).unflatten(2, (attn.heads, -1))
    v = attn.to_v(x).unflatten(2, (attn.heads, -1))
    q, k = _rotate(q, *window.rope), _rotate(k, *window.rope)
    keys, values = (k, v) if prefix is None else (torch.cat([prefix[0], k], 1), torch.cat([prefix[1], v], 1))
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2), keys.transpose(1, 2), values.transpose(1, 2), attn_mask=window.self_mask
    )  # (B, H, L, d)
    out = attn.to_out[1](attn.to_out[0](out.transpose(1, 2).flatten(2).type_as(q)))
    return out, ((k, v) if window.record else None)


def cross_attention(attn, state_attn: StateCrossAttention, x, text, window: WindowInputs) -> torch.Tensor:
    """Wan's text cross-attention of x (B, L, inner) to text (B, n·Lt, inner), masked per chunk, plus PAN's
    state stream on the same queries."""
    b, n, _ = x.shape
    q = attn.norm_q(attn.to_q(x)).view(b, n, attn.heads, -1).transpose(1, 2)  # (B, H, L, d)
    k = attn.norm_k(attn.to_k(text)).view(b, -1, attn.heads, q.shape[-1]).transpose(1, 2)
    v = attn.to_v(text).view(b, -1, attn.heads, q.shape[-1]).transpose(1, 2)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=window.text_mask).transpose(1, 2).flatten(2)
    out = attn.to_out[1](attn.to_out[0](out.type_as(x)))
    return out + state_attn(q, window.state.to(q.dtype), window.state_mask)


class StateBlock(SkyReelsV2TransformerBlock):
    """A SkyReels-V2/Wan block (its modules and weights) whose forward takes the window's inputs."""

    def forward(
        self,
        x: torch.Tensor,
        text: torch.Tensor,
        temb: torch.Tensor,
        window: WindowInputs,
        state_attn: StateCrossAttention,
        prefix: KV | None = None,
    ) -> tuple[torch.Tensor, KV | None]:
        """x (B, L, inner), text (B, n·Lt, inner), temb (B, 6, L, inner) -> (x, this block's (K, V) when the
        window records)."""
        e = (self.scale_shift_table.unsqueeze(2) + temb.float()).chunk(6, dim=1)
        shift, scale, gate, c_shift, c_scale, c_gate = (t.squeeze(1) for t in e)  # (B, L, inner) each
        normed = (self.norm1(x.float()) * (1 + scale) + shift).type_as(x)
        attn_out, kv = self_attention(self.attn1, normed, window, prefix)
        x = (x.float() + attn_out * gate).type_as(x)
        x = x + cross_attention(self.attn2, state_attn, self.norm2(x.float()).type_as(x), text, window)
        ff = self.ffn((self.norm3(x.float()) * (1 + c_scale) + c_shift).type_as(x))
        return (x.float() + ff.float() * c_gate).type_as(x), kv


class StateDiT(SkyReelsV2Transformer3DModel):
    """The SkyReels-V2/Wan DiT (its modules, weights and config) with per-frame timesteps and explicit window
    inputs; made from a diffusers DiT by ``as_state_dit``."""

    def forward(
        self,
        x: torch.Tensor,
        timestep: torch.Tensor,
        text: torch.Tensor,
        window: WindowInputs,
        state_attn: nn.ModuleList,
    ) -> tuple[torch.Tensor, list[KV] | None]:
        """x (B, C, F, h, w), timestep (B, F) on Wan's 0–1000 scale, text (B, n·Lt, text_dim) ->
        (the output (B, C_out, F, h, w), every block's (K, V) when the window records, else None)."""
        b, _, frames, h, w = x.shape
        p_t, p_h, p_w = self.config.patch_size
        hw = (h // p_h) * (w // p_w)
        tokens = self.patch_embedding(x).flatten(2).transpose(1, 2)  # (B, L, inner)
        emb = self.condition_embedder
        t = emb.timesteps_proj(timestep).to(emb.time_embedder.linear_1.weight.dtype)  # (B, F, freq)
        text = emb.text_embedder(text.to(x.dtype))  # (B, n·Lt, inner)
        temb = emb.time_embedder(t)  # (B, F, inner)
        if window.frame_bias is not None:
            temb = temb + window.frame_bias.to(temb.dtype)
        temb = temb.to(x.dtype)
        proj = emb.time_proj(emb.act_fn(temb)).unflatten(-1, (6, -1))  # (B, F, 6, inner)
        temb = temb.repeat_interleave(hw, dim=1)  # (B, L, inner): each frame's embedding on its tokens
        proj = proj.repeat_interleave(hw, dim=1).transpose(1, 2).contiguous()  # (B, 6, L, inner)
        kv = []
        for i, block in enumerate(self.blocks):
            prefix = None if window.prefix is None else window.prefix[i]
            tokens, block_kv = block(tokens, text, proj, window, state_attn[i], prefix)
            kv.append(block_kv)
        shift, scale = (self.scale_shift_table.unsqueeze(2) + temb.unsqueeze(1)).chunk(2, dim=1)
        tokens = (self.norm_out(tokens.float()) * (1 + scale.squeeze(1)) + shift.squeeze(1)).type_as(tokens)
        tokens = self.proj_out(tokens).reshape(b, frames // p_t, h // p_h, w // p_w, p_t, p_h, p_w, -1)
        out = tokens.permute(0, 7, 1, 4, 2, 5, 3, 6).flatten(6, 7).flatten(4, 5).flatten(2, 3)
        return out, kv if window.record else None


def as_state_dit(dit: SkyReelsV2Transformer3DModel) -> StateDiT:
    """``dit`` itself, its forward (and its blocks') now PAN's: the modules and weights are untouched. Refuses the
    image-conditioned (I2V) and fps-conditioned variants, whose extra inputs this forward does not take."""
    if dit.config.image_dim is not None or dit.config.inject_sample_info:
        raise ValueError(
            "the DiT must be a text-to-video SkyReels-V2/Wan transformer (no image_dim, no fps input)"
        )
    dit.__class__ = StateDiT
    for block in dit.blocks:
        block.__class__ = StateBlock
    return dit
