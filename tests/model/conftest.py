"""Shared helpers for the model tests."""

import torch


def random_batch(b=2, n=2, t=2, seed=0) -> dict:
    """A training batch of random frames: first_frame (B, 64, 64, 3), frames (B, N, T, 64, 64, 3), N actions each."""
    g = torch.Generator().manual_seed(seed)
    return {
        "first_frame": torch.randint(0, 256, (b, 64, 64, 3), generator=g, dtype=torch.uint8),
        "frames": torch.randint(0, 256, (b, n, t, 64, 64, 3), generator=g, dtype=torch.uint8),
        "actions": [["turn left", "pick up the key", "move forward"][:n] for _ in range(b)],
    }
