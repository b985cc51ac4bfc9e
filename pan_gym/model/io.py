"""Saving and loading model directories: ``config.json`` + ``model.safetensors`` (no pickle), written atomically.

A directory is written into a temporary sibling and renamed into place, so a process killed mid-write leaves either
the old directory or the new one, never a half-written one. Loading checks the format, the config and every tensor's
name and shape, and names the offending file in the error.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

FORMAT = "pan-gym"
FORMAT_VERSION = 1
CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"


class CheckpointError(ValueError):
    """A model directory that cannot be loaded: missing, corrupted, or made for another model."""


def write_model_dir(directory: str | Path, config: dict, tensors: dict[str, torch.Tensor]) -> Path:
    """Write config + weights into ``directory`` atomically (temp dir + rename; an old directory is replaced)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        (tmp / CONFIG_NAME).write_text(
            json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, "config": config}, indent=2)
        )
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp / WEIGHTS_NAME))
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            os.rename(directory, old)
            os.rename(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def read_config(directory: str | Path) -> dict:
    """The model config dict stored in ``directory/config.json``; clear errors naming the file."""
    path = Path(directory) / CONFIG_NAME
    if not Path(directory).is_dir():
        raise CheckpointError(
            f"{directory}: not a model directory (expected {CONFIG_NAME} and {WEIGHTS_NAME})"
        )
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(
            f"{path}: missing; a model directory holds {CONFIG_NAME} and {WEIGHTS_NAME}"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: corrupted JSON ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or "config" not in data:
        raise CheckpointError(f"{path}: not a pan-gym model config")
    if data.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format version {data.get('format_version')}, this pan-gym reads {FORMAT_VERSION}"
        )
    return data["config"]


def read_weights(directory: str | Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Tensors of ``directory/model.safetensors``, checked against ``expected`` names and shapes."""
    path = Path(directory) / WEIGHTS_NAME
    if not path.exists():
        raise CheckpointError(f"{path}: missing")
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path}: corrupted safetensors file ({e})") from None
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: weights do not match the model in {CONFIG_NAME}: "
            f"missing {missing[:5]}{'…' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'…' if len(unexpected) > 5 else ''}"
        )
    bad = [
        f"{k}: file {tuple(tensors[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if tensors[k].shape != v.shape
    ]
    if bad:
        raise CheckpointError(f"{path}: tensor shapes do not match the model: {bad[:5]}")
    nonfinite = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if nonfinite:
        raise CheckpointError(f"{path}: non-finite values in {nonfinite[:5]}")
    return tensors
