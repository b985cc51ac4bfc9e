"""The TorchRL adapter, under TorchRL's own spec checker (the dev setup installs the torchrl extra)."""

from __future__ import annotations

import torch
from torchrl.envs.utils import check_env_specs

from pan_gym.env.torchrl import TorchRLEnv
from pan_gym.env.vector import PanWorldModelVectorEnv

MENU = ["turn left", "turn right", "go forward"]


def test_specs_and_rollout_with_autoreset(world):
    vec = PanWorldModelVectorEnv(2, model="tiny", world=world, max_episode_steps=2, termination_threshold=2.0)
    env = TorchRLEnv(vec, MENU)
    check_env_specs(env, seed=0)
    env.set_seed(0)
    td = env.rollout(5, break_when_any_done=False)
    assert td["next", "frames"].shape == (2, 5, 2, 64, 64, 3) and td["next", "state"].dtype == torch.float32
    assert td["next", "truncated"][:, 1].all() and not td["next", "done"][:, 2].any()
    # the step after a truncation starts from the new episode's first frame, repeated
    assert torch.equal(td["frames"][:, 2, 0], td["frames"][:, 2, 1])
