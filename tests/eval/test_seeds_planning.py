"""Evaluation seeds stay out of the training range; the planning hook runs."""

import pytest

from pan_gym.eval.planning_eval import RandomPlanner, evaluate_planner
from pan_gym.eval.starts import EVAL_SEED_BASE, TRAIN_SEEDS, assert_disjoint, eval_seeds, start_states
from pan_gym.worlds import make_world


def test_eval_seeds_are_disjoint_from_training():
    assert EVAL_SEED_BASE >= TRAIN_SEEDS.stop
    assert set(eval_seeds(100, 20_000)).isdisjoint(range(0, 100_000))
    with pytest.raises(ValueError):
        assert_disjoint([5, 1_000_000])
    with pytest.raises(ValueError):
        eval_seeds(3, base=0)
    with pytest.raises(ValueError):
        start_states(make_world("babyai"), [0])


def test_start_states_are_reproducible_and_restorable():
    world = make_world("babyai")
    a, b = start_states(world, eval_seeds(3)), start_states(world, eval_seeds(3))
    assert all((x.frame == y.frame).all() for x, y in zip(a, b, strict=True))
    world.set_state(a[1].state)
    f1 = world.step("turn left")[0]
    world.set_state(b[1].state)
    assert (world.step("turn left")[0] == f1).all()


def test_random_planner():
    r = evaluate_planner(
        RandomPlanner, make_world("babyai"), eval_seeds(3, 20_000), max_steps=5, progress=False
    )
    assert r["n"] == 3 and 0 <= r["success_rate"] <= 1 and 1 <= r["mean_steps"] <= 5
    assert r["seconds_per_decision"] > 0  # timed around every decision


def test_a_planner_sees_the_episodes_true_past():
    from pan_gym.eval.planning_eval import PAST_STEPS

    seen = []

    class Spy(RandomPlanner):
        def act(self, obs):
            seen.append(obs)
            return super().act(obs)

    evaluate_planner(Spy, make_world("babyai"), eval_seeds(1, 20_000), max_steps=12, progress=False)
    assert len(seen[0]["past"].steps) == 0 and len(seen[3]["past"].steps) == 3
    assert len(seen[-1]["past"].steps) == min(len(seen) - 1, PAST_STEPS)
    for obs in seen:
        past = obs["past"]
        assert (past.steps[-1][1] if past.steps else past.first).tobytes() == obs["frame"].tobytes()
