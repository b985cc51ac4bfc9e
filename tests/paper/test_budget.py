"""The mid and paper presets' layouts, counted on the meta device, and the memory budget of fine-tuning them."""

from __future__ import annotations

from pan_gym.model.glp import PanWorldModel
from pan_gym.paper.budget import memory_budget


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_mid_preset_has_the_3b_and_1_3b_layouts():
    model = PanWorldModel.from_preset("mid", device="meta")
    assert _count(model.decoder.dit) == 1_418_996_800  # Wan2.1-T2V-1.3B's DiT
    assert (
        _count(model.encoder) + _count(model.backbone.lm) == 3_754_622_976
    )  # Qwen2.5-VL-3B without its lm_head
    paper = PanWorldModel.from_preset("paper", device="meta")
    assert _count(paper.decoder.dit) == 14_288_491_584  # Wan2.1-T2V-14B's DiT


def test_mid_fine_tunes_on_one_80gb_gpu_and_paper_needs_eight():
    mid = memory_budget("mid", batch=1, window=4)
    assert 11.2e9 < mid.total_params < 11.3e9 and mid.params["umt5"] == 5_680_910_336
    assert mid.trained < 0.2 * mid.total_params  # queries, DiT, state stream, heads: the VLM frozen
    assert mid.total_gb < 70
    assert memory_budget("paper", batch=1, window=4).total_gb > 300
    assert memory_budget("paper", batch=1, window=4, gpus=8).total_gb < 75
