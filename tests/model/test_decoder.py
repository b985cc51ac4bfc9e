import pytest
import torch
from diffusers import SkyReelsV2Transformer3DModel

from pan_gym.config import PanConfig, preset
from pan_gym.model.decoder import ChunkCondition, Decoder


def _decoder(adaln=True, seed=0, copy_gate=False):
    torch.manual_seed(seed)
    cfg = preset("tiny").decoder
    cfg.adaln_action, cfg.copy_gate = adaln, copy_gate
    return Decoder(cfg, latent_channels=3, text_dim=32, state_dim=32, frames_per_chunk=2).eval()


def _cond(b=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(b, 12, dtype=torch.bool)
    mask[:, 7:] = False
    return ChunkCondition(torch.randn(b, 12, 32, generator=g), mask, torch.randn(b, 4, 32, generator=g))


def test_later_chunk_cannot_change_earlier_chunk():
    g = _decoder()
    x, sigma = torch.randn(2, 3, 5, 64, 64), torch.rand(2, 5)
    with torch.no_grad():
        v = g(x, sigma, [_cond(seed=1), _cond(seed=2)]).sample
        x2, s2 = x.clone(), sigma.clone()
        x2[:, :, 3:] = torch.randn_like(x2[:, :, 3:])  # chunk B: new content, noise level and condition
        s2[:, 3:] = 0.9
        v2 = g(x2, s2, [_cond(seed=1), _cond(seed=3)]).sample
    assert torch.equal(v[:, :, :3], v2[:, :, :3])
    assert not torch.allclose(v[:, :, 3:], v2[:, :, 3:])


def test_state_stream_is_zero_initialised():
    g = _decoder()
    x, sigma = torch.randn(2, 3, 5, 64, 64), torch.rand(2, 5)
    c1, c2 = _cond(seed=1), _cond(seed=1)
    c2.state = torch.randn_like(c2.state) * 10
    with torch.no_grad():
        assert torch.equal(g(x, sigma, [c1, c1]).sample, g(x, sigma, [c2, c2]).sample)
    # ...and it does carry the state once its output projection has learned something
    for sa in g.state_attn:
        torch.nn.init.normal_(sa.to_out.weight, std=0.1)
    with torch.no_grad():
        assert not torch.allclose(g(x, sigma, [c1, c1]).sample, g(x, sigma, [c2, c2]).sample)


def test_matches_the_plain_skyreels_dit_on_one_chunk():
    """One chunk without a conditioning frame, all text valid, the added parts at their zero init: g is exactly
    diffusers' DiT (so real Wan/SkyReels weights keep their meaning)."""
    g = _decoder(adaln=False)
    plain = SkyReelsV2Transformer3DModel.from_config(g.dit.config).eval()
    plain.load_state_dict(g.dit.state_dict())
    x, sigma = torch.randn(2, 3, 2, 64, 64), torch.rand(2, 2)
    cond = _cond()
    cond.text_mask[:] = True
    with torch.no_grad():
        ours = g(x, sigma, [cond]).sample
        ref = plain(x, sigma * 1000, cond.text, enable_diffusion_forcing=True, return_dict=False)[0]
    assert torch.allclose(ours, ref, atol=1e-5)


def test_each_chunk_reads_its_own_action():
    g = _decoder()
    x, sigma = torch.randn(1, 3, 5, 64, 64), torch.rand(1, 5)
    a, b = _cond(b=1, seed=1), _cond(b=1, seed=2)
    with torch.no_grad():
        v = g(x, sigma, [a, b]).sample
        v_swapped_b = g(x, sigma, [a, a]).sample
    assert torch.equal(v[:, :, :3], v_swapped_b[:, :, :3])  # chunk A and the conditioning frame read action A
    assert not torch.allclose(v[:, :, 3:], v_swapped_b[:, :, 3:])


@pytest.mark.parametrize("copy_gate", [False, True])
def test_a_chunk_after_a_recorded_prefix_equals_the_whole_window(copy_gate):
    """The prefix cache: [conditioning frame, chunk A] recorded once, then chunk B alone against it, gives B's
    velocity of the whole window [cond, A, B] (A never attends to B; ``copy_gate`` is given its source each call)."""
    g = _decoder(copy_gate=copy_gate)
    with torch.no_grad():
        for p in g.parameters():  # open the zero-initialised streams so every path matters
            p.add_(torch.randn_like(p) * 0.02)
        if copy_gate:
            _set_gate(g, 0.0)
        x, sigma = torch.randn(2, 3, 5, 64, 64), torch.rand(2, 5)
        src = torch.randn(2, 3, 1, 64, 64) if copy_gate else None
        a, b = _cond(seed=1), _cond(seed=2)
        whole = g(x, sigma, [a, b], source=src).sample
        recorded = g(x[:, :, :3], sigma[:, :3], [a], record=True, source=src)
        first, prefix = recorded.sample, recorded.prefix
        later = g(x[:, :, 3:], sigma[:, 3:], [b], prefix=prefix, source=src).sample
    assert prefix.frames == 3 and len(prefix.kv) == len(g.dit.blocks)
    torch.testing.assert_close(first, whole[:, :, :3], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(later, whole[:, :, 3:], rtol=1e-4, atol=1e-5)


def _set_gate(g: Decoder, bias: float) -> None:
    """Gate rows of the output projection: zero weight, ``bias`` (so the gate is sigmoid(bias) everywhere)."""
    with torch.no_grad():
        w, b = g.gate_params()
        w.zero_(), b.fill_(bias)


def test_copy_gate_composites_the_clean_source_with_the_drawn_frame():
    """x̂_0 = g·source + (1 − g)·drawn per pixel: open, every frame is the source; closed, the source is ignored;
    half open, a change of source moves the output by half of it."""
    g = _decoder(copy_gate=True)
    x, sigma = torch.randn(2, 3, 5, 64, 64), torch.rand(2, 5)
    s1, s2 = torch.randn(2, 3, 1, 64, 64), torch.randn(2, 3, 1, 64, 64)
    run = lambda src: g(x, sigma, [_cond(), _cond(seed=2)], source=src).sample  # noqa: E731
    with torch.no_grad():
        _set_gate(g, 40.0)
        torch.testing.assert_close(run(s1), s1.expand_as(x))
        _set_gate(g, -40.0)
        assert torch.equal(run(s1), run(s2))
        _set_gate(g, 0.0)
        torch.testing.assert_close(run(s1) - run(s2), 0.5 * (s1 - s2).expand_as(x), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="source"):
        run(None)


def test_copy_gate_rows_added_to_a_plain_decoder_start_half_open():
    """A plain decoder's weights load into a gated one: the colours as saved, the gate at sigmoid(GATE_INIT) = ½, so
    the output is the plain decoder's moved half way to the source."""
    plain, gated = _decoder(seed=0), _decoder(seed=1, copy_gate=True)
    gated.load_state_dict(gated.add_gate_rows(plain.state_dict()))
    x, sigma, src = torch.randn(1, 3, 3, 64, 64), torch.full((1, 3), 0.5), torch.randn(1, 3, 1, 64, 64)
    with torch.no_grad():
        drawn, out = plain(x, sigma, [_cond(b=1)]).sample, gated(x, sigma, [_cond(b=1)], source=src).sample
    torch.testing.assert_close(out, drawn + 0.5 * (src - drawn), rtol=1e-4, atol=1e-5)


def test_copy_gate_needs_x0_prediction():
    with pytest.raises(ValueError, match="copy_gate"):
        PanConfig.from_dict({"decoder": {"copy_gate": True}, "diffusion": {"prediction": "v"}})
