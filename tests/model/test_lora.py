"""LoRA adapters on the backbone's LM (``backbone.lora_rank``, through peft): they start as the plain LM, only they
train in the LM, and they save and load with the model."""

from __future__ import annotations

import torch

from pan_gym.model.glp import PanWorldModel
from pan_gym.train.stages import select_trainable


def _s_hat(model: PanWorldModel) -> torch.Tensor:
    frames = torch.randint(
        0, 256, (2, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    state = model.start(frames)
    return model.predict(state, ["turn left", "pick up the red key"])  # (B, Q, D)


def _plain_and_adapted(tmp_path) -> tuple[PanWorldModel, PanWorldModel]:
    torch.manual_seed(0)
    plain = PanWorldModel.from_preset("tiny").eval()
    plain.save_pretrained(tmp_path / "plain")
    adapted = PanWorldModel.from_pretrained(tmp_path / "plain", overrides="backbone.lora_rank=4")
    return plain, adapted


def test_adapters_added_to_a_saved_model_start_as_its_lm_and_then_change_it(tmp_path):
    plain, adapted = _plain_and_adapted(tmp_path)
    lora = [p for n, p in adapted.named_parameters() if "lora_" in n]
    assert len(lora) == 2 * 4 * plain.cfg.backbone.num_hidden_layers  # A and B of q, k, v, o in every layer
    with torch.no_grad():
        assert torch.equal(_s_hat(adapted), _s_hat(plain))  # B = 0: the saved LM exactly
        for n, p in adapted.named_parameters():
            if "lora_B" in n:
                p.normal_(std=0.1)
        assert not torch.allclose(_s_hat(adapted), _s_hat(plain))


def test_only_the_adapters_train_in_the_lm(tmp_path):
    _, adapted = _plain_and_adapted(tmp_path)
    select_trainable(adapted, "joint")
    lm = {n for n, p in adapted.backbone.lm.named_parameters() if p.requires_grad}
    assert lm and all("lora_" in n for n in lm)
    assert adapted.backbone.queries.requires_grad and adapted.decoder.dit.proj_out.weight.requires_grad


def test_an_adapted_model_saves_and_loads_with_its_adapters(tmp_path):
    _, adapted = _plain_and_adapted(tmp_path)
    with torch.no_grad():
        for n, p in adapted.named_parameters():
            if "lora_B" in n:
                p.normal_(std=0.1)
        want = _s_hat(adapted)
    adapted.save_pretrained(tmp_path / "adapted")
    loaded = PanWorldModel.from_pretrained(tmp_path / "adapted")
    assert loaded.cfg.backbone.lora_rank == 4
    with torch.no_grad():
        assert torch.equal(_s_hat(loaded), want)
