"""PanWorldModel: PAN's generative latent prediction (GLP) — encoder h, backbone f, decoder g — in one module.

    ŝ_t = h(o_t)            the Qwen2.5-VL vision tower          (model/encoder.py)
    ŝ_{t+1} = f(history, a_t)  Qwen2.5-VL LM + learned queries  (model/backbone.py)
    ô_{t+1} = g(ŝ_{t+1}, ô_t)  SkyReels-V2/Wan DiT, Causal Swin-DPM (model/decoder.py, diffusion/)

Trained end to end through the decoder's flow-matching loss (``loss``); at inference ``start`` encodes a first
frame, ``predict`` runs the backbone for a batch of language actions, ``decode`` renders the chunk, ``observe``
feeds a true outcome instead (a rollout that starts from a known past).

Example:
    >>> import torch
    >>> model = PanWorldModel.from_preset("tiny")
    >>> frame = torch.zeros(1, 64, 64, 3, dtype=torch.uint8)
    >>> state = model.start(frame)
    >>> s_hat = model.predict(state, ["turn left"])            # (B, Q, D)
    >>> frames = model.decode(state, torch.Generator().manual_seed(0))
    >>> s_hat.shape, frames.shape, frames.dtype
    (torch.Size([1, 4, 32]), torch.Size([1, 2, 64, 64, 3]), torch.uint8)
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import Qwen2_5_VLModel

from pan_gym.batched import Batched
from pan_gym.config import PanConfig, apply_overrides, preset
from pan_gym.diffusion.swin_dpm import SwinDenoiser, SwinState
from pan_gym.model import io
from pan_gym.model.backbone import Backbone, BackboneCache, as_adapted
from pan_gym.model.decoder import ChunkCondition, Decoder, Velocity, load_dit
from pan_gym.model.encoder import VisionEncoder
from pan_gym.model.glp_loss import TrainingWindow, glp_loss, predict_states, sample_window
from pan_gym.model.pretrained import config_from_checkpoints, qwen_config
from pan_gym.model.registry import model_class
from pan_gym.model.reward import RewardHead
from pan_gym.model.text import ActionTextEncoder, MiniLMTextEncoder, QwenTextEncoder, UMT5TextEncoder
from pan_gym.model.vae import make_latent_space


@dataclass
class RolloutState(Batched):
    """Everything a rollout carries between steps. Every tensor is batch-first: ``select(rows)`` and
    ``RolloutState.cat(parts)`` (parts of equal ``layout_key``: rows started together) batch rollouts,
    ``snapshot()`` branches one, ``mark()``/``restore(mark)`` undo a failed step."""

    backbone: BackboneCache
    swin: SwinState
    vis: torch.Tensor | None  # h(o_k) of the latest frame (B, N_vis, D); None after a latent-only step
    s_hat: torch.Tensor | None = None  # latest predicted state ŝ (B, Q, D)
    pending: ChunkCondition | None = None  # the predicted step waiting to be decoded
    steps: int = 0

    @property
    def batch_size(self) -> int:
        return self.swin.last_frame.shape[0]

    def tensors(self) -> Iterator[torch.Tensor]:
        yield from self.backbone.tensors()
        yield from self.swin.tensors()
        yield from (t for t in (self.vis, self.s_hat) if t is not None)
        if self.pending is not None:
            yield from self.pending.tensors()

    def layout(self) -> tuple:
        present = (self.vis is None, self.s_hat is None, self.pending is None)
        return self.backbone.layout(), self.swin.layout(), present

    def decoding_part(self) -> RolloutState:
        """The rollout without its backbone history (the window and the pending step: what ``decode`` reads and
        writes), sharing its tensors; rollouts of different histories batch together this way."""
        return RolloutState(BackboneCache(), self.swin, None, pending=self.pending, steps=self.steps)

    def mark(self) -> tuple:
        """What ``restore`` needs to undo the steps after it: a step reassigns ŝ, h(ô), the pending condition and
        the window, and appends to the backbone's history (``BackboneCache.mark``)."""
        return (self.s_hat, self.vis, self.pending, self.steps, self.swin), self.backbone.mark()

    def restore(self, mark: tuple) -> None:
        """Return to the rollout ``mark()`` saw, exactly."""
        (self.s_hat, self.vis, self.pending, self.steps, self.swin), backbone = mark
        self.backbone.rewind(backbone)


def _inference(method):
    """Run a model method without gradients and in eval mode (no dropout), whatever mode the model is in: a model
    handed over in training mode simulates deterministically, and its modules' modes are restored afterwards."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        modes = [(m, m.training) for m in self.modules() if m.training]
        for m, _ in modes:
            m.training = False
        try:
            with torch.no_grad():
                return method(self, *args, **kwargs)
        finally:
            for m, mode in modes:
                m.training = mode

    return run


def _check_frames(frames: torch.Tensor, size: int, name: str = "frames") -> None:
    if not isinstance(frames, torch.Tensor) or frames.dtype != torch.uint8:
        raise ValueError(
            f"{name} must be a uint8 torch.Tensor (B, H, W, 3), got {getattr(frames, 'dtype', type(frames))}"
        )
    if frames.dim() != 4 or tuple(frames.shape[1:]) != (size, size, 3):
        raise ValueError(f"{name} must have shape (B, {size}, {size}, 3), got {tuple(frames.shape)}")


class PanWorldModel(nn.Module):
    """The GLP world model. Build with ``from_preset`` / ``from_config``; persist with ``save_pretrained``.

    A config that switches on one of PAN's ablations builds that ablation's class (``model.registry``)."""

    def __new__(cls, cfg: PanConfig | None = None, *args, **kwargs):
        # the composed class of the ablations cfg switches on; copies (no arguments) are built as they are
        if cls is PanWorldModel and cfg is not None:
            cls = model_class(cls, cfg)
        return super().__new__(cls)

    def __init__(self, cfg: PanConfig, qwen: Qwen2_5_VLModel | None = None):
        super().__init__()
        self.cfg = cfg
        qwen = qwen or Qwen2_5_VLModel(qwen_config(cfg))
        self.encoder = VisionEncoder(qwen.visual)
        self.text = self._make_text(cfg, qwen)
        d = qwen.config.text_config.hidden_size
        vis_grid = self.encoder.grid(1, cfg.image_size, cfg.image_size)
        self.backbone = Backbone(qwen, cfg.backbone, self.text.dim, vis_grid)
        self.latent = make_latent_space(cfg.vae)
        self.decoder_text = None  # None: the DiT reads the backbone's action text encoding (small presets)
        if cfg.decoder.text_kind == "umt5" and cfg.decoder.path is not None:
            self.decoder_text = UMT5TextEncoder(Path(cfg.decoder.path) / "text_encoder")
        text_dim = cfg.decoder.text_dim or self.text.dim
        dit = load_dit(cfg.decoder.path) if cfg.decoder.path is not None else None
        self.decoder = Decoder(cfg.decoder, self.latent.channels, text_dim, d, cfg.frames_per_chunk, dit)
        self.reward_head = RewardHead(d, self.text.dim, cfg.reward.hidden_size)
        self.sampler = self._make_sampler(cfg)

    @staticmethod
    def _make_sampler(cfg: PanConfig) -> SwinDenoiser:
        d = cfg.diffusion
        return SwinDenoiser(d.sampler_steps, d.shift, d.cond_sigma, d.noise_offset)

    @staticmethod
    def _make_text(cfg: PanConfig, qwen: Qwen2_5_VLModel) -> ActionTextEncoder | nn.Module:
        t = cfg.text
        if t.kind == "qwen":
            if cfg.qwen_path is None:
                # layout only (e.g. on the meta device): the width is all that is needed
                stub = nn.Module()
                stub.dim = qwen.config.text_config.hidden_size
                return stub
            return QwenTextEncoder(cfg.qwen_path, qwen.language_model.embed_tokens, t.max_tokens)
        return MiniLMTextEncoder(
            max_tokens=t.max_tokens,
            pretrained=t.kind == "minilm",
            path=t.path,
            hidden_size=t.scratch_hidden_size,
            num_layers=t.scratch_layers,
            freeze=t.freeze if t.kind == "minilm" else False,
        )

    # ---- construction ---------------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: PanConfig, device: str | torch.device | None = None) -> PanWorldModel:
        """Build from a config; ``device="meta"`` builds the layout without memory (paper-scale counting).
        Local checkpoints it names decide the layout (``config_from_checkpoints``) and load in float32."""
        cfg = config_from_checkpoints(cfg)  # the saved config.json then rebuilds these very modules
        if str(device) == "meta":
            with torch.device("meta"):
                return cls(cfg)
        qwen = None
        if cfg.qwen_path is not None:  # local directory only; never a hub id
            qwen = Qwen2_5_VLModel.from_pretrained(cfg.qwen_path, local_files_only=True, dtype=torch.float32)
        model = cls(cfg, qwen)
        return model.to(device) if device is not None else model

    @classmethod
    def from_preset(cls, name: str, device: str | torch.device | None = None, **overrides) -> PanWorldModel:
        """``tiny`` (tests), ``small`` (default CPU model), ``paper`` (7B + 14B layouts)."""
        return cls.from_config(preset(name, **overrides), device)

    def _persistent_state(self) -> dict[str, torch.Tensor]:
        """Weights to save: everything but a frozen pretrained text encoder (it ships with its package, or loads
        from ``decoder.path``: UMT5), and the Qwen text encoder's table (the backbone's own, saved there)."""
        skip = ("text.",) if (self.cfg.text.kind == "minilm" and self.cfg.text.freeze) else ()
        skip += ("text.",) if self.cfg.text.kind == "qwen" else ()
        skip += ("decoder_text.",) if self.decoder_text is not None else ()
        return {k: v for k, v in self.state_dict().items() if not k.startswith(skip)}

    def save_pretrained(self, directory: str | Path, overwrite: bool = True) -> Path:
        """Write ``config.json`` + ``model.safetensors``, each atomically (``io.write_model_dir``: only a model's
        own files are replaced, a non-empty directory that is not a model directory is refused)."""
        return io.write_model_dir(directory, self.cfg.to_dict(), self._persistent_state(), overwrite)

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, device: str | torch.device | None = None, overrides: str = ""
    ) -> PanWorldModel:
        """Load a directory written by ``save_pretrained`` (local paths only); raises ``io.CheckpointError``.

        ``overrides`` change the saved config first (``apply_overrides``, e.g. ``diffusion.sampler_steps=4``: the
        inference settings); ones that add a module (``backbone.supervision=latent``'s head, ``backbone.lora_rank``'s
        adapters over the saved LM weights, ``decoder.copy_gate=true``'s output rows) keep its initialisation while
        every saved weight loads as saved; ones that drop or reshape a saved weight raise ``io.CheckpointError``."""
        raw = io.read_config(directory)
        try:
            saved_cfg = PanConfig.from_dict(raw)
        except (TypeError, ValueError) as e:
            raise io.CheckpointError(f"{Path(directory) / io.CONFIG_NAME}: invalid config ({e})") from None
        cfg = apply_overrides(saved_cfg, overrides) if overrides else saved_cfg  # an unknown key: ValueError
        model = cls(cfg)
        expected = model._persistent_state()
        try:
            tensors = io.read_weights(directory, expected)
        except io.CheckpointError:
            if cfg == saved_cfg:
                raise
            # an override that adds a module (an ablation's head, the copy gate's output rows) for continued
            # training: the file must fit the model it was written for, and every saved weight the new model
            # unchanged; new modules keep their init
            tensors = io.read_weights(directory, cls(saved_cfg)._persistent_state())
            tensors = as_adapted(model.decoder.add_gate_rows(tensors, "decoder."), expected)
            bad = [k for k, v in tensors.items() if k not in expected or v.shape != expected[k].shape]
            if bad:
                raise io.CheckpointError(
                    f"{directory}: the overrides {overrides!r} drop or change the shapes of saved weights {bad[:5]}"
                ) from None
        model.load_state_dict(tensors, strict=False)
        model.eval()
        return model.to(device) if device is not None else model

    # ---- inference --------------------------------------------------------------------------------------------
    @property
    def config(self) -> PanConfig:
        """The model's ``PanConfig`` (the Hugging Face / diffusers name for ``cfg``)."""
        return self.cfg

    @property
    def device(self) -> torch.device:
        return self.backbone.queries.device

    @property
    def dtype(self) -> torch.dtype:
        """The weights' dtype: float32, or bfloat16 after ``model.to(torch.bfloat16)`` (inputs are cast to it)."""
        return self.backbone.queries.dtype

    @_inference
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """h: uint8 (B, H, W, 3) -> visual tokens (B, N_vis, D)."""
        _check_frames(frames, self.cfg.image_size)
        return self.encoder(frames.to(self.device))

    @_inference
    def start(self, frames: torch.Tensor) -> RolloutState:
        """Begin a rollout at observation frames uint8 (B, H, W, 3)."""
        _check_frames(frames, self.cfg.image_size)
        frames = frames.to(self.device)
        last = self.latent.encode(frames[:, None]).to(self.dtype)  # (B, C, 1, h, w)
        return RolloutState(
            backbone=self.backbone.new_cache(), swin=SwinState(last_frame=last), vis=self.encode(frames)
        )

    def _check_actions(self, state: RolloutState, actions: list[str]) -> None:
        if not isinstance(actions, (list, tuple)) or not all(isinstance(a, str) for a in actions):
            raise ValueError(f"actions must be a list of str, got {type(actions).__name__}")
        if len(actions) != state.batch_size:
            raise ValueError(f"got {len(actions)} actions for a rollout of batch size {state.batch_size}")

    @_inference
    def predict(self, state: RolloutState, actions: list[str], zero_state: bool = False) -> torch.Tensor:
        """f: one round of the backbone for a batch of actions; returns ŝ (B, Q, D) and queues the decode.
        ``zero_state``: skip f, ŝ = 0 (a decoder trained on the action text alone: the ``decoder`` stage)."""
        self._check_actions(state, actions)
        text, mask = self.text(list(actions))
        if zero_state:
            q, d = self.backbone.queries.shape
            s_hat = self.backbone.queries.new_zeros(len(actions), q, d)
        else:
            s_hat = self.backbone.step(state.backbone, state.vis, text, state.s_hat)
        if not torch.isfinite(s_hat).all():
            raise RuntimeError("the backbone produced non-finite values (NaN/inf) in the predicted state")
        dec_text, dec_mask = self.decoder_text_of(list(actions), text, mask)
        state.s_hat, state.vis, state.steps = s_hat, None, state.steps + 1
        state.pending = ChunkCondition(dec_text, dec_mask, self.decoder_state(s_hat))
        return s_hat

    @_inference
    def observe(self, state: RolloutState, actions: list[str], frames: torch.Tensor) -> torch.Tensor:
        """f's round for each action, then the true outcome uint8 (B, H, W, 3) in place of a drawn chunk: the
        rollout goes on from what really happened, with that round in its history. Returns ŝ (B, Q, D)."""
        _check_frames(frames, self.cfg.image_size)
        s_hat = self.predict(state, actions)
        frames = frames.to(self.device)
        state.vis, state.pending = self.encode(frames), None
        state.swin = SwinState(last_frame=self.latent.encode(frames[:, None]).to(self.dtype))
        return s_hat

    def decoder_text_of(self, actions: list[str], text: torch.Tensor, mask: torch.Tensor):
        """The text the decoder reads for ``actions``, (B, L, E) and (B, L): the action text's encoding ``text``,
        ``mask``, or the DiT's own UMT5 encoding of them."""
        return (text, mask) if self.decoder_text is None else self.decoder_text(actions)

    def decoder_state(self, s_hat: torch.Tensor) -> torch.Tensor:
        """ŝ (…, Q, D) as the decoder is given it."""
        return s_hat

    @_inference
    def decode(self, state: RolloutState, generator: torch.Generator | None = None) -> torch.Tensor:
        """g: render the predicted step as frames uint8 (B, T, H, W, 3), sliding the Swin-DPM window."""
        if state.pending is None:
            raise RuntimeError("decode() needs a predicted step: call predict() first")
        last = state.swin.last_frame
        b, c, _, h, w = last.shape
        d = self.cfg.diffusion
        if d.shared_noise and state.swin.noise is not None:  # the rollout's own draw
            noise, cond_noise = state.swin.noise
        else:
            noise = torch.randn((b, c, self.cfg.frames_per_chunk, h, w), generator=generator).to(last)
            cond_noise = torch.randn((b, c, 1, h, w), generator=generator).to(last)
        x, state.swin = self.sampler.denoise(
            Velocity(self.decoder, d.guidance_scale, d.prediction),
            state.swin,
            state.pending,
            noise,
            cond_noise,
            reuse_prefix=d.reuse_prefix and d.guidance_scale == 1.0,  # guidance doubles the batch: no cache
        )
        if d.shared_noise:
            state.swin.noise = (noise, cond_noise)
        if not torch.isfinite(x).all():
            raise RuntimeError("the decoder produced non-finite values (NaN/inf) in the imagined chunk")
        frames = self.latent.decode(x)  # (B, T, H, W, 3)
        state.vis, state.pending = self.encode(frames[:, -1]), None  # enhanced state: h(ô) of what was drawn
        return frames

    def step(
        self,
        state: RolloutState,
        actions: list[str],
        generator: torch.Generator | None = None,
        decode: bool = True,
        zero_state: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``predict`` then (unless ``decode=False``: latent-only) ``decode``; returns (ŝ, frames or None)."""
        s_hat = self.predict(state, actions, zero_state)
        if not decode:
            state.pending = None  # the next round's state slot uses the no-frame placeholder
            return s_hat, None
        return s_hat, self.decode(state, generator)

    @_inference
    def reward(self, s_hat: torch.Tensor, missions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(reward (B,), termination probability (B,)) of predicted states for the given missions."""
        text, mask = self.text(list(missions))
        r, logit = self.reward_head(s_hat, text, mask)
        return r.float(), torch.sigmoid(logit).float()

    # ---- training ---------------------------------------------------------------------------------------------
    def loss(
        self, batch: dict, generator: torch.Generator | None = None, zero_state: bool = False
    ) -> dict[str, torch.Tensor]:
        """Flow-matching loss through the decoder (+ reward head), teacher-forced over N action steps.
        ``zero_state``: h and f are not run and the decoder is given ŝ = 0 (PAN's stage 1, ``decoder``).

        batch: ``first_frame`` uint8 (B, H, W, 3), ``frames`` uint8 (B, N, T, H, W, 3), ``actions`` B lists of N
        str; optional ``rewards`` (B, N), ``terminated`` (B, N), ``mission`` (B str).
        """
        return glp_loss(self, batch, generator, zero_state=zero_state)

    def training_states(self, first, frames, text, generator) -> tuple[torch.Tensor, dict, torch.Tensor]:
        """ŝ (B, N, Q, D) teacher-forced, and the terms h, f learn from besides the decoder's (none) and their sum."""
        s_hat, _ = predict_states(self, first, frames, text, generator)
        return s_hat, {}, torch.zeros((), device=s_hat.device)

    def training_window(self, first, frames, generator) -> TrainingWindow:
        """The noised Causal Swin-DPM window of each sample the decoder's loss scores (``sample_window``)."""
        return sample_window(self, first, frames, generator)
