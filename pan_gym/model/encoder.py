"""h: the Qwen2.5-VL vision tower, turning an observation frame (or a chunk of frames) into visual tokens.

Frames are cut into patches exactly as Qwen2.5-VL's image processor does (CLIP normalisation, temporal patches,
2x2-merge ordering), so a real Qwen2.5-VL checkpoint's tower sees what it was trained on.

Example:
    >>> import torch
    >>> from transformers import Qwen2_5_VLVisionConfig
    >>> from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel
    >>> cfg = Qwen2_5_VLVisionConfig(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=16,
    ...     spatial_merge_size=1, temporal_patch_size=1, window_size=64, out_hidden_size=48, fullatt_block_indexes=[0])
    >>> h = VisionEncoder(Qwen2_5_VisionTransformerPretrainedModel(cfg))
    >>> h(torch.zeros(2, 64, 64, 3, dtype=torch.uint8)).shape         # (B, N_vis, D)
    torch.Size([2, 16, 48])
"""

from __future__ import annotations

import torch
from torch import nn

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class VisionEncoder(nn.Module):
    """Wraps ``Qwen2_5_VisionTransformerPretrainedModel`` (the ``visual`` part of ``Qwen2_5_VLModel``)."""

    def __init__(self, visual: nn.Module):
        super().__init__()
        self.visual = visual
        c = visual.config
        self.patch, self.merge, self.tp = c.patch_size, c.spatial_merge_size, c.temporal_patch_size
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 1, 3, 1, 1), persistent=False)

    def grid(self, frames: int, height: int, width: int) -> tuple[int, int, int]:
        """(t, h, w) patch grid before merging, as Qwen's ``image_grid_thw``."""
        p = self.patch
        if height % (p * self.merge) or width % (p * self.merge):
            raise ValueError(
                f"frame size {height}x{width} is not a multiple of patch {p} x merge {self.merge}"
            )
        return max(1, frames // self.tp), height // p, width // p

    def tokens_per_frame(self, height: int, width: int) -> int:
        _, gh, gw = self.grid(1, height, width)
        return gh * gw // self.merge**2

    def patchify(self, frames: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """uint8 (B, F, H, W, 3) -> flattened patches (B·N_patch, 3·tp·p·p) in Qwen's order, and the grid."""
        b, f, height, width, _ = frames.shape
        x = (frames.permute(0, 1, 4, 2, 3).float() / 255.0 - self.mean) / self.std  # (B, F, 3, H, W)
        if f % self.tp:
            x = torch.cat([x, x[:, -1:].expand(-1, self.tp - f % self.tp, -1, -1, -1)], dim=1)
        gt, gh, gw = self.grid(x.shape[1], height, width)
        p, m, tp = self.patch, self.merge, self.tp
        x = x.reshape(b, gt, tp, 3, gh // m, m, p, gw // m, m, p)
        x = x.permute(0, 1, 4, 7, 5, 8, 3, 2, 6, 9)  # (B, gt, gh/m, gw/m, m, m, 3, tp, p, p)
        return x.reshape(b * gt * gh * gw, 3 * tp * p * p), (gt, gh, gw)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) or (B, F, H, W, 3) -> visual tokens (B, N_vis, D)."""
        if frames.dim() == 4:
            frames = frames[:, None]
        b = frames.shape[0]
        patches, grid = self.patchify(frames)
        grid_thw = torch.tensor([grid] * b, device=patches.device)
        out = self.visual(patches.to(self.mean), grid_thw=grid_thw).pooler_output  # (B·N_vis, D)
        return out.view(b, -1, out.shape[-1])
