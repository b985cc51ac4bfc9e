"""PAN's forward of the diffusers DiT: the same modules and weights, explicit window inputs."""

import pytest
import torch
from diffusers import SkyReelsV2Transformer3DModel

from pan_gym.model.dit import StateCrossAttention, WindowInputs, as_state_dit

SIZES = dict(
    num_attention_heads=2, attention_head_dim=16, in_channels=3, out_channels=3, text_dim=8, freq_dim=16
)


def _dit(**extra) -> SkyReelsV2Transformer3DModel:
    torch.manual_seed(0)
    return SkyReelsV2Transformer3DModel(**SIZES, ffn_dim=32, num_layers=2, **extra).eval()


def test_conversion_keeps_every_weight_and_name():
    plain = _dit()
    names = {k: v.clone() for k, v in plain.state_dict().items()}
    dit = as_state_dit(plain)
    assert dit.state_dict().keys() == names.keys()
    assert all(torch.equal(dit.state_dict()[k], v) for k, v in names.items())


def test_a_prefix_of_keys_and_values_is_attended_before_the_calls_own():
    """Under a frame-causal mask, a window's second frame run alone after the first frame's recorded keys/values
    equals the whole window's second frame (the chunk after a prefix needs no mask: it may see every token)."""
    dit = as_state_dit(_dit())
    attn = torch.nn.ModuleList(StateCrossAttention(32, 8, heads=2) for _ in range(2))
    x, t, text = torch.randn(1, 3, 2, 16, 16), torch.rand(1, 2) * 1000, torch.randn(1, 5, 8)
    state = torch.zeros(1, 4, 8)
    frame = torch.arange(2).repeat_interleave(64)  # (L,) frame of each token, 8×8 patches per frame
    causal = (frame[None, :] <= frame[:, None])[None, None]  # (1, 1, L, L)
    with torch.no_grad():
        whole, _ = dit(x, t, text, WindowInputs(rope=dit.rope(x), state=state, self_mask=causal), attn)
        # frame 0 alone: its keys/values, then frame 1 alone after them
        rope = dit.rope(x)
        first = WindowInputs(rope=tuple(r[:, :64] for r in rope), state=state, record=True)
        _, kv = dit(x[:, :, :1], t[:, :1], text, first, attn)
        later = WindowInputs(rope=tuple(r[:, 64:] for r in rope), state=state, prefix=kv)
        second, _ = dit(x[:, :, 1:], t[:, 1:], text, later, attn)
        alone, _ = dit(x[:, :, 1:], t[:, 1:], text, WindowInputs(rope=later.rope, state=state), attn)
    assert not torch.allclose(
        alone, whole[:, :, 1:], atol=1e-3
    )  # without the prefix, frame 1 is another frame
    torch.testing.assert_close(second, whole[:, :, 1:], rtol=1e-4, atol=1e-5)


def test_image_conditioned_dits_are_refused():
    with pytest.raises(ValueError, match="text-to-video"):
        as_state_dit(_dit(image_dim=8))
