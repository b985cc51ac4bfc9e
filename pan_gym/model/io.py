"""Saving and loading model directories: ``config.json`` + ``model.safetensors`` (no pickle).

A save writes each file into a temporary sibling inside the directory, syncs it, then renames it over the old one,
so a process killed mid-write leaves the previous model whole. Nothing but the model's own two files is ever
replaced: a non-empty directory that is not a model directory is refused. ``config.json`` records the SHA-256 and
dtype of the weights, so a flipped byte, a file from another save (a save killed between its two renames) or
weights in another dtype are named at load time instead of running silently.

Example:
    >>> import tempfile, torch
    >>> d = tempfile.mkdtemp()
    >>> _ = write_model_dir(d, {"x": 1}, {"w": torch.zeros(2)})
    >>> read_config(d), tuple(read_weights(d, {"w": torch.zeros(2)})["w"].shape)
    ({'x': 1}, (2,))
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from pan_gym.config_checks import ConfigError, drop_retired

FORMAT = "pan-gym"
FORMAT_VERSION = 2  # 2: the decoder's and text encoder's retired fields are gone (config_checks.RETIRED)
READABLE_VERSIONS = (1, 2)
CONFIG_NAME, WEIGHTS_NAME = "config.json", "model.safetensors"
_FLOAT_DTYPES = ("float32", "bfloat16", "float16", "float64")
_TMP = ".tmp-"  # infix of a save's temporary files: f".{name}{_TMP}{pid}-{token}"


class CheckpointError(ValueError):
    """A model directory that cannot be loaded or written: missing, corrupted, or made for another model."""


def is_model_dir(directory: str | Path) -> bool:
    """True when ``directory/config.json`` is a pan-gym model config (readable or not as a model)."""
    try:
        data = json.loads((Path(directory) / CONFIG_NAME).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def config_header(config: dict) -> dict:
    """What ``config.json`` holds besides the weights' checksum: the format, its version and the model config."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "config": config}


def write_model_dir(
    directory: str | Path, config: dict, tensors: dict[str, torch.Tensor], overwrite: bool = True
) -> Path:
    """Write config + weights into ``directory``, replacing only an existing model's two files.

    Refuses (``CheckpointError``) a path that is a file, a non-empty directory that is not a model directory, and
    an existing model when ``overwrite`` is False. Other files in a model directory (a card, eval reports) stay.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise CheckpointError(f"{directory}: exists and is not a directory; choose another path")
    if directory.is_dir():
        _remove_stale_temps(directory)  # a save killed before its first rename leaves only these
    if directory.is_dir() and any(_TMP not in p.name for p in directory.iterdir()):
        if not is_model_dir(directory):
            raise CheckpointError(
                f"{directory}: not empty and not a model directory; refusing to write into it "
                "(choose a new or empty directory)"
            )
        if not overwrite:
            raise CheckpointError(
                f"{directory}: a model directory already; pass overwrite to replace its model"
            )
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    dtypes = sorted({str(v.dtype).removeprefix("torch.") for v in tensors.values() if v.is_floating_point()})
    if len(dtypes) > 1:
        raise CheckpointError(
            f"{directory}: weights in several float dtypes {dtypes}; cast them to one first"
        )
    token = f"{_TMP}{os.getpid()}-{secrets.token_hex(4)}"
    weights_tmp, config_tmp = directory / f".{WEIGHTS_NAME}{token}", directory / f".{CONFIG_NAME}{token}"
    try:
        save_file(tensors, str(weights_tmp))
        header = config_header(config)
        header["weights"] = {"sha256": _sha256(weights_tmp), "dtype": dtypes[0] if dtypes else None}
        config_tmp.write_text(json.dumps(header, indent=2))
        for f in (weights_tmp, config_tmp):
            _fsync(f)
        # a kill between the two renames: the checksum says so
        os.replace(weights_tmp, directory / WEIGHTS_NAME)
        os.replace(config_tmp, directory / CONFIG_NAME)
        _fsync(directory)
    finally:
        for f in (weights_tmp, config_tmp):
            f.unlink(missing_ok=True)
    return directory


def _remove_stale_temps(directory: Path) -> None:
    """Temporary files of saves whose process is gone (killed mid-write)."""
    for f in directory.glob(f".*{_TMP}*"):
        pid = f.name.rsplit(_TMP, 1)[-1].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            f.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _header(directory: str | Path) -> dict:
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
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("config"), dict):
        raise CheckpointError(f"{path}: not a pan-gym model config")
    if data.get("format_version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path}: format version {data.get('format_version')}, this pan-gym reads {READABLE_VERSIONS}"
        )
    return data


def read_config(directory: str | Path) -> dict:
    """The model config dict stored in ``directory/config.json``, in this version's fields (a version-1 file loses
    its retired fields, ``config_checks.drop_retired``); clear errors naming the file."""
    header = _header(directory)
    if header["format_version"] == 1:
        try:
            return drop_retired(header["config"])
        except ConfigError as e:
            raise CheckpointError(f"{Path(directory) / CONFIG_NAME}: {e}") from None
    return header["config"]


def read_weights(directory: str | Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Tensors of ``directory/model.safetensors``, checked against the checksum and dtype in ``config.json`` and
    against ``expected`` names, shapes and dtypes (floats in the saved dtype, float32 when none is recorded)."""
    path = Path(directory) / WEIGHTS_NAME
    recorded = _header(directory).get("weights") or {}
    if not path.exists():
        raise CheckpointError(f"{path}: missing")
    if "sha256" in recorded and _sha256(path) != recorded["sha256"]:
        raise CheckpointError(
            f"{path}: does not match the checksum in {CONFIG_NAME}: the file is corrupted, or comes from another "
            "save (one interrupted between its two files); save the model again"
        )
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
    name = recorded.get("dtype") or "float32"
    float_dtype = getattr(torch, name, None) if name in _FLOAT_DTYPES else None
    if float_dtype is None:
        raise CheckpointError(f"{Path(directory) / CONFIG_NAME}: unknown weights dtype {name!r}")
    bad = [
        f"{k}: {str(tensors[k].dtype).removeprefix('torch.')}"
        for k, v in expected.items()
        if tensors[k].dtype != (float_dtype if v.is_floating_point() else v.dtype)
    ]
    if bad:
        raise CheckpointError(
            f"{path}: tensor dtypes do not match (floats {str(float_dtype).removeprefix('torch.')}, "
            f"integers as the model's): {bad[:5]}"
        )
    nonfinite = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if nonfinite:
        raise CheckpointError(f"{path}: non-finite values in {nonfinite[:5]}")
    return tensors
