"""Training windows: counts, contents, continuity with the previous chunk, collation, memory maps."""

import json

import pytest
import torch
from tensordict.memmap import MemoryMappedTensor
from torch.utils.data import DataLoader

from pan_gym.data import collate_windows, collect, load_dataset


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    out = tmp_path_factory.mktemp("episodes")
    collect("babyai", episodes=5, out=out, policy="random", max_steps=6, progress=False)
    return out


def lengths(root):
    return [len(json.loads(p.read_text())["actions"]) for p in sorted(root.glob("episode_*/episode.json"))]


def test_windows_are_every_n_step_slice(root):
    for n in (1, 3, 6):
        assert len(load_dataset(root, window=n)) == sum(max(0, s - n + 1) for s in lengths(root))
    assert len(load_dataset(root, window=7)) == 0  # episodes shorter than the window are skipped
    with pytest.raises(ValueError):
        load_dataset(root, window=0)


def test_item_contents_and_first_frame_continuity(root):
    ds = load_dataset(root, window=2)
    assert isinstance(ds.episode(0)["frames"], MemoryMappedTensor)  # frames stay on disk
    for i in range(len(ds)):
        e, s = ds.index[i]
        item, td, meta = ds[i], ds.episode(e), ds.meta[e]
        assert item["frames"].shape == (2, 4, 64, 64, 3) and item["frames"].dtype == torch.uint8
        assert item["first_frame"].shape == (64, 64, 3) and item["first_frame"].dtype == torch.uint8
        assert item["rewards"].dtype == torch.float32 and item["rewards"].shape == (2,)
        for k in ("terminated", "truncated", "is_env_event"):
            assert item[k].dtype == torch.bool and item[k].shape == (2,)
        assert item["actions"] == meta["actions"][s : s + 2] and item["mission"] == meta["mission"]
        expected = td["first_frame"] if s == 0 else td["frames"][s - 1, -1]
        assert torch.equal(item["first_frame"], expected)
        assert torch.equal(item["frames"], td["frames"][s : s + 2])


def test_collate_stacks_tensors_and_keeps_strings(root):
    ds = load_dataset(root, window=2)
    batch = next(iter(DataLoader(ds, batch_size=3, collate_fn=collate_windows)))
    assert batch["frames"].shape == (3, 2, 4, 64, 64, 3) and batch["first_frame"].shape == (3, 64, 64, 3)
    assert batch["rewards"].shape == (3, 2) and batch["terminated"].dtype == torch.bool
    assert len(batch["actions"]) == 3 and all(len(a) == 2 and isinstance(a[0], str) for a in batch["actions"])
    assert len(batch["mission"]) == 3 and isinstance(batch["mission"][0], str)


def test_several_directories_pool_their_windows(tmp_path):
    from pan_gym.data.collect import collect

    a, b = tmp_path / "a", tmp_path / "b"
    collect("babyai", 2, a, policy="random", max_steps=4, progress=False)
    collect("babyai", 1, b, policy="random", max_steps=4, seed=100, progress=False)
    both = load_dataset([a, b], window=2)
    assert len(both) == len(load_dataset(a, window=2)) + len(load_dataset(b, window=2))
    assert both[len(both) - 1]["mission"] == load_dataset(b, window=2)[-1]["mission"]
    with pytest.raises(FileNotFoundError, match="no collected episodes"):
        load_dataset([a, tmp_path / "empty"], window=2)
