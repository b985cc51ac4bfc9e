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
from torch.distributed.tensor import DTensor, distribute_tensor

from pan_gym.train import checkpoint as ckpt


def _full(t: torch.Tensor) -> torch.Tensor:
    return t.full_tensor() if isinstance(t, DTensor) else t


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
        """A full state dict with the averaged weights in place of the trained ones. Sharded shadows are gathered
        (under FSDP2 every rank calls it, also those whose ``tensors`` are empty: only rank 0 holds the full dict)."""
        full = {k: _full(v) for k, v in self.shadow.items()}
        return {k: full.get(k, v) for k, v in tensors.items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.shadow)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.shadow) - set(state)
        if missing:
            raise ValueError(f"EMA state lacks {sorted(missing)[:5]}")
        for k, shadow in self.shadow.items():
            saved = state[k]
            # full weights (a checkpoint of a run without FSDP) into this rank's shard
            if isinstance(shadow, DTensor) and not isinstance(saved, DTensor):
                saved = distribute_tensor(saved.to(shadow.device), shadow.device_mesh, shadow.placements)
            shadow.copy_(saved)


def export_model(checkpoint: str | Path, out: str | Path, ema: bool = True, overwrite: bool = False) -> Path:
    """Write a training checkpoint's weights as a model directory (``PanWorldModel.from_pretrained``): its EMA
    weights (``ema``, when the run kept them) or the raw ones. Picks a good step of a run that is still going.
    ``out`` must be new, empty, or (with ``overwrite``) a model directory whose model is replaced.

    Example:
        >>> export_model("runs/x/checkpoints/step_001500", "runs/x/step1500-ema")  # doctest: +SKIP
    """
    from pan_gym.model.glp import PanWorldModel

    checkpoint = Path(checkpoint)
    if ckpt.is_sharded(checkpoint):
        return _export_sharded(checkpoint, out, ema, overwrite)
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


def _export_sharded(checkpoint: Path, out: str | Path, ema: bool, overwrite: bool) -> Path:
    """``export_model`` of a sharded (DCP) checkpoint: the model built from its config, its shards read whole."""
    from pan_gym.config import PanConfig
    from pan_gym.model import io
    from pan_gym.model.glp import PanWorldModel

    ckpt.check_sharded(checkpoint)
    model = PanWorldModel.from_config(PanConfig.from_dict(io.read_config(checkpoint)))
    weights = ckpt.read_sharded(checkpoint, model, "model")
    missing = set(model._persistent_state()) - set(weights)
    if missing:
        raise io.CheckpointError(f"{checkpoint}: the sharded weights lack {sorted(missing)[:5]}")
    if ema:
        if "ema" not in torch.load(checkpoint / "train_state.pt", weights_only=True).get("sharded", ()):
            raise ValueError(
                f"{checkpoint}: the run kept no EMA weights (trained without --ema-decay); use ema=False"
            )
        weights.update(ckpt.read_sharded(checkpoint, model, "ema"))
    model.load_state_dict(weights, strict=False)
    model.save_pretrained(out, overwrite)
    return Path(out)
