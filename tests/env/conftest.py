"""Env test fixtures: the start-frame source is the real BabyAI world when it exists, else a small fake world."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest


class FakeWorld:
    """Stands in for BabyAI only as a source of start frames and missions (reset/close)."""

    name, frame_shape, frames_per_action = "fake", (64, 64, 3), 4

    def reset(self, seed=None):
        rng = np.random.default_rng(seed)
        frame = np.zeros((64, 64, 3), np.uint8)
        r, c = rng.integers(0, 8, 2)
        frame[r * 8 : r * 8 + 8, c * 8 : c * 8 + 8] = (255, 0, 0)
        return frame, {"mission": ["go to the red ball", "pick up the blue key"][int(rng.integers(2))]}

    def close(self):
        pass


HAS_BABYAI = importlib.util.find_spec("pan_gym.worlds.babyai") is not None


@pytest.fixture
def world():
    if HAS_BABYAI:
        from pan_gym.worlds import make_world

        return make_world("babyai")
    return FakeWorld()


@pytest.fixture
def frame():
    return np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
