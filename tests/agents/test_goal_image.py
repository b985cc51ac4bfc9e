"""GoalImage: distances in the model's encoding that rank frames by how near, and how soon, they come to the goal;
``pan-gym plan --scorer goal-image`` on Meta-World with the true simulator and with a model."""

import numpy as np
import pytest

from agents.goal_image import GoalImage
from agents.simulators import Rollouts


def test_goal_image_prefers_the_frames_nearer_the_goal_and_the_sooner(tiny_model):
    rng = np.random.default_rng(0)
    goal = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    other = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    # (N=3, H=2): the goal at step 2, the goal at step 1, never the goal
    frames = np.stack([np.stack([other, goal]), np.stack([goal, other]), np.stack([other, other])])
    ro = Rollouts(np.zeros((3, 2), np.float32), np.zeros((3, 2), bool), frames, None, goal=goal)
    scorer = GoalImage(tiny_model)
    s = scorer(ro, "reach the goal")
    assert s[1] > s[0] > s[2] and np.isclose(s[1], 0.0, atol=1e-6)
    assert scorer.distances(goal[None], goal)[0] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="needs a goal image"):
        scorer(Rollouts(ro.rewards, ro.terminated, frames, None), "")
    with pytest.raises(ValueError, match="latent_only=False"):
        scorer(Rollouts(ro.rewards, ro.terminated, None, None, goal=goal), "")
    with pytest.raises(ValueError, match="dtype uint8"):
        scorer.goal_tokens(goal.astype(np.float32))


def test_plan_cli_goal_image_on_metaworld_motions():
    from tests.agents.test_cli_examples import plan

    budget = ("--samples", "8", "--iterations", "1", "--horizon", "2", "--elites", "2", "--max-steps", "2")
    common = ("--world", "metaworld", "--menu", "motions", "--scorer", "goal-image", "--levels", "reach-v3")
    r = plan("--planner", "oracle-cem", *common, "--seeds", "1000001:1000002", *budget)
    assert r["n"] + len(r["skipped"]) == 1 and r["scorer"] == "goal-image" and r["menu"] == "motions"
    r = plan("--planner", "cem", "--model", "tiny", *common, "--seeds", "1000001:1000002", *budget)
    assert r["n"] + len(r["skipped"]) == 1 and r["model"] == "tiny"
