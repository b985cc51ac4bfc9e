"""Goal-image PPO: goals found once and cached, each row's goal follows its episode, the reward is the same reading of
imagined and real frames."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

from agents import goal_distance
from agents.goal_image import GoalImage
from agents.goal_ppo import Args, BankWorld, GoalBank, GoalObs, RealEnv, imagination_env, main
from pan_gym.env.models import resolve_model
from pan_gym.worlds import make_world


@pytest.fixture(scope="module")
def world():
    w = make_world("metaworld", tasks=("reach-v3",))
    yield w
    w.close()


@pytest.fixture(scope="module")
def bank(world, tmp_path_factory):
    return GoalBank.find(world, [0, 1], depth=4, beam=4, cache=str(tmp_path_factory.mktemp("goals")))


def test_goals_are_found_in_the_true_world_and_cached(world, bank, tmp_path, monkeypatch):
    assert len(bank) == 2 and bank.frames.shape == (2, 64, 64, 3) and bank.frames.dtype == np.uint8
    start, _ = world.reset(seed=int(bank.seeds[0]))
    assert not np.array_equal(start, bank.frames[0])  # a goal is a frame the motions lead to
    found = GoalBank.find(world, [0, 1], depth=4, beam=4, cache=str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["goals-reach-v3-0-2-d4b4.npz"]  # no temporary left

    def no_search(*args, **kwargs):
        raise AssertionError("searched again")

    monkeypatch.setattr("pan_gym.eval.goals.search_goal", no_search)
    again = GoalBank.find(world, [0, 1], depth=4, beam=4, cache=str(tmp_path))
    assert np.array_equal(again.frames, found.frames) and np.array_equal(again.seeds, found.seeds)


def test_a_corrupted_goal_cache_is_searched_again_and_rewritten(world, tmp_path):
    found = GoalBank.find(world, [0], depth=4, beam=4, cache=str(tmp_path))
    (path,) = tmp_path.iterdir()
    path.write_bytes(path.read_bytes()[:100])  # a cut-off file
    with pytest.warns(UserWarning, match="cannot be read"):
        again = GoalBank.find(world, [0], depth=4, beam=4, cache=str(tmp_path))
    assert np.array_equal(again.frames, found.frames)
    assert np.array_equal(
        GoalBank.find(world, [0], depth=4, beam=4, cache=str(tmp_path)).frames, found.frames
    )


def test_a_bank_world_starts_at_its_seeds_and_hands_over_the_goal(world, bank):
    frame, info = BankWorld(world, bank).reset(seed=3)  # 3 mod 2 -> the bank's second seed
    assert np.array_equal(info["goal"], bank.frames[1])
    assert np.array_equal(frame, world.reset(seed=int(bank.seeds[1]))[0])


def test_the_reward_reads_each_rows_own_goal_and_follows_new_episodes(world, bank):
    scorer = GoalImage(resolve_model("tiny"))
    envs = DummyVecEnv([lambda: RealEnv(BankWorld(world, bank), 2) for _ in range(2)])
    venv = GoalObs(envs, scorer.pair_distances)
    obs = venv.reset()
    assert obs.shape == (2, 64, 64, 6) and obs.dtype == np.uint8  # frame and goal stacked
    frames, goals = obs[..., :3], obs[..., 3:].copy()
    for i in range(2):
        assert np.isclose(venv.start_distance[i], scorer.distances(frames[i], goals[i]), rtol=1e-4)
    obs, rewards, dones, infos = venv.step(np.array([0, 1]))
    expected = [-scorer.distances(obs[i, ..., :3], goals[i]) / venv.start_distance[i] for i in range(2)]
    assert not dones.any() and np.allclose(rewards, expected, rtol=1e-4)
    obs, rewards, dones, infos = venv.step(np.array([0, 1]))  # the second action ends both episodes
    assert dones.all()
    for i in range(2):
        terminal = infos[i]["terminal_observation"]
        assert np.array_equal(terminal[..., 3:], goals[i])  # the finished episode is scored on its own goal
        assert np.array_equal(obs[i, ..., 3:], venv.venv.reset_infos[i]["world"]["goal"])


def test_imagination_gives_the_goals_of_its_own_episodes(world, bank):
    args = Args(model="tiny", num_envs=2, max_episode_steps=1, precision="fp32")
    model = resolve_model("tiny")
    venv = imagination_env(args, BankWorld(world, bank), model, GoalImage(model).pair_distances)
    obs = venv.reset()
    assert all(any(np.array_equal(g, b) for b in bank.frames) for g in obs[..., 3:])
    obs, rewards, dones, infos = venv.step(np.array([2, 3]))
    assert dones.all() and np.isfinite(rewards).all() and (rewards <= 0).all()
    assert all(any(np.array_equal(g, b) for b in bank.frames) for g in obs[..., 3:])
    assert obs.shape == (2, 64, 64, 6)


def test_a_smoke_run_trains_both_arms_and_scores_them_in_the_real_world(tmp_path):
    args = Args(model="tiny", train_goals=2, goal_depth=4, goal_beam=4, total_timesteps=32, num_envs=2,
                n_steps=16, batch_size=16, eval_episodes=2, distance_steps=5, precision="fp32",
                out=str(tmp_path))  # fmt: skip
    out = main(args)
    for arm in ("imagination", "real", "random"):
        assert 0 <= out[arm]["success_rate"] <= 1 and out[arm]["episodes"] == out["eval_goals_found"]
    assert (tmp_path / "ppo_imagination.zip").exists() and (tmp_path / "ppo_real.zip").exists()
    assert (tmp_path / "results.json").exists() and -1 <= out["distance_head"]["spearman"] <= 1
    head = goal_distance.load(tmp_path / "goal_distance.safetensors")  # the head that paid both arms
    assert head.distances(np.zeros((1, 64, 64, 3), np.uint8), np.zeros((1, 64, 64, 3), np.uint8)).shape == (
        1,
    )
    with pytest.raises(ValueError, match="nothing to train"):
        main(Args(imagination=False, real=False))
    with pytest.raises(ValueError, match="reward must be"):
        main(Args(reward="pixels"))


def test_the_learned_distance_is_trained_on_real_labels_and_tracks_them(world, bank):
    pairs, dist = goal_distance.labelled_pairs(world, bank, moves=3, seed=0)
    assert pairs.shape == (6, 64, 64, 6) and dist.shape == (6,) and (dist > 0).all()
    world.reset(seed=int(bank.seeds[0]))
    hand, goal = world.hand_and_goal()
    assert hand.shape == goal.shape == (3,)
    _, untrained = goal_distance.fit(world, bank, bank, moves=4, steps=0, seed=0)
    _, trained = goal_distance.fit(world, bank, bank, moves=4, steps=300, seed=0)
    # scored on other random moves than it was trained on
    assert trained["mae"] < untrained["mae"] / 2, (trained, untrained)
