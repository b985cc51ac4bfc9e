"""Exponential moving average of the trained weights (the weights a run ships when ``ema_decay`` > 0), and
``export_model``: a checkpoint's (EMA) weights as a model directory.

Example:
    >>> import torch
    >>> net = torch.nn.Linear(2, 2)
    >>> ema = EMA(net, decay=0.9)
    >>> with torch.no_grad():
    ...     _ = net.weight.add_(1.0)
    >>> ema.update(net, step=100)
    >>> bool(torch.allclose(ema.shadow["weight"], net.weight - 0.9))
    True
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class EMA:
    """Shadow copies of a module's trainable floating-point parameters, ``shadow ← d·shadow + (1−d)·param``.

    The decay warms up as ``min(decay, (1 + step) / (10 + step))`` so early shadows follow the weights closely.
    """

    def __init__(self, module: nn.Module, decay: float):
        self.decay = decay
        self.shadow = {
            n: p.detach().clone()
            for n, p in module.named_parameters()
            if p.requires_grad and p.is_floating_point()
        }

    @torch.no_grad()
    def update(self, module: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        params = dict(module.named_parameters())
        for name, shadow in self.shadow.items():
            shadow.lerp_(params[name].detach(), 1 - d)

    def weights(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A state dict with the averaged weights in place of the trained ones."""
        return {k: self.shadow.get(k, v) for k, v in tensors.items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.shadow)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.shadow) - set(state)
        if missing:
            raise ValueError(f"EMA state lacks {sorted(missing)[:5]}")
        for k in self.shadow:
            self.shadow[k].copy_(state[k])


def export_model(checkpoint: str | Path, out: str | Path, ema: bool = True, overwrite: bool = False) -> Path:
    """Write a training checkpoint's weights as a model directory (``PanWorldModel.from_pretrained``): its EMA
    weights (``ema``, when the run kept them) or the raw ones. Picks a good step of a run that is still going.
    ``out`` must be new, empty, or (with ``overwrite``) a model directory whose model is replaced.

    Example:
        >>> export_model("runs/x/checkpoints/step_001500", "runs/x/step1500-ema")  # doctest: +SKIP
    """
    from pan_gym.model.glp import PanWorldModel

    checkpoint = Path(checkpoint)
    # io.CheckpointError when missing or corrupted
    model = PanWorldModel.from_pretrained(checkpoint / "model")
    if ema:
        state = torch.load(checkpoint / "train_state.pt", weights_only=True)
        if "ema" not in state:
            raise ValueError(
                f"{checkpoint}: the run kept no EMA weights (trained without --ema-decay); use ema=False"
            )
        weights = model.state_dict()
        unknown = set(state["ema"]) - set(weights)
        if unknown:
            raise ValueError(f"{checkpoint}: EMA tensors the model does not have: {sorted(unknown)[:5]}")
        weights.update(state["ema"])
        model.load_state_dict(weights)
    model.save_pretrained(out, overwrite)
    return Path(out)
