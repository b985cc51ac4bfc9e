"""Goal frames found in the true world, and goal-image episodes in the planning evaluation."""

import numpy as np
import pytest

from pan_gym.eval.goals import Goal, search_goal
from pan_gym.eval.planning_eval import RandomPlanner, evaluate_planner
from pan_gym.worlds import make_world
from pan_gym.worlds.metaworld_tasks import GRIPPER_MOTIONS

MOTIONS = list(GRIPPER_MOTIONS)


def replay(world, seed, actions):
    frame, _ = world.reset(seed=seed)
    for a in actions:
        chunk, reward, terminated, truncated, info = world.step(a)
    return chunk[-1], terminated and info["success"]


def test_search_goal_finds_a_successful_motion_sequence_and_restores_the_world():
    world = make_world("metaworld", tasks=("reach-v3",))
    frame, _ = world.reset(seed=1_000_001)
    before = world.get_state()
    goal = search_goal(world, MOTIONS, depth=3, beam=4)
    assert isinstance(goal, Goal) and 1 <= len(goal.actions) <= 3 and set(goal.actions) <= set(MOTIONS)
    after = world.get_state()
    assert np.array_equal(after["physics"], before["physics"]) and after["n_actions"] == 0
    # the goal frame is what the found actions show in a fresh episode, and they do solve the task
    again, solved = replay(make_world("metaworld", tasks=("reach-v3",)), 1_000_001, goal.actions)
    assert solved and np.array_equal(again, goal.frame)


def test_search_goal_gives_up_and_rejects_bad_arguments():
    world = make_world("metaworld", tasks=("drawer-open-v3",))
    world.reset(seed=1_000_000)
    assert search_goal(world, ["open the gripper"], depth=2, beam=2) is None  # holding still never opens it
    assert world.get_state()["n_actions"] == 0
    for kwargs in ({"depth": 0}, {"beam": 0}):
        with pytest.raises(ValueError, match="search_goal needs"):
            search_goal(world, MOTIONS, **kwargs)
    with pytest.raises(ValueError, match="search_goal needs"):
        search_goal(world, [], depth=1)


def test_evaluate_planner_gives_goals_and_skips_seeds_without_one():
    world = make_world("metaworld", tasks=("reach-v3",))
    seen = []

    class Looks(RandomPlanner):
        def act(self, obs):
            seen.append(obs["goal"])
            return super().act(obs)

    calls = []

    def every_other(w):  # a goal for the first and third episodes only
        calls.append(1)
        return Goal(np.full((64, 64, 3), 7, np.uint8), []) if len(calls) % 2 else None

    seeds = [1_000_000, 1_000_001, 1_000_002]
    r = evaluate_planner(Looks, world, seeds, max_steps=1, progress=False, goal_fn=every_other)
    assert r["n"] == 2 and r["skipped"] == [1_000_001] and len(seen) == 2
    assert all(g.shape == (64, 64, 3) and (g == 7).all() for g in seen)
    lo, hi = r["success_interval"]
    assert 0 <= lo <= r["success_rate"] <= hi <= 1
