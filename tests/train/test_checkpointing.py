"""Activation checkpointing changes memory, not maths: the same loss and gradients, the same state dict names."""

from __future__ import annotations

import torch

from pan_gym.model.glp import PanWorldModel
from pan_gym.train.checkpointing import checkpoint_blocks


def _grads(model: PanWorldModel) -> tuple[float, dict[str, torch.Tensor]]:
    batch = {
        "first_frame": torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)),
        "frames": torch.randint(0, 256, (2, 3, 2, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(2)),
        "actions": [["turn left", "go to the red ball", "pick up the key"]] * 2,
    }  # fmt: skip
    model.train()
    torch.manual_seed(3)  # the text encoder's dropout draws from the global generator
    loss = model.loss(batch, torch.Generator().manual_seed(0))["loss"]
    loss.backward()
    return float(loss.detach()), {
        n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None
    }


def test_checkpointed_blocks_give_the_same_loss_and_gradients():
    torch.manual_seed(0)
    plain = PanWorldModel.from_preset("tiny")
    torch.manual_seed(0)
    ckpt = PanWorldModel.from_preset("tiny")
    names = list(ckpt.state_dict())
    assert checkpoint_blocks(ckpt) == 5 and list(ckpt.state_dict()) == names
    loss_a, grads_a = _grads(plain)
    loss_b, grads_b = _grads(ckpt)
    assert loss_a == loss_b
    assert grads_a.keys() == grads_b.keys() and any(n.startswith("decoder.dit.blocks") for n in grads_a)
    for name in grads_a:
        torch.testing.assert_close(grads_b[name], grads_a[name], msg=name)
