"""The Meta-World world: the World contract, determinism under get/set_state, parsing and paraphrases."""

import numpy as np
import pytest

pytest.importorskip("mujoco", reason="MuJoCo is not installed (pip install mujoco==3.3.0)")
pytest.importorskip("metaworld", reason="Meta-World is not installed (pip install metaworld==3.1.1)")

from pan_gym.worlds import World, make_world  # noqa: E402
from pan_gym.worlds.metaworld import MetaWorldWorld  # noqa: E402
from pan_gym.worlds.metaworld_tasks import DEFAULT_TASKS, TASKS, canonical_actions, phrasings  # noqa: E402


@pytest.fixture(scope="module")
def world():
    w = make_world("metaworld", tasks=("push-v3", "drawer-open-v3"))
    yield w
    w.close()


@pytest.fixture(scope="module")
def fast_world():
    """Every default task, one frame and two simulator steps per action: for checks that step many times."""
    w = MetaWorldWorld(frames_per_action=1, steps_per_action=2)
    yield w
    w.close()


def test_reset_and_step_follow_the_contract(world):
    assert isinstance(world, World)
    frame, info = world.reset(seed=0)
    assert frame.dtype == np.uint8 and frame.shape == world.frame_shape == (64, 64, 3)
    assert info["mission"] in {TASKS[t].mission for t in world.tasks}
    assert frame.std() > 10  # a real scene, not a blank buffer
    frames, reward, terminated, truncated, info2 = world.step(info["mission"])
    assert frames.dtype == np.uint8 and frames.shape == (world.frames_per_action, 64, 64, 3)
    assert isinstance(reward, float) and isinstance(terminated, bool) and isinstance(truncated, bool)
    assert info2["mission"] == info["mission"]
    assert not (frames[0] == frames[-1]).all()  # the expert moves the arm


def test_reset_seed_picks_task_and_goal_reproducibly(world):
    first = [world.reset(seed=s) for s in range(4)]
    again = [world.reset(seed=s) for s in range(4)]
    for (f1, i1), (f2, i2) in zip(first, again, strict=True):
        assert i1["mission"] == i2["mission"] and (f1 == f2).all()
    assert len({f.tobytes() for f, _ in first}) == 4  # different goals / object positions


def test_actions_by_kind(world):
    _, info = world.reset(seed=1)
    agent, env = world.actions("agent"), world.actions("environment")
    assert agent[0] == info["mission"]
    assert {"move the gripper left", "move the gripper up", "open the gripper", "close the gripper"} <= set(
        agent
    )
    assert env and all(" is nudged " in e for e in env)
    assert world.actions("all") == agent + env
    assert world.actions() == agent + env


def test_bad_action_raises_a_clear_error(world):
    world.reset(seed=0)
    with pytest.raises(ValueError, match="fly to the moon") as err:
        world.step("fly to the moon")
    assert "valid examples" in str(err.value) and "move the gripper" in str(err.value)


def test_expert_solves_its_mission():
    w = MetaWorldWorld(tasks=("push-v3",))
    _, info = w.reset(seed=0)
    assert info["mission"] == "push the puck to the goal"
    done = False
    for _ in range(8):
        _, reward, done, _, step_info = w.step("slide the puck to the goal")
        if done:
            break
    w.close()
    assert done and step_info["success"] and reward > 5


def test_expert_action_is_the_mission_or_a_valid_nudge(world):
    from pan_gym.data.policies import make_policy

    _, info = world.reset(seed=2)
    rng = np.random.default_rng(0)
    assert {world.expert_action(rng) for _ in range(20)} == {info["mission"]}
    drawn = [world.expert_action(rng, event_prob=0.5) for _ in range(40)]
    events = [a for a in drawn if a != info["mission"]]
    assert 5 < len(events) < 35 and set(events) <= set(world.actions("environment"))
    assert make_policy("mixed")(world, rng) in world.actions("all")  # the mixed policy now runs on Meta-World


def test_gripper_motion_and_nudge_move_things(world):
    assert world.reset(seed=0, task="push-v3")[1]["mission"] == "push the puck to the goal"
    env = world._sim.env
    z0 = env.tcp_center[2]
    world.step("move the gripper up")
    assert env.tcp_center[2] > z0 + 0.05
    x0 = env._get_pos_objects()[0]
    world.step("the puck is nudged left")
    assert env._get_pos_objects()[0] == pytest.approx(x0 - 0.05, abs=0.01)


def test_truncation_after_max_actions():
    w = MetaWorldWorld(tasks=("reach-v3",), max_actions=2, frames_per_action=1, steps_per_action=2)
    w.reset(seed=0)
    assert not w.step("close the gripper")[3]
    assert w.step("close the gripper")[3]
    w.close()


def test_state_restore_gives_identical_frames(world):
    _, info = world.reset(seed=3)
    world.step(info["mission"])
    snapshot = world.get_state()
    plan = [info["mission"], world.actions("environment")[0], "move the gripper down", "close the gripper"]
    first = [world.step(a) for a in plan]
    world.reset(seed=11)  # wander off, possibly into the other task
    world.step("move the gripper left")
    world.set_state(snapshot)
    second = [world.step(a) for a in plan]
    fresh = make_world("metaworld", tasks=world.tasks)
    fresh.set_state(snapshot)  # a fresh world needs no reset before restoring
    third = [fresh.step(a) for a in plan]
    fresh.close()
    for a, b, c in zip(first, second, third, strict=True):
        assert (a[0] == b[0]).all() and (a[0] == c[0]).all()
        assert a[1:] == b[1:] == c[1:]


def test_paraphrase_splits_are_disjoint_and_complete(world):
    train, heldout = world.paraphrases("train"), world.paraphrases("heldout")
    assert set(train) == set(heldout) == set(canonical_actions(world.tasks))
    for canonical in train:
        assert train[canonical][0] == canonical
        assert len(train[canonical]) >= 3 and len(heldout[canonical]) >= 3
        assert not set(train[canonical]) & set(heldout[canonical])
    with pytest.raises(ValueError):
        world.paraphrases("test")


def test_no_phrasing_means_two_actions():
    seen: dict[str, str] = {}
    for canonical in canonical_actions(tuple(TASKS)):
        for split in ("train", "heldout"):
            for text in phrasings(canonical, split):
                assert seen.setdefault(text, canonical) == canonical, text


def test_every_phrasing_is_accepted_by_step(fast_world):
    """Every train and held-out phrasing parses; each steps in a scene of its own task (where it applies)."""
    for split in ("train", "heldout"):
        for canonical, texts in fast_world.paraphrases(split).items():
            assert all(fast_world.parse(t) == canonical for t in texts)
    for i, task in enumerate(DEFAULT_TASKS):
        assert fast_world.reset(seed=0, task=task)[1]["task"] == task
        own = set(fast_world.actions("environment")) | {fast_world.actions("agent")[0]}
        if i == 0:
            own |= set(fast_world.actions("agent"))  # gripper motions: once is enough
        for split in ("train", "heldout"):
            for canonical, texts in fast_world.paraphrases(split).items():
                if canonical in own:
                    for text in texts:
                        frames, *_ = fast_world.step(text.upper() + ".")
                        assert frames.shape == (1, 64, 64, 3)
    # an instruction or object from another task is understood and plays out as holding still
    fast_world.reset(seed=0)
    foreign = next(c for c in fast_world.paraphrases("train") if c not in fast_world.actions())
    assert fast_world.step(foreign)[0].shape == (1, 64, 64, 3)


def test_named_camera_and_bad_camera():
    w = MetaWorldWorld(tasks=("drawer-open-v3",), camera="corner")
    frame, _ = w.reset(seed=0)
    assert frame.shape == (64, 64, 3) and frame.std() > 10
    w.close()
    with pytest.raises(ValueError, match="unknown camera"):
        MetaWorldWorld(tasks=("drawer-open-v3",), camera="nope").reset(seed=0)
    with pytest.raises(ValueError, match="unknown Meta-World tasks"):
        MetaWorldWorld(tasks=("fly-v3",))
