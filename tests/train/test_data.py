from __future__ import annotations

import pytest
import torch

from pan_gym.data import load_dataset
from pan_gym.data.collect import collect
from pan_gym.train.data import Rephrased, ResampledChunks, SyntheticWindows, WindowBatches
from pan_gym.worlds import make_world


def test_resampled_chunks_keep_each_actions_outcome():
    data = SyntheticWindows(2, window=2, frames_per_chunk=4)
    item, one, two = data[0], ResampledChunks(data, 1)[0], ResampledChunks(data, 2)[0]
    assert not torch.equal(item["frames"][:, 0], item["frames"][:, -1])  # the chunk's frames differ
    assert one["frames"].shape[:2] == (2, 1)
    # one frame per action: the last one, the action's outcome
    torch.testing.assert_close(one["frames"][:, 0], item["frames"][:, -1])
    torch.testing.assert_close(two["frames"], item["frames"][:, [0, -1]])


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = tmp_path_factory.mktemp("babyai-data")
    collect("babyai", episodes=2, out=root, policy="random", max_steps=8, progress=False)
    return load_dataset(root, window=4)


def test_rephrased_redraws_each_wording_every_epoch_and_keeps_the_action(collected):
    world = make_world("babyai")
    data = Rephrased(collected, world.paraphrases("train"), seed=0)
    wordings = set()
    for epoch in range(8):
        data.set_epoch(epoch)
        item = data[0]
        assert item["canonical_actions"] == collected[0]["canonical_actions"]
        assert [world.phrasebook.canonical(a) for a in item["actions"]] == item["canonical_actions"]
        assert all(world.phrasebook.parse(a).split == "train" for a in item["actions"])
        assert data[0]["actions"] == item["actions"]  # seeded by (seed, epoch, index)
        wordings.add(tuple(item["actions"]))
    assert len(wordings) > 1


def test_window_batches_set_the_epoch_so_a_resumed_run_draws_the_same_wordings(collected):
    world = make_world("babyai")
    data = Rephrased(collected, world.paraphrases("train"), seed=1)
    batches = WindowBatches(data, batch_size=2, seed=1)
    for _ in range(batches.per_epoch + 1):  # into the second epoch
        batches.next()
    assert data.epoch == batches.epoch == 1
    state, expected = batches.state_dict(), batches.next()["actions"]
    resumed = WindowBatches(Rephrased(collected, world.paraphrases("train"), seed=1), batch_size=2, seed=1)
    resumed.load_state_dict(state)
    assert resumed.next()["actions"] == expected


def test_rephrasing_data_without_canonical_actions_is_refused():
    with pytest.raises(ValueError, match="canonical actions"):
        Rephrased(SyntheticWindows(2, window=2, frames_per_chunk=1), {"move up": ["move up", "go up"]})
