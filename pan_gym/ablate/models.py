"""The ablations' models: one mixin per config switch, each overriding one hook of ``PanWorldModel``.

``pan_gym.model.registry`` composes the mixins a config switches on before ``PanWorldModel`` (pyproject.toml
registers each ``Ablation`` below under the entry-point group ``pan_gym.ablations``), so the core holds PAN's design
only and every loader builds the ablation's model.

| switch                          | mixin               | hook it overrides                                        |
|---------------------------------|---------------------|----------------------------------------------------------|
| ``decoder.use_state=false``     | ``NoState``         | ``decoder_state``: ŝ = 0                                 |
| ``decoder.action_text=false``   | ``NoActionText``    | ``decoder_text_of``: the empty text                      |
| ``diffusion.window=false``      | ``NoWindow``        | ``_make_sampler``, ``training_window``: chunk A alone    |
| ``text.kind=minilm-random``     | ``RandomMiniLM``    | ``_make_text``: MiniLM's architecture at random init     |
| ``backbone.supervision=latent`` | ``LatentSupervised``| ``training_states``: latent matching, ŝ under stop-grad  |

Example:
    >>> from pan_gym.config import apply_overrides, preset
    >>> from pan_gym.model.glp import PanWorldModel
    >>> model = PanWorldModel(apply_overrides(preset("tiny"), "decoder.use_state=false,diffusion.window=false"))
    >>> isinstance(model, NoState) and isinstance(model, NoWindow), model.sampler.beside_levels()
    (True, [])
"""

from __future__ import annotations

import torch
from transformers import BertConfig

from pan_gym.ablate.latent import LatentPredictor, latent_losses
from pan_gym.diffusion.swin_dpm import SwinDenoiser
from pan_gym.model.glp_loss import TrainingWindow, batch_inputs, finite, predict_states, sample_window
from pan_gym.model.registry import Ablation
from pan_gym.model.text import MiniLMTextEncoder, minilm_path


class NoState:
    """The decoder is given ŝ = 0: it renders from the action text and the previous frame alone."""

    def decoder_state(self, s_hat: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(s_hat)


class NoActionText:
    """The decoder is given the empty text, so the action reaches it only through ŝ."""

    def decoder_text_of(self, actions: list[str], text: torch.Tensor, mask: torch.Tensor):
        empty = [""] * len(actions)
        return self.text(empty) if self.decoder_text is None else self.decoder_text(empty)


class ChainedDenoiser(SwinDenoiser):
    """Last-frame chaining: no step has a partner chunk, each chunk is denoised alone beside its conditioning
    frame (the previous chunk's final frame)."""

    def beside_levels(self) -> list[float]:
        return []


class NoWindow:
    """No Swin window: each chunk is denoised alone from pure noise, in training and at inference."""

    @staticmethod
    def _make_sampler(cfg) -> SwinDenoiser:
        d = cfg.diffusion
        return ChainedDenoiser(d.sampler_steps, d.shift, d.cond_sigma, d.noise_offset)

    def training_window(self, first, frames, generator) -> TrainingWindow:
        return sample_window(self, first, frames, generator, first_only=True).first_chunk()


class RandomMiniLM:
    """The action text encoder has all-MiniLM-L6-v2's exact architecture at random init, and trains."""

    @staticmethod
    def _make_text(cfg, qwen) -> MiniLMTextEncoder:
        t = cfg.text
        path = t.path or minilm_path()
        arch = BertConfig.from_pretrained(path, local_files_only=True)
        return MiniLMTextEncoder(t.max_tokens, pretrained=False, path=path, freeze=False, bert_config=arch)


class LatentSupervised:
    """JEPA-style supervision: h and f learn ‖P(ŝ_{t+1}) − sg(h(o_{t+1}))‖² plus the variance guard
    (``ablate/latent.py``); the decoder and the reward head learn on ŝ under stop-gradient."""

    def __init__(self, cfg, qwen=None):
        super().__init__(cfg, qwen)
        heads = self.backbone.lm.config.num_attention_heads
        self.latent_head = LatentPredictor(self.backbone.queries.shape[1], self.backbone.n_vis, heads)

    def training_states(self, first, frames, text, generator):
        s_hat, tokens = predict_states(self, first, frames, text, generator, targets=True)
        out = latent_losses(self.latent_head(s_hat), tokens[:, 1:], tokens)
        loss = out["latent"] + self.cfg.backbone.latent_var_weight * out["variance"]
        return s_hat.detach(), out, loss

    def dynamics_loss(self, batch: dict, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """h and f by latent matching alone, the decoder not run (the ``dynamics`` training stage)."""
        first, frames, _, text, _ = batch_inputs(self, batch)
        _, out, loss = self.training_states(first, frames, text, generator)
        return finite(out, loss)


NO_STATE = Ablation("decoder.use_state", False, NoState)
NO_ACTION_TEXT = Ablation("decoder.action_text", False, NoActionText)
NO_WINDOW = Ablation("diffusion.window", False, NoWindow)
RANDOM_MINILM = Ablation("text.kind", "minilm-random", RandomMiniLM)
LATENT_SUPERVISION = Ablation("backbone.supervision", "latent", LatentSupervised)
