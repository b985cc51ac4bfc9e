"""One simulator protocol for the evaluation and the planners: model, oracle and copy start, step and simulate alike."""

from __future__ import annotations

import numpy as np
import pytest

from pan_gym.eval.simulators import (
    CopySimulator,
    ModelSimulator,
    OracleSimulator,
    Past,
    Simulator,
    by_past_length,
    returns,
)
from pan_gym.worlds import make_world

SEQUENCES = [["turn left", "go to the green box"], ["go to the green box", "turn left"], ["turn right"] * 2]


@pytest.fixture(scope="module")
def start():
    world = make_world("babyai")
    frame, info = world.reset(seed=1_000_002)  # "go to the green box"
    return {"frame": frame, "mission": info["mission"], "world_state": world.get_state()}


@pytest.mark.parametrize("kind", ["model", "oracle", "copy"])
def test_every_kind_plans_through_the_same_protocol(kind, start):
    sim = {
        "model": lambda: ModelSimulator("tiny"),
        "oracle": lambda: OracleSimulator("babyai"),
        "copy": CopySimulator,
    }[kind]()
    assert isinstance(sim, Simulator)
    sim.begin(start)
    ro = sim.simulate(SEQUENCES)
    assert (
        ro.rewards.shape == (3, 2) and ro.terminated.shape == (3, 2) and ro.frames.shape == (3, 2, 64, 64, 3)
    )
    assert (ro.states is not None) == (kind == "model")
    if kind == "oracle":  # the true world: going to the box succeeds, turning on the spot does not
        assert returns(ro)[0] > 0 and returns(ro)[1] > 0 and returns(ro)[2] == 0
        assert ro.terminated[1, 0] and not ro.terminated[0, 0]
    if kind == "copy":
        assert (ro.frames == start["frame"]).all()


def test_the_model_simulators_rewards_are_the_envs(start):
    seen = []

    def corner(obs, action, info):
        seen.append((obs["frames"].shape, action, info["mission"]))
        return float(obs["frames"][-1, :8, :8].mean()), action == "turn right"

    sim = ModelSimulator("tiny", reward=corner)
    sim.begin(start)
    ro = sim.simulate(SEQUENCES)
    assert len(seen) == 6 and seen[0] == ((2, 64, 64, 3), "turn left", start["mission"])
    assert ro.terminated[2].all() and not ro.terminated[0].any()
    assert np.allclose(ro.rewards[:, -1], ro.frames[:, -1, :8, :8].mean(axis=(1, 2, 3)), atol=1e-4)


def test_bad_calls_say_what_is_missing(start):
    with pytest.raises(RuntimeError, match="begin"):
        OracleSimulator("babyai").simulate(SEQUENCES)
    with pytest.raises(ValueError, match="world_state"):
        oracle = OracleSimulator("babyai")
        oracle.begin({"frame": start["frame"]})
        oracle.simulate(SEQUENCES)
    with pytest.raises(ValueError, match="same positive number"):
        sim = CopySimulator()
        sim.begin(start)
        sim.simulate([["turn left"], ["turn left", "turn right"]])


def test_a_past_reaches_the_models_backbone_and_must_be_of_one_length(start):
    world = make_world("babyai")
    first, _ = world.reset(seed=1_000_002)
    after = world.step("turn left")[0][-1]
    past = Past(first).then("turn left", after)
    assert past.steps[0][0] == "turn left" and Past(first).steps == ()
    sim = ModelSimulator("tiny")
    states = []
    for pasts in (None, [past, past]):
        sim.start(np.stack([after, after]), pasts=pasts)
        states.append(sim.step(["move forward"] * 2).states)
    assert sim._state.backbone.num_rounds == 2 and not np.allclose(states[0], states[1])
    with pytest.raises(ValueError, match="one length"):
        sim.start(np.stack([after, after]), pasts=[past, Past(after)])
    with pytest.raises(ValueError, match="one per frame"):
        sim.start(np.stack([after, after]), pasts=[past])
    sim.begin({"frame": after, "past": past})  # a planner's observation may carry it too
    first_call = sim.simulate([["turn left"]] * 3).states
    assert first_call.shape[:2] == (3, 1)
    # the past is run once per observation; rolling out from it leaves it as it was
    assert np.allclose(sim.simulate([["turn left"]] * 3).states, first_call)


def test_by_past_length_batches_rows_of_one_length():
    f = np.zeros((64, 64, 3), np.uint8)
    pasts = [Past(f).then("a", f), Past(f), Past(f), Past(f).then("a", f), Past(f)]
    assert by_past_length(pasts, batch_size=2) == [[1, 2], [4], [0, 3]]


def test_a_past_keeps_its_last_steps():
    frames = [np.full((64, 64, 3), i, np.uint8) for i in range(4)]
    past = Past(frames[0]).then("a", frames[1]).then("b", frames[2]).then("c", frames[3])
    cut = past.last(2)
    assert cut.first is frames[1] and [a for a, _ in cut.steps] == ["b", "c"]
    assert past.last(0).first is frames[3] and past.last(0).steps == () and past.last(5) is past
