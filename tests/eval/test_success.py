"""Success detection scores a simulator's termination against the true world's, on held-out episodes."""

from __future__ import annotations

import numpy as np
import pytest

from pan_gym.eval.simulators import CopySimulator, OracleSimulator
from pan_gym.eval.success import success_cases, success_detection
from pan_gym.worlds import make_world

SEEDS = list(range(1_000_000, 1_000_006))


@pytest.fixture(scope="module")
def cases():
    return success_cases(make_world("babyai"), SEEDS, policy="mixed", max_steps=20)


def test_cases_are_the_episodes_steps_with_the_worlds_verdict(cases):
    assert {c.mission for c in cases} and all(c.frame.shape == (64, 64, 3) for c in cases)
    assert 0 < sum(c.success for c in cases) <= len(SEEDS)  # at most one success per episode: it ends there
    again = success_cases(make_world("babyai"), SEEDS, policy="mixed", max_steps=20)
    assert [c.action for c in again] == [c.action for c in cases]  # seeded
    assert all(np.array_equal(a.frame, b.frame) for a, b in zip(again, cases, strict=True))


def test_the_true_world_detects_every_success_and_copying_none(cases):
    oracle = success_detection(OracleSimulator("babyai"), cases, batch_size=7)
    assert oracle["precision"]["value"] == oracle["recall"]["value"] == 1.0
    assert oracle["said_success"] == oracle["successes"] == sum(c.success for c in cases)
    copy = success_detection(CopySimulator(frames_per_action=1), cases)
    assert copy["recall"]["value"] == 0.0 and copy["precision"]["value"] is None and copy["said_success"] == 0


def test_training_seeds_and_empty_cases_are_refused():
    with pytest.raises(ValueError, match="training seeds"):
        success_cases(make_world("babyai"), [0, 1])
    with pytest.raises(ValueError, match="no cases"):
        success_detection(CopySimulator(), [])
