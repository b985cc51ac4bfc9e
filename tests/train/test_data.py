from __future__ import annotations

import torch

from pan_gym.train.data import ResampledChunks, SyntheticWindows


def test_resampled_chunks_keep_each_actions_outcome():
    data = SyntheticWindows(2, window=2, frames_per_chunk=4)
    item, one, two = data[0], ResampledChunks(data, 1)[0], ResampledChunks(data, 2)[0]
    assert not torch.equal(item["frames"][:, 0], item["frames"][:, -1])  # the chunk's frames differ
    assert one["frames"].shape[:2] == (2, 1)
    # one frame per action: the last one, the action's outcome
    torch.testing.assert_close(one["frames"][:, 0], item["frames"][:, -1])
    torch.testing.assert_close(two["frames"], item["frames"][:, [0, -1]])
