"""g: the video DiT decoder — diffusers' ``SkyReelsV2Transformer3DModel`` (Wan2.1 layout, per-frame timesteps)
with PAN's additions:

- a **state cross-attention stream in every block**: the Q predicted state tokens, linear-projected in, attended by
  the video tokens, and added to the text cross-attention output through a **zero-initialised** output projection
  (so a pretrained DiT is unchanged at the start of joint training);
- **per-chunk conditioning**: tokens of chunk c cross-attend only to chunk c's action text and state;
- the **chunk-causal self-attention mask** of Causal Swin-DPM, and a **prefix cache** for it: a call may record
  every layer's self-attention keys/values (``record=True``), and a later call may run only the new chunk's
  frames against them (``prefix=``), as the earlier frames never attend to later ones (``diffusion.reuse_prefix``);
- optionally (``adaln_action``) the pooled action text and state added to the per-frame adaLN embedding, through a
  zero-initialised projection (the standard remedy for weak action conditioning; off in the paper preset);
- optionally (``copy_gate``) one more output channel, a per-pixel gate g: the clean frame is composited as
  g·source + (1 − g)·drawn, where source is the window's clean conditioning frame, so what the action leaves
  alone is copied exactly and only what it changes is drawn.

The DiT runs its blocks through ``model/dit.py``, which passes these masks, states and prefixes to every block as
arguments.

Example:
    >>> import torch
    >>> from pan_gym.config import preset
    >>> cfg = preset("tiny")
    >>> g = Decoder(cfg.decoder, latent_channels=3, text_dim=32, state_dim=32, frames_per_chunk=2)
    >>> x = torch.randn(1, 3, 5, 64, 64)                          # (B, C, 1 + 2T, h, w)
    >>> cond = ChunkCondition(torch.randn(1, 12, 32), torch.ones(1, 12, dtype=torch.bool), torch.randn(1, 4, 32))
    >>> g(x, torch.rand(1, 5), [cond, cond]).sample.shape
    torch.Size([1, 3, 5, 64, 64])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import SkyReelsV2Transformer3DModel
from safetensors.torch import load_file
from torch import nn

from pan_gym.batched import Batched
from pan_gym.config import DecoderConfig
from pan_gym.diffusion.swin_dpm import chunk_causal_mask
from pan_gym.model.dit import StateCrossAttention, StateDiT, WindowInputs, as_state_dit

# the copy gate's initial logit: half open. Nearly closed (−4) it never opened in 250 fine-tuning steps: the pixels
# that should open it are those already drawn almost right, so their gradient is weak beside the changed pixels'
GATE_INIT = 0.0


@dataclass
class ChunkCondition(Batched):
    """What one chunk is conditioned on: its action text tokens and the backbone's predicted state."""

    text: torch.Tensor  # (B, L, E) action text token embeddings
    text_mask: torch.Tensor  # (B, L) bool, True = real token
    state: torch.Tensor  # (B, Q, D) predicted latent state ŝ

    def tensors(self) -> Iterator[torch.Tensor]:
        yield from (self.text, self.text_mask, self.state)

    def dropped(self, drop: torch.Tensor) -> ChunkCondition:
        """Classifier-free guidance: samples where ``drop`` (B,) is True get the null condition (zeros, first token)."""
        keep = (~drop).to(self.text.dtype)
        mask = self.text_mask.clone()
        mask[drop] = False
        mask[drop, 0] = True
        return ChunkCondition(self.text * keep[:, None, None], mask, self.state * keep[:, None, None])


@dataclass
class DecoderOutput:
    """What ``Decoder.forward`` returns. ``sample`` (B, C, F, h, w): the prediction (v̂ = ε − x̂_0, or x̂_0 itself,
    per ``diffusion.prediction``; with the copy gate, composited); ``prefix``: the window's keys/values when
    recorded; with the copy gate, ``drawn`` (B, C, F, h, w), the frame before compositing, and ``gate_logit``
    (B, 1, F, h, w), which training supervises."""

    sample: torch.Tensor
    prefix: FramePrefix | None = None
    drawn: torch.Tensor | None = None
    gate_logit: torch.Tensor | None = None


@dataclass
class FramePrefix(Batched):
    """Self-attention keys/values of the frames before a chunk, one (K, V) pair per DiT block, each (B, L, H, d)
    after the key norm and RoPE: what those frames contribute to a later chunk's attention."""

    kv: list[tuple[torch.Tensor, torch.Tensor]]
    frames: int  # latent frames the keys cover

    def tensors(self) -> Iterator[torch.Tensor]:
        for k, v in self.kv:
            yield from (k, v)


def load_dit(path: str | Path) -> StateDiT:
    """The DiT of a local Wan2.1/SkyReels-V2 diffusers directory (``path/transformer``: config + safetensors,
    sharded or not); Wan's weights load key for key into the SkyReels-V2 class. Local files only."""
    folder = Path(path) / "transformer"
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{folder}: no safetensors weights (expected a diffusers transformer folder)")
    config = SkyReelsV2Transformer3DModel.load_config(folder, local_files_only=True)
    dit = SkyReelsV2Transformer3DModel.from_config(config)
    state = {k: v for f in files for k, v in load_file(str(f)).items()}
    missing, unexpected = dit.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(
            f"{folder}: weights do not fit the DiT: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    return as_state_dit(dit)


class Decoder(nn.Module):
    """The DiT g with per-chunk text and state conditioning over a Swin-DPM window."""

    def __init__(
        self,
        cfg: DecoderConfig,
        latent_channels: int,
        text_dim: int,
        state_dim: int,
        frames_per_chunk: int,
        transformer: SkyReelsV2Transformer3DModel | None = None,
    ):
        super().__init__()
        self.cfg, self.frames_per_chunk = cfg, frames_per_chunk
        channels = (latent_channels, latent_channels + int(cfg.copy_gate))
        if transformer is not None:
            c_in = transformer.config.in_channels
            loaded = (c_in, transformer.config.out_channels or c_in)
            if loaded != channels:
                raise ValueError(
                    f"the loaded DiT has (in, out) channels {loaded}, the decoder needs {channels} "
                    "(decoder.copy_gate adds an output channel: train from a DiT built for it)"
                )
        self.dit = as_state_dit(
            transformer
            or SkyReelsV2Transformer3DModel(
                patch_size=tuple(cfg.patch_size),
                num_attention_heads=cfg.num_attention_heads,
                attention_head_dim=cfg.attention_head_dim,
                in_channels=channels[0],
                out_channels=channels[1],  # + the copy gate's logit
                text_dim=text_dim,
                freq_dim=cfg.freq_dim,
                ffn_dim=cfg.ffn_dim,
                num_layers=cfg.num_layers,
                cross_attn_norm=cfg.cross_attn_norm,
                rope_max_seq_len=cfg.rope_max_seq_len,
            )
        )
        inner = cfg.num_attention_heads * cfg.attention_head_dim
        self.state_attn = nn.ModuleList(
            StateCrossAttention(inner, state_dim, cfg.num_attention_heads) for _ in self.dit.blocks
        )
        self.frame_cond = None
        if cfg.adaln_action:
            self.frame_cond = nn.Sequential(
                nn.Linear(text_dim + state_dim, inner), nn.SiLU(), nn.Linear(inner, inner)
            )
            nn.init.zeros_(self.frame_cond[-1].weight)
            nn.init.zeros_(self.frame_cond[-1].bias)
        if cfg.copy_gate and transformer is None:
            with torch.no_grad():
                gate_w, gate_b = self.gate_params()
                gate_w.zero_(), gate_b.fill_(GATE_INIT)

    def add_gate_rows(self, tensors: dict[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
        """Saved weights (keys under ``prefix``) of a decoder without ``copy_gate`` made to fit this one: the gate's
        output rows as this decoder initialised them (zero weight, logit ``GATE_INIT``: half open until training
        says where to copy), every saved weight as saved. How a trained model is fine-tuned into the gate."""
        tensors = dict(tensors)
        for name, gate in zip(("weight", "bias"), self.gate_params(), strict=True):  # gate (P, …)
            key = f"{prefix}dit.proj_out.{name}"
            if (
                self.cfg.copy_gate
                and key in tensors
                and tensors[key].shape[0] < self.dit.proj_out.out_features
            ):
                # rows are (patch position, channel): (P, C, …), one gate row appended per position
                saved = tensors[key].unflatten(0, (gate.shape[0], -1))
                tensors[key] = torch.cat([saved, gate.detach()[:, None].to(saved)], dim=1).flatten(0, 1)
        return tensors

    def gate_params(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Views of the copy gate's rows of the output projection: weight (P, D), bias (P,), P = pt·ph·pw."""
        c = self.dit.config.out_channels
        proj = self.dit.proj_out
        return proj.weight.unflatten(0, (-1, c))[:, -1], proj.bias.unflatten(0, (-1, c))[:, -1]

    def _window(
        self, conds: list[ChunkCondition], x: torch.Tensor, prefix: FramePrefix | None, record: bool
    ) -> WindowInputs:
        """The window's attention inputs: the chunk-causal mask, per-chunk text and state masks, RoPE (placed after
        the prefix's frames when there is one), the frame biases."""
        t, n, (_, c, frames, h, w), device = self.frames_per_chunk, len(conds), x.shape, x.device
        _, ph, pw = self.cfg.patch_size
        hw = (h // ph) * (w // pw)
        cond_frames = frames - n * t
        # chunk of each query token; the conditioning frames take the first chunk's condition
        q_chunk = torch.cat(
            [torch.zeros(cond_frames, dtype=torch.long), torch.arange(n).repeat_interleave(t)]
        )
        q_chunk = q_chunk.repeat_interleave(hw).to(device)  # (L,)
        lt, q = conds[0].text.shape[1], conds[0].state.shape[1]
        key_chunk_t = torch.arange(n, device=device).repeat_interleave(lt)  # (n·Lt,)
        text_valid = torch.cat([c.text_mask for c in conds], dim=1)  # (B, n·Lt)
        key_chunk_s = torch.arange(n, device=device).repeat_interleave(q)
        if prefix is None:
            rope, self_mask = (
                self.dit.rope(x),
                chunk_causal_mask(n, t, hw, cond_frames).to(device)[None, None],
            )
        else:  # the chunk after a prefix sees every frame, at the positions after the prefix's
            whole = self.dit.rope(x.new_empty((1, c, prefix.frames + frames, h, w)))
            rope, self_mask = tuple(r[:, -frames * hw :] for r in whole), None
        window = WindowInputs(
            rope=rope,
            state=torch.cat([c.state for c in conds], dim=1),  # (B, n·Q, D)
            self_mask=self_mask,
            text_mask=((q_chunk[:, None] == key_chunk_t[None, :])[None] & text_valid[:, None, :])[:, None],
            state_mask=(q_chunk[:, None] == key_chunk_s[None, :])[None, None],
            prefix=None if prefix is None else prefix.kv,
            record=record,
        )
        if self.frame_cond is not None:
            pooled = []
            for cond in conds:
                m = cond.text_mask.to(cond.text.dtype)[..., None]
                text = (cond.text * m).sum(1) / m.sum(1).clamp(min=1)  # (B, E)
                pooled.append(self.frame_cond(torch.cat([text, cond.state.mean(1)], dim=-1)))  # (B, inner)
            per_chunk = torch.stack(pooled, dim=1)  # (B, n, inner)
            window.frame_bias = per_chunk[:, q_chunk.view(frames, hw)[:, 0]]  # (B, F, inner)
        return window

    def forward(
        self,
        x: torch.Tensor,
        sigma: torch.Tensor,
        conds: list[ChunkCondition],
        prefix: FramePrefix | None = None,
        record: bool = False,
        source: torch.Tensor | None = None,
    ) -> DecoderOutput:
        """The DiT's prediction for a window x (B, C, F, h, w) at per-frame σ (B, F); F = cond_frames + len(conds)·T.

        ``prefix``: x is one chunk (F = T, ``conds`` its condition) placed after the prefix's frames, attending to
        them and to itself. ``record``: also return this window's keys/values (``DecoderOutput.prefix``).
        ``source`` (B, C, 1, h, w): the window's conditioning frame before its noise, what ``copy_gate`` copies
        (needed then)."""
        if self.cfg.copy_gate and source is None:
            raise ValueError("decoder.copy_gate needs source=: the window's clean conditioning frame")
        c, frames = x.shape[1:3]
        text = torch.cat([cond.text for cond in conds], dim=1)  # (B, n·Lt, E)
        timestep = sigma * 1000.0  # (B, F) on Wan's scale
        out, kv = self.dit(x, timestep, text, self._window(conds, x, prefix, record), self.state_attn)
        drawn = logit = None
        if self.cfg.copy_gate:  # x̂_0 = g·source + (1 − g)·drawn, per pixel
            drawn, logit = out[:, :c], out[:, c:]  # (B, C, F, h, w), (B, 1, F, h, w)
            out = drawn + torch.sigmoid(logit.float()).to(out.dtype) * (source.to(out.dtype) - drawn)
        return DecoderOutput(out, FramePrefix(kv, frames) if record else None, drawn, logit)


class Velocity:
    """What the Swin-DPM sampler calls (``diffusion.swin_dpm.VelocityFn``): the decoder's prediction as a velocity
    v (B, C, F, h, w) at per-frame σ (B, F), with classifier-free guidance when ``guidance_scale`` is not 1
    (conditioned and dropped conditions in one doubled batch; no prefix cache then). ``record=True`` returns
    (v, prefix); ``source`` is the window's clean conditioning frame (``decoder.copy_gate``)."""

    def __init__(self, decoder: Decoder, guidance_scale: float = 1.0, prediction: str = "v"):
        self.decoder, self.guidance_scale, self.prediction = decoder, guidance_scale, prediction

    def __call__(self, x, sigma, conds: list[ChunkCondition], prefix=None, record: bool = False, source=None):
        g, recorded = self.guidance_scale, None
        if g == 1.0:
            pred = self.decoder(x, sigma, conds, prefix=prefix, record=record, source=source)
            out, recorded = pred.sample, pred.prefix
        else:
            drop = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
            both = [
                ChunkCondition(
                    torch.cat([c.text, c.dropped(drop).text]),
                    torch.cat([c.text_mask, c.dropped(drop).text_mask]),
                    torch.cat([c.state, c.dropped(drop).state]),
                )
                for c in conds
            ]
            src = None if source is None else torch.cat([source, source])
            pred = self.decoder(torch.cat([x, x]), torch.cat([sigma, sigma]), both, source=src)
            o_cond, o_uncond = pred.sample.chunk(2)
            out = o_uncond + g * (o_cond - o_uncond)
        if self.prediction == "x0":  # v = (x_σ − x̂_0) / σ: an Euler step to σ = 0 lands on x̂_0
            out = (x - out) / sigma[:, None, :, None, None].clamp(min=1e-3).to(x.dtype)
        return (out, recorded) if record else out
