"""``RolloutState`` rows: select, concatenate and restore exactly, carrying the decoder's prefix cache, the copy
gate's clean frame and the shared noise with their rows."""

from __future__ import annotations

import pytest
import torch

from pan_gym.env.models import resolve_model
from pan_gym.model.glp import RolloutState

ACTIONS = ["turn left", "go forward", "turn right", "pick up the key"]


def test_rollout_rows_select_concatenate_and_restore_exactly():
    model = resolve_model("tiny")
    gen = torch.Generator().manual_seed(0)
    state = model.start(torch.randint(0, 255, (3, 64, 64, 3), dtype=torch.uint8, generator=gen))
    for a in ACTIONS[:2]:
        model.step(state, [a] * 3, generator=gen)
    parts = [state.select([2]), state.select([0, 1])]
    merged = RolloutState.cat(parts)
    assert merged.layout_key() == state.layout_key() and merged.batch_size == 3
    # the decoder's prefix cache
    (k, _), (k_merged, _) = (s.swin.prev_prefix[0.5].kv[0] for s in (state, merged))
    torch.testing.assert_close(k_merged, k[[2, 0, 1]], rtol=0, atol=0)
    mark = state.mark()
    s_ref = model.predict(state, ["turn left"] * 3)
    state.restore(mark)
    s_again = model.predict(state, ["turn left"] * 3)
    s_merged = model.predict(merged, ["turn left"] * 3)
    torch.testing.assert_close(s_again, s_ref, rtol=0, atol=0)
    torch.testing.assert_close(s_merged, s_ref[[2, 0, 1]], rtol=1e-4, atol=1e-5)
    fresh = model.start(torch.zeros(1, 64, 64, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match="layouts"):
        RolloutState.cat([state, fresh])


@pytest.mark.parametrize(
    "overrides", ["diffusion.prediction=x0", "diffusion.prediction=x0,decoder.copy_gate=true"]
)
def test_row_ops_carry_what_the_decoder_reads_of_the_previous_frame(overrides):
    """The prefix cache, and the clean frame the copy gate copies, follow their rows: a merged rollout decodes its
    next step as the rows of the whole batch do (shared noise: the same draws)."""
    model = resolve_model("tiny", overrides=overrides + ",diffusion.shared_noise=true")
    with torch.no_grad():
        for p in model.decoder.parameters():  # open the zero-initialised paths that read the previous frame
            p.add_(torch.randn_like(p) * 0.02)
    frames = torch.randint(
        0, 255, (3, 64, 64, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    state = model.start(frames)
    model.step(state, ACTIONS[:3], generator=torch.Generator().manual_seed(1))
    merged = RolloutState.cat([state.select([2]), state.select([0, 1])])
    whole, parts = (model.step(s, ["turn left"] * 3)[1] for s in (state, merged))
    torch.testing.assert_close(parts.float(), whole[[2, 0, 1]].float(), rtol=0, atol=1.0)


def test_row_ops_carry_the_shared_noise():
    """``diffusion.shared_noise``: each row keeps its own noise through select/concatenate."""
    model = resolve_model("tiny", overrides="diffusion.shared_noise=true")
    gen = torch.Generator().manual_seed(0)
    state = model.start(torch.zeros(3, 64, 64, 3, dtype=torch.uint8))
    model.step(state, ["turn left"] * 3, generator=gen)
    merged = RolloutState.cat([state.select([2]), state.select([0, 1])])
    for got, want in zip(merged.swin.noise, state.swin.noise, strict=True):
        torch.testing.assert_close(got, want[[2, 0, 1]], rtol=0, atol=0)
    fresh = model.start(torch.zeros(1, 64, 64, 3, dtype=torch.uint8))
    assert fresh.layout_key() != state.select([0]).layout_key()  # a fresh rollout has drawn no noise yet
