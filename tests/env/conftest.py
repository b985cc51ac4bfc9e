"""Env test fixtures: start states come from the real BabyAI world."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def world():
    from pan_gym.worlds import make_world

    w = make_world("babyai")
    yield w
    w.close()


@pytest.fixture
def frame():
    return np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
