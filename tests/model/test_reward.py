"""The reward head reads the state through the mission: padding is ignored, and both inputs matter."""

from __future__ import annotations

import torch

from pan_gym.model.reward import RewardHead


def test_padding_tokens_do_not_change_the_reward():
    torch.manual_seed(0)
    head = RewardHead(state_dim=16, text_dim=8, hidden=32).eval()
    state, mission = torch.randn(1, 4, 16), torch.randn(1, 3, 8)
    padded = torch.cat([mission, torch.randn(1, 2, 8) * 100], dim=1)
    mask = torch.tensor([[True, True, True, False, False]])
    r, logit = head(state, mission, torch.ones(1, 3, dtype=torch.bool))
    r_pad, logit_pad = head(state, padded, mask)
    torch.testing.assert_close((r, logit), (r_pad, logit_pad))


def test_the_reward_depends_on_the_state_and_the_mission_and_trains():
    torch.manual_seed(0)
    head = RewardHead(state_dim=16, text_dim=8, hidden=32)
    state, mission, mask = torch.randn(2, 4, 16), torch.randn(2, 3, 8), torch.ones(2, 3, dtype=torch.bool)
    r, _ = head(state, mission, mask)
    assert not torch.allclose(head(state.flip(0), mission, mask)[0], r)
    assert not torch.allclose(head(state, mission.flip(0), mask)[0], r)
    target = torch.tensor([1.0, -1.0])
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    first = None
    for _ in range(50):
        loss = (head(state, mission, mask)[0] - target).pow(2).mean()
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.1 * first
