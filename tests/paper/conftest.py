"""The tiny real-format checkpoint directories, written once per test session."""

from __future__ import annotations

import pytest

from pan_gym.paper.tiny_dirs import TinyDirs, write_tiny_checkpoints


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory) -> TinyDirs:
    return write_tiny_checkpoints(tmp_path_factory.mktemp("checkpoints"))
