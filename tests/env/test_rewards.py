"""The env's rewards: the learned head, a goal in latent space, a user callable; bad goals and NaNs are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pan_gym.env.models import resolve_model
from pan_gym.env.rewards import Rewarder
from pan_gym.model.glp import PanWorldModel

MISSIONS = ["go to the red ball", "pick up the key"]


def test_the_learned_head_terminates_above_its_threshold():
    model = resolve_model("tiny")
    s_hat = torch.randn(2, 4, 32, generator=torch.Generator().manual_seed(0))
    _, p = model.reward(s_hat, MISSIONS)
    for threshold, want in ((-1.0, [True, True]), (2.0, [False, False])):
        r, done = Rewarder(model, "model", termination_threshold=threshold).batch(
            s_hat, None, MISSIONS, [None] * 2
        )
        assert done.tolist() == want and r.dtype == np.float32
    assert 0 < float(p.min()) and float(p.max()) < 1


def test_a_goal_frame_scores_zero_distance_where_it_is_drawn():
    model = resolve_model("tiny")
    frame = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    rewarder = Rewarder(model, "goal", goal_threshold=1e-4)
    goal = rewarder.goal_latent(frame)  # (D,)
    vis = model.encode(torch.from_numpy(frame)[None])  # h(ô) (1, N_vis, D)
    elsewhere = model.encode(torch.zeros(1, 64, 64, 3, dtype=torch.uint8))
    r, done = rewarder.batch(torch.zeros(2, 4, 32), torch.cat([vis, elsewhere]), MISSIONS, [goal, goal])
    assert abs(float(r[0])) < 1e-4 and float(r[1]) < -1e-3 and done.tolist() == [True, False]
    torch.testing.assert_close(rewarder.goal_latent(goal.numpy()), goal)  # a latent passes through
    for bad in (np.zeros(7, np.float32), np.full(32, np.nan, np.float32), np.zeros((64, 64), np.uint8)):
        with pytest.raises(ValueError, match="goal"):
            rewarder.goal_latent(bad)


def test_bad_reward_settings_and_non_finite_rewards_are_refused():
    model = PanWorldModel.from_preset("tiny").eval()  # private: its reward head is poisoned below
    with pytest.raises(ValueError, match="reward must be"):
        Rewarder(model, "distance")
    with torch.no_grad():
        next(model.reward_head.parameters()).fill_(float("nan"))
    with pytest.raises(RuntimeError, match="non-finite"):
        Rewarder(model, "model").batch(torch.zeros(2, 4, 32), None, MISSIONS, [None] * 2)
    rewarder = Rewarder(model, lambda obs, action, info: float("inf"))
    with pytest.raises(RuntimeError, match="non-finite"):
        rewarder.call({}, "turn left", {}, 0.0, False)
    assert Rewarder(model, lambda *a: (2.0, True)).call({}, "turn left", {}, 0.0, False) == (2.0, True)
