"""Model directories: a save replaces only a model's own files, atomically; a load names what is wrong."""

from __future__ import annotations

import json
import subprocess

import pytest
import torch
from safetensors.torch import load_file, save_file

from pan_gym.model import io
from pan_gym.model.glp import PanWorldModel
from pan_gym.model.io import CheckpointError


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return PanWorldModel.from_preset("tiny").eval()


def test_save_refuses_a_directory_that_is_not_a_model_and_deletes_nothing(tmp_path, tiny_model):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(CheckpointError, match="not a model directory"):
        tiny_model.save_pretrained(run)
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "metrics.jsonl"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="not a directory"):
        tiny_model.save_pretrained(tmp_path / "file")


def test_save_over_a_model_keeps_its_other_files_and_overwrite_false_refuses(tmp_path, tiny_model):
    d = tiny_model.save_pretrained(tmp_path / "m")
    (d / "MODEL_CARD.md").write_text("card")
    (d / "eval").mkdir()
    other = PanWorldModel.from_preset("tiny")  # other random weights
    with pytest.raises(CheckpointError, match="overwrite"):
        other.save_pretrained(d, overwrite=False)
    other.save_pretrained(d)
    assert (d / "MODEL_CARD.md").read_text() == "card" and (d / "eval").is_dir()
    assert sorted(p.name for p in d.iterdir()) == [
        "MODEL_CARD.md",
        "config.json",
        "eval",
        "model.safetensors",
    ]
    loaded = PanWorldModel.from_pretrained(d)
    key = "backbone.queries"
    assert torch.equal(loaded.state_dict()[key], other.state_dict()[key])


def test_a_save_that_fails_midway_leaves_the_old_model_whole(tmp_path, tiny_model, monkeypatch):
    d = tiny_model.save_pretrained(tmp_path / "m")
    before = {p.name: p.read_bytes() for p in d.iterdir()}

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as a signal arriving while the weights are written

    monkeypatch.setattr(io, "save_file", killed)
    with pytest.raises(KeyboardInterrupt):
        PanWorldModel.from_preset("tiny").save_pretrained(d)
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before  # no temp file left, old model intact
    PanWorldModel.from_pretrained(d)


def test_a_save_killed_between_its_two_files_is_named_at_load(tmp_path, tiny_model, monkeypatch):
    d = tiny_model.save_pretrained(tmp_path / "m")
    real, calls = io.os.replace, []

    def replace_then_die(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the weights are in place, the config is not
        real(src, dst)

    monkeypatch.setattr(io.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        PanWorldModel.from_preset("tiny").save_pretrained(d)
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match="checksum"):
        PanWorldModel.from_pretrained(d)


def test_temp_files_of_a_killed_save_are_removed_by_the_next_save(tmp_path, tiny_model):
    d = tiny_model.save_pretrained(tmp_path / "m")
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = d / f".model.safetensors.tmp-{dead.pid}-0000"
    stale.write_bytes(b"half")
    tiny_model.save_pretrained(d)
    assert not stale.exists()


def test_a_flipped_byte_is_caught_by_the_checksum(tmp_path, tiny_model):
    d = tiny_model.save_pretrained(tmp_path / "m")
    blob = bytearray((d / "model.safetensors").read_bytes())
    blob[-10] ^= 0x01  # inside the last tensor's data: safetensors alone would load it
    (d / "model.safetensors").write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="checksum"):
        PanWorldModel.from_pretrained(d)


@pytest.mark.parametrize("dtype", [torch.float16, torch.int64])
def test_weights_in_another_dtype_are_refused(tmp_path, tiny_model, dtype):
    d = tiny_model.save_pretrained(tmp_path / "m")
    tensors = load_file(str(d / "model.safetensors"))
    key = "backbone.queries"
    tensors[key] = tensors[key].to(dtype)
    save_file(tensors, str(d / "model.safetensors"))
    header = json.loads((d / "config.json").read_text())
    del header["weights"]  # as a file written by hand, or by an older pan-gym
    (d / "config.json").write_text(json.dumps(header))
    with pytest.raises(CheckpointError, match=f"dtypes do not match.*{key}"):
        PanWorldModel.from_pretrained(d)


def test_a_bad_config_value_is_named_at_load(tmp_path, tiny_model):
    d = tiny_model.save_pretrained(tmp_path / "m")
    header = json.loads((d / "config.json").read_text())
    for path, value in [("backbone.hidden_size", "32"), ("image_size", 63), ("frames_per_chunk", 0)]:
        bad = json.loads(json.dumps(header))
        node = bad["config"]
        *parents, name = path.split(".")
        for p in parents:
            node = node[p]
        node[name] = value
        (d / "config.json").write_text(json.dumps(bad))
        with pytest.raises(CheckpointError, match=f"config.json.*{path}"):
            PanWorldModel.from_pretrained(d)


def test_a_first_save_killed_before_its_renames_does_not_block_the_next(tmp_path, tiny_model):
    d = tmp_path / "final"
    d.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (d / f".model.safetensors.tmp-{dead.pid}-0000").write_bytes(b"half")  # all the killed save left
    tiny_model.save_pretrained(d)
    assert sorted(p.name for p in d.iterdir()) == ["config.json", "model.safetensors"]
