"""Activation checkpointing of the repeated blocks (the DiT's blocks, the Qwen LM's and vision tower's layers): a
block keeps only its inputs for the backward pass and runs again there, trading one more forward for memory.

The block's ``forward`` is replaced on the instance (no wrapper module: parameter names, state dicts and FSDP2's
per-block sharding are unchanged; apply it before ``fully_shard``). Every input a block reads is an argument of its
forward (the DiT's ``WindowInputs`` included), so running it again recomputes exactly. Without gradients
(inference) blocks run as before.

Example:
    >>> import torch
    >>> from pan_gym.model.glp import PanWorldModel
    >>> model = PanWorldModel.from_preset("tiny")
    >>> checkpoint_blocks(model)
    5
    >>> batch = {"first_frame": torch.zeros(1, 64, 64, 3, dtype=torch.uint8),
    ...          "frames": torch.zeros(1, 2, 2, 64, 64, 3, dtype=torch.uint8), "actions": [["turn left"] * 2]}
    >>> model.loss(batch, torch.Generator().manual_seed(0))["loss"].backward()
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from pan_gym.train.distributed import transformer_blocks


def _checkpointed(forward):
    """``forward`` run under non-reentrant checkpointing when gradients are on."""

    def run(*args, **kwargs):
        if not torch.is_grad_enabled():
            return forward(*args, **kwargs)
        return checkpoint(forward, *args, use_reentrant=False, **kwargs)

    return run


def checkpoint_blocks(model: nn.Module) -> int:
    """Checkpoint every block ``transformer_blocks`` finds in ``model`` (once: a second call changes nothing);
    returns how many blocks are checkpointed."""
    n = 0
    for block in transformer_blocks(model):
        if not getattr(block, "_pan_checkpointed", False):
            block.forward = _checkpointed(block.forward)
            block._pan_checkpointed = True
        n += 1
    return n
