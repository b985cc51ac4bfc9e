"""The decoder's latent spaces: pixels round-trip exactly, the KL space codes each frame on its own."""

from __future__ import annotations

import pytest
import torch

from pan_gym.config import VAEConfig
from pan_gym.model.vae import from_unit, make_latent_space, to_unit


def test_pixel_space_round_trips_every_value():
    frames = (
        torch.arange(256, dtype=torch.uint8).repeat(3 * 4).view(1, 4, 16, 16, 3)
    )  # every value, every channel
    space = make_latent_space(VAEConfig(kind="pixel"))
    z = space.encode(frames)
    assert z.shape == (1, 3, 4, 16, 16) and z.min() == -1 and z.max() == 1
    assert torch.equal(space.decode(z), frames)
    assert torch.equal(from_unit(to_unit(frames) + 0.003), frames)  # rounding, not truncation
    assert from_unit(torch.full((1, 3, 1, 2, 2), 5.0)).max() == 255  # clipped


def test_kl_space_codes_frames_one_by_one():
    torch.manual_seed(0)
    space = make_latent_space(VAEConfig(kind="kl", latent_channels=4, block_out_channels=(8, 16))).eval()
    frames = torch.randint(
        0, 256, (2, 3, 32, 32, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        z = space.encode(frames)
        alone = space.encode(frames[1:, 2:])
        out = space.decode(z)
    assert z.shape == (2, 4, 3, 16, 16) and space.factor == 2 and space.channels == 4
    torch.testing.assert_close(z[1:, :, 2:], alone, rtol=1e-4, atol=1e-5)
    assert out.shape == frames.shape and out.dtype == torch.uint8


def test_an_unknown_latent_space_is_refused():
    with pytest.raises(ValueError, match="unknown|kind"):
        make_latent_space(VAEConfig(kind="jpeg"))
