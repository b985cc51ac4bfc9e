"""Data: collect episodes from worlds into memory-mapped TensorDicts, and read them back as training windows."""

from pan_gym.data.collect import CollectStats, collect, committed_episodes
from pan_gym.data.dataset import WindowDataset, collate_windows, load_dataset

__all__ = [
    "CollectStats",
    "WindowDataset",
    "collate_windows",
    "collect",
    "committed_episodes",
    "load_dataset",
]
