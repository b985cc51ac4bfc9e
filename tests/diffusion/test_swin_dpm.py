import pytest
import torch

from pan_gym.diffusion.flow import add_noise, euler_step, sigma_schedule, velocity_target
from pan_gym.diffusion.swin_dpm import SwinDenoiser, SwinState, chunk_causal_mask, sample_window_noise


def test_chunk_causal_mask_structure():
    m = chunk_causal_mask(num_chunks=2, frames_per_chunk=2, tokens_per_frame=3, cond_frames=1)
    assert m.shape == (15, 15) and m.dtype == torch.bool
    cond, a, b = slice(0, 3), slice(3, 9), slice(9, 15)
    assert m[cond, cond].all() and not m[cond, a].any() and not m[cond, b].any()
    assert m[a, cond].all() and m[a, a].all() and not m[a, b].any()  # A never sees B
    assert m[b, cond].all() and m[b, a].all() and m[b, b].all()  # B sees everything before it, all of itself


def test_window_noise_offsets():
    g = torch.Generator().manual_seed(0)
    wn = sample_window_noise(4000, offset=0.5, first_chunk_prob=0.25, generator=g)
    later = ~wn.first
    assert torch.allclose(wn.u_b[later], wn.u_a[later] + 0.5)
    assert wn.u_a[later].max() <= 0.5 and wn.u_a[later].min() >= 0
    assert wn.u_a[wn.first].max() > 0.5  # first chunks range over [0, 1]
    assert (wn.u_b[wn.first] == 1).all()
    assert 0.2 < wn.first.float().mean() < 0.3


def test_flow_roundtrip_is_exact_for_true_velocity():
    x0, eps = torch.randn(2, 3, 4, 8, 8), torch.randn(2, 3, 4, 8, 8)
    sig = sigma_schedule(4)
    x = add_noise(x0, eps, torch.full((2, 4), float(sig[0])))
    for s, s_next in zip(sig[:-1], sig[1:], strict=True):  # a straight path: Euler with the true v is exact
        x = euler_step(
            x, velocity_target(x0, eps), torch.full((2, 4), float(s)), torch.full((2, 4), float(s_next))
        )
    assert torch.allclose(x, x0, atol=1e-5)


def test_swin_denoiser_feeds_previous_chunk_and_slides():
    calls = []

    def velocity(x, sigma, conds, source=None):
        calls.append((x.shape[2], len(conds), sigma[0].tolist()))
        return torch.zeros_like(x)

    den = SwinDenoiser(steps=4)
    state = SwinState(last_frame=torch.zeros(1, 3, 1, 4, 4))
    noise = torch.randn(1, 3, 2, 4, 4)
    x, state = den.denoise(velocity, state, "a0", noise, torch.zeros(1, 3, 1, 4, 4))
    assert [c[:2] for c in calls] == [(3, 1)] * 4  # first chunk: alone beside its conditioning frame
    assert len(state.prev_traj) == 2 and state.prev_condition == "a0"
    calls.clear()
    den.denoise(velocity, state, "a1", noise, torch.zeros(1, 3, 1, 4, 4))
    assert [c[:2] for c in calls] == [(5, 2)] * 2 + [(3, 1)] * 2  # phase 1 beside chunk A, then slid
    # in phase 1 the earlier chunk sits half a schedule behind the later one
    sig = calls[0][2]
    assert sig[1] == pytest.approx(sig[3] - 0.5) and sig[0] == pytest.approx(0.055)


@pytest.mark.parametrize("reuse_prefix", [False, True])
def test_each_step_is_given_the_clean_frame_its_window_starts_from(reuse_prefix):
    """``source``: in slot B the frame before the previous chunk (what ``prev_cond`` was noised from), when alone the
    frame before this chunk; never the noised copy the window holds."""
    sources = []

    def velocity(x, sigma, conds, source=None, prefix=None, record=False):
        sources.append(source)
        return (torch.zeros_like(x), "recorded") if record else torch.zeros_like(x)

    den = SwinDenoiser(steps=2)
    start = torch.full((1, 3, 1, 4, 4), 0.3)
    state = SwinState(last_frame=start)
    noise, cond_noise = torch.full((1, 3, 1, 4, 4), 0.7), torch.ones(1, 3, 1, 4, 4)
    _, state = den.denoise(velocity, state, "a0", noise, cond_noise, reuse_prefix=reuse_prefix)
    assert all(s is start for s in sources) and state.prev_source is start
    sources.clear()
    first = state.last_frame
    den.denoise(velocity, state, "a1", noise, cond_noise, reuse_prefix=reuse_prefix)
    assert sources[0] is start and sources[1] is first  # slot B beside chunk 1, then alone


def test_swin_denoiser_needs_even_steps():
    with pytest.raises(ValueError, match="even"):
        SwinDenoiser(steps=3)


def test_window_noise_on_the_sampler_grid():
    g = torch.Generator().manual_seed(0)
    wn = sample_window_noise(
        2000, offset=0.5, first_chunk_prob=0.25, generator=g, grid_steps=4, grid_prob=1.0
    )
    later = ~wn.first
    assert set(wn.u_a[later].tolist()) == {0.5, 0.25}  # the second half of a 4-step schedule
    assert set(wn.u_a[wn.first].tolist()) == {1.0, 0.75, 0.5, 0.25}  # a first chunk runs the whole schedule
    assert torch.allclose(wn.u_b[later], wn.u_a[later] + 0.5)
    half = sample_window_noise(4000, generator=g, grid_steps=2, grid_prob=0.5)
    on = (~half.first) & (half.u_a == 0.5)
    assert 0.4 < on.float().sum() / (~half.first).float().sum() < 0.6


def _two_chunks(den: SwinDenoiser, v_const: float = 0.0):
    """Denoise two chunks with a constant velocity; returns the calls of the second (frames, chunks, σ row)."""
    calls = []

    def velocity(x, sigma, conds, source=None):
        calls.append((x.shape[2], len(conds), sigma[0].tolist()))
        return torch.full_like(x, v_const)

    state = SwinState(last_frame=torch.zeros(1, 3, 1, 4, 4))
    noise = torch.zeros(1, 3, 1, 4, 4)
    _, state = den.denoise(velocity, state, "a0", noise, torch.zeros(1, 3, 1, 4, 4))
    calls.clear()
    den.denoise(velocity, state, "a1", noise, torch.zeros(1, 3, 1, 4, 4))
    return calls, state


def test_quarter_offset_keeps_the_earlier_chunk_a_quarter_behind():
    calls, state = _two_chunks(SwinDenoiser(steps=2, offset=0.25), v_const=1.0)
    assert [c[:2] for c in calls] == [(3, 2)] * 2  # both steps in slot B: the earlier chunk is done only at ¼
    assert [c[2][1] for c in calls] == pytest.approx([0.75, 0.25])  # earlier chunk's σ beside u = 1, ½
    # off-grid states lie on the Euler path (straight in σ): x(σ) = x(1) + (σ − 1)·v with v = 1
    assert torch.allclose(state.prev_traj[0], torch.full((1, 3, 1, 4, 4), -0.25))


def test_offset_one_denoises_each_chunk_alone():
    calls, state = _two_chunks(SwinDenoiser(steps=2, offset=1.0))
    assert [c[:2] for c in calls] == [(2, 1)] * 2  # conditioning frame + the chunk, never a partner
    assert state.prev_traj == []
    pan_calls, _ = _two_chunks(SwinDenoiser(steps=2))
    assert [c[:2] for c in pan_calls] == [(3, 2), (2, 1)]  # PAN: the first half beside the earlier chunk


def test_window_noise_for_other_offsets():
    g = torch.Generator().manual_seed(0)
    q = sample_window_noise(2000, offset=0.25, generator=g, logit_normal=False, grid_steps=2, grid_prob=1.0)
    later = ~q.first
    pairs = set(zip(q.u_a[later].tolist(), q.u_b[later].tolist(), strict=True))
    assert pairs == {(0.75, 1.0), (0.25, 0.5)}  # exactly the pairs the 2-step sampler evaluates
    one = sample_window_noise(2000, offset=1.0, generator=g, logit_normal=False)
    assert (one.u_b == 1).all() and (one.u_a[~one.first] == 0).all()  # B pure noise beside a clean A
    with pytest.raises(ValueError, match="offset"):
        SwinDenoiser(steps=2, offset=0.0)
