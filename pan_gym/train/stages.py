"""Which parameters each training stage updates, and the loss each stage minimises.

| stage     | trains                                                  | loss                                       |
|-----------|---------------------------------------------------------|--------------------------------------------|
| `vae`     | `model.latent` (the per-frame AutoencoderKL; kind "kl") | L1 + MSE reconstruction + small KL          |
| `decoder` | `model.decoder` (+ `model.text` if it is trainable)     | flow matching, state tokens zeroed (PAN 1) |
| `joint`   | everything the config does not freeze, except `latent`  | flow matching + reward head (PAN stage 2)  |
| `reward`  | `model.reward_head` (the decoder is not run)             | reward MSE + termination BCE               |
| `dynamics`| `encoder`, `backbone`, `latent_head` (+ `text`)          | latent matching + variance (no decoder)    |
| `render`  | `model.decoder`, `model.reward_head`                     | flow matching + reward on frozen h, f's ŝ  |

Parameters the config freezes (a pretrained MiniLM, the paper's vision tower and backbone) never train; modules with no trainable
parameter are put in eval mode (no dropout, no RNG use), which also keeps resumed runs bit-identical.
``decoder`` is PAN's stage 1: the DiT learns Causal Swin-DPM denoising from the action text alone; the backbone is
not run and its state tokens are zeros (``zero_state``), so the zero-initialised state stream starts from zero.
``dynamics`` then ``render`` is the sequential latent-matching plan: h and f learn from
``‖P(ŝ_{t+1}) − sg(h(o_{t+1}))‖²`` alone (the decoder is not run), then the decoder learns to render the frozen
backbone's predicted states.

Example:
    >>> from pan_gym.model.glp import PanWorldModel
    >>> model = PanWorldModel.from_preset("tiny")
    >>> params = select_trainable(model, "reward")
    >>> all(n.startswith("reward_head.") for n, p in model.named_parameters() if p.requires_grad)
    True
"""

from __future__ import annotations

import torch
from torch import nn

from pan_gym.model.glp_loss import reward_stage_loss
from pan_gym.train.args import STAGES
from pan_gym.train.losses import vae_loss

_TRAINS = {
    "vae": ("latent",),
    "decoder": ("decoder", "text"),
    "reward": ("reward_head",),
    "dynamics": ("encoder", "backbone", "latent_head", "text"),
    "render": ("decoder", "reward_head"),
}


def select_trainable(model: nn.Module, stage: str) -> list[nn.Parameter]:
    """Set ``requires_grad`` for ``stage`` (call once, on a freshly built or loaded model); returns those params."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
    config_frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    if model.cfg.encoder.freeze:  # h frozen (the paper's recipe)
        config_frozen |= {n for n, _ in model.named_parameters() if n.startswith("encoder.")}
    for name, p in model.named_parameters():
        top = name.split(".", 1)[0]
        wanted = top != "latent" if stage == "joint" else top in _TRAINS[stage]
        p.requires_grad_(wanted and name not in config_frozen)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError(f"stage {stage!r} has nothing to train in this model")
    return params


def set_train_mode(model: nn.Module) -> None:
    """``train()``, then ``eval()`` on every module whose parameters are all frozen."""
    model.train()
    for m in model.modules():
        ps = list(m.parameters())
        if ps and not any(p.requires_grad for p in ps):
            m.eval()


class StageLoss(nn.Module):
    """Wraps the world model so that one ``forward(batch, generator)`` computes the stage's loss (what DDP and
    FSDP2 wrap). Returns ``{"loss": scalar with grad, other scalars detached}``."""

    def __init__(self, model: nn.Module, stage: str, vae_kl_weight: float = 1e-4):
        super().__init__()
        self.model, self.stage, self.vae_kl_weight = model, stage, vae_kl_weight

    def forward(self, batch: dict, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        m = self.model
        if self.stage == "vae":
            frames = torch.cat([batch["first_frame"][:, None], batch["frames"].flatten(1, 2)], dim=1)
            return vae_loss(m.latent.vae, frames.flatten(0, 1).to(m.device), generator, self.vae_kl_weight)
        if self.stage == "decoder":
            batch = {k: v for k, v in batch.items() if k not in ("rewards", "terminated")}
            out = m.loss(batch, generator, zero_state=True)
            return {"loss": out["flow"], "flow": out["flow"].detach()}
        if self.stage == "reward":
            out = reward_stage_loss(m, batch, generator)
            return {"loss": out["loss"], "reward": out["reward"].detach()}
        # dynamics: h, f by the model's own dynamics loss, the decoder not run (an ablation's: latent matching);
        # render: the full loss, of which only the decoder's and reward head's terms reach trainable parameters
        if self.stage == "dynamics" and not hasattr(m, "dynamics_loss"):
            raise ValueError(
                "the dynamics stage needs backbone.supervision=latent (nothing else trains h, f apart)"
            )
        out = m.dynamics_loss(batch, generator) if self.stage == "dynamics" else m.loss(batch, generator)
        return {k: (v if k == "loss" else v.detach()) for k, v in out.items()}
