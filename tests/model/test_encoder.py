"""h: frames are cut into patches exactly as Qwen2.5-VL's own image processor cuts them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import Qwen2_5_VLVisionConfig, Qwen2VLImageProcessorPil
from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel

from pan_gym.model.encoder import VisionEncoder


def _encoder(merge: int, temporal: int) -> VisionEncoder:
    cfg = Qwen2_5_VLVisionConfig(
        depth=1, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=16, spatial_merge_size=merge,
        temporal_patch_size=temporal, window_size=64, out_hidden_size=48, fullatt_block_indexes=[0],
    )  # fmt: skip
    return VisionEncoder(Qwen2_5_VisionTransformerPretrainedModel(cfg)).eval()


@pytest.mark.parametrize(("merge", "temporal"), [(1, 1), (2, 2)])
def test_patches_are_the_qwen_image_processors(merge, temporal):
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    processor = Qwen2VLImageProcessorPil(
        patch_size=16, merge_size=merge, temporal_patch_size=temporal, do_resize=False
    )
    want = processor(images=[image], return_tensors="pt")
    got, grid = _encoder(merge, temporal).patchify(torch.from_numpy(image)[None, None])
    assert grid == tuple(want["image_grid_thw"][0].tolist())
    torch.testing.assert_close(got, want["pixel_values"].float(), rtol=0, atol=1e-5)


def test_each_frame_is_encoded_on_its_own_and_bad_sizes_are_refused():
    h = _encoder(2, 1)
    frames = torch.randint(
        0, 256, (3, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        batch, alone = h(frames), h(frames[1:2])
    assert batch.shape == (3, h.tokens_per_frame(64, 64), 48)
    torch.testing.assert_close(batch[1:2], alone, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="not a multiple"):
        h(torch.zeros(1, 48, 48, 3, dtype=torch.uint8))
