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


def _sure_success_model():
    """The tiny model whose head says "reward 1, success" for every state and mission."""
    from pan_gym.model.glp import PanWorldModel

    torch.manual_seed(0)
    model = PanWorldModel.from_preset("tiny").train()
    last = model.reward_head.mlp[-1]
    torch.nn.init.zeros_(last.weight)
    last.bias.data = torch.tensor([1.0, 20.0])
    return model


def _loss(model, missions, seed):
    from pan_gym.model.glp_loss import reward_loss

    b = len(missions)
    batch = {
        "mission": missions,
        "rewards": torch.ones(b, 1),
        "terminated": torch.ones(b, 1, dtype=torch.bool),
    }
    s_hat = torch.zeros(b, 1, *model.backbone.queries.shape)
    return float(reward_loss(model, s_hat, batch, torch.Generator().manual_seed(seed)))


def test_mission_swap_teaches_that_a_success_belongs_to_its_mission():
    model = _sure_success_model()
    model.cfg.reward.mission_swap = 1.0
    # another window's mission (a different one) turns the target into "no success": the sure head is wrong
    assert max(_loss(model, ["go to the red ball", "pick up the blue key"], s) for s in range(8)) > 1.0
    # the same mission everywhere: nothing to swap, the sure head is right
    assert max(_loss(model, ["go to the red ball"] * 2, s) for s in range(8)) < 1e-3
    model.cfg.reward.mission_swap = 0.0
    assert max(_loss(model, ["go to the red ball", "pick up the blue key"], s) for s in range(8)) < 1e-3
    model.cfg.reward.mission_swap = 1.0
    model.eval()  # evaluation scores the true missions
    assert _loss(model, ["go to the red ball", "pick up the blue key"], 0) < 1e-3
