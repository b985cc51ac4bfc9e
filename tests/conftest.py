"""Shared test setup: one thread per test process (2-core machines), quiet transformers."""

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model():
    """A tiny PanWorldModel with fixed random weights, shared by read-only tests."""
    from pan_gym.model.glp import PanWorldModel

    torch.manual_seed(0)
    return PanWorldModel.from_preset("tiny").eval()
