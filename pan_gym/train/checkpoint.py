"""Atomic training checkpoints: written into a temporary directory, marked complete, then renamed into place.

    OUT/checkpoints/step_000100/
        model/config.json, model/model.safetensors   the weights (loadable with PanWorldModel.from_pretrained)
        train_state.pt                               optimizer, scheduler, step, data position (weights_only)
        rng_rank{R}.pt                               each rank's torch RNG and loss-noise generator
        COMPLETE                                     written last, before the rename

A process killed at any point leaves either a complete ``step_*`` directory or a ``.tmp-*`` one that resume ignores
(and the next save removes). Older checkpoints are pruned only after the new one is in place. Everything loads with
``torch.load(weights_only=True)``; state dicts are full (gathered) ones from ``torch.distributed.checkpoint``'s
``get_state_dict`` helpers, so the same files serve one process, DDP and FSDP2.

FSDP2 runs write **sharded** checkpoints instead: each rank writes its own shards of the weights, the optimizer
state and the EMA with ``torch.distributed.checkpoint`` (DCP), and nothing is gathered:

    OUT/checkpoints/step_000100/
        config.json                                  the model's config
        sharded/.metadata, sharded/__R_0.distcp      DCP: "model", "optimizer" (and "ema") of every rank
        train_state.pt, rng_rank{R}.pt, COMPLETE     as above, without the optimizer and EMA

DCP reshards on load, so a sharded checkpoint resumes on another number of ranks, with or without FSDP, and
``pan-gym export`` turns it into a model directory in one process (``read_sharded``).

Example:
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> p = save_checkpoint(root, 2, {}, {"w": torch.zeros(2)}, {"step": 2}, {"rng": torch.get_rng_state()})
    >>> latest_checkpoint(root) == p, (p / MARKER).exists()
    (True, True)
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from pan_gym.model import io
from pan_gym.train.distributed import DistInfo, barrier

MARKER = "COMPLETE"
SHARDED = "sharded"  # the DCP folder of a sharded checkpoint
CRASH_ENV = "PAN_GYM_TEST_CRASH_IN_CHECKPOINT"  # tests: a step number; the writer dies half-way through it
_STEP_DIR = re.compile(r"^step_(\d+)$")
_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)
_PREFIX = "model."  # the trainer's loss module holds the world model as ``.model``


# ---- state dicts (collective under FSDP: every rank calls them) ------------------------------------------------
def model_state(core: nn.Module, keep: set[str]) -> dict[str, torch.Tensor]:
    """Full weights of ``core.model`` (gathered on every rank), restricted to the names in ``keep``."""
    sd = get_model_state_dict(core, options=_FULL)
    return {
        k[len(_PREFIX) :]: v for k, v in sd.items() if k.startswith(_PREFIX) and k[len(_PREFIX) :] in keep
    }


def load_model_state(core: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    full = {_PREFIX + k: v for k, v in tensors.items()}
    set_model_state_dict(core, full, options=StateDictOptions(full_state_dict=True, strict=False))


def optimizer_state(core: nn.Module, opt: torch.optim.Optimizer) -> dict:
    return get_optimizer_state_dict(core, opt, options=_FULL)


def load_optimizer_state(core: nn.Module, opt: torch.optim.Optimizer, state: dict) -> None:
    set_optimizer_state_dict(core, opt, state, options=StateDictOptions(full_state_dict=True))


def sharded_state(
    core: nn.Module, opt: torch.optim.Optimizer, keep: set[str], ema_shadow: dict | None = None
) -> dict:
    """This rank's shards of ``core.model``'s weights named in ``keep``, of the optimizer state (and of the EMA),
    as DCP saves and loads them; the template to load into is the same call on a freshly built run."""
    weights = {k: v for k, v in get_model_state_dict(core).items() if k.removeprefix(_PREFIX) in keep}
    state = {"model": weights, "optimizer": get_optimizer_state_dict(core, opt)}
    if ema_shadow is not None:
        state["ema"] = ema_shadow
    return state


def load_sharded(
    path: Path, core: nn.Module, opt: torch.optim.Optimizer, keep: set[str], ema_shadow: dict | None = None
) -> None:
    """Load a sharded checkpoint's weights, optimizer state (and EMA, in place) into this run, resharding to its
    ranks; collective. Missing or mismatched tensors raise ``io.CheckpointError``."""
    state = sharded_state(core, opt, keep, ema_shadow)
    try:
        dcp.load(state, checkpoint_id=Path(path) / SHARDED, no_dist=not torch.distributed.is_initialized())
    except Exception as e:  # DCP raises CheckpointException (with every rank's error) or RuntimeError
        raise io.CheckpointError(
            f"{path}: the sharded weights do not load ({type(e).__name__}: {e})"
        ) from None
    set_model_state_dict(core, state["model"], options=StateDictOptions(strict=False))
    set_optimizer_state_dict(core, opt, state["optimizer"])


def is_sharded(path: str | Path) -> bool:
    return (Path(path) / SHARDED).is_dir()


def check_sharded(path: str | Path) -> None:
    """``io.CheckpointError`` unless the DCP folder's metadata reads and every shard file it names holds the bytes
    it says: a truncated or missing shard is found before a run commits to this checkpoint."""
    folder = Path(path) / SHARDED
    try:
        meta = dcp.FileSystemReader(str(folder)).read_metadata()
    except Exception as e:
        raise io.CheckpointError(f"{folder}: unreadable DCP metadata ({type(e).__name__}: {e})") from None
    need: dict[str, int] = {}
    for info in (meta.storage_data or {}).values():
        need[info.relative_path] = max(need.get(info.relative_path, 0), info.offset + info.length)
    for name, size in need.items():
        have = (folder / name).stat().st_size if (folder / name).is_file() else -1
        if have < size:
            raise io.CheckpointError(f"{folder / name}: {'missing' if have < 0 else 'truncated'} shard")


def read_sharded(path: str | Path, model: nn.Module, key: str = "model") -> dict[str, torch.Tensor]:
    """A sharded checkpoint's ``key`` entry ("model": the weights, "ema": their averages) as full tensors named as
    in ``model.state_dict()``, read in one process (no process group)."""
    folder = Path(path) / SHARDED
    prefix = f"{key}.{_PREFIX}" if key == "model" else f"{key}."  # how DCP names the entry's tensors
    names = dcp.FileSystemReader(str(folder)).read_metadata().state_dict_metadata
    saved = [n[len(prefix) :] for n in names if n.startswith(prefix)]
    own = model.state_dict()
    unknown = [n for n in saved if n not in own]
    if unknown:
        raise io.CheckpointError(f"{path}: {key} tensors the model does not have: {unknown[:5]}")
    inner = _PREFIX if key == "model" else ""
    tensors = {inner + n: own[n].detach().clone() for n in saved}
    try:
        dcp.load({key: tensors}, checkpoint_id=folder, no_dist=True)
    except Exception as e:
        raise io.CheckpointError(
            f"{path}: the sharded {key} state does not load ({type(e).__name__}: {e})"
        ) from None
    return {n.removeprefix(inner): v for n, v in tensors.items()}


# ---- directories ----------------------------------------------------------------------------------------------
def step_dir(root: Path, step: int) -> Path:
    return Path(root) / f"step_{step:06d}"


def list_checkpoints(root: str | Path) -> list[Path]:
    """Complete checkpoints under ``root``, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [
        (int(m.group(1)), p)
        for p in root.iterdir()
        if (m := _STEP_DIR.match(p.name)) and (p / MARKER).is_file()
    ]
    return [p for _, p in sorted(found)]


def latest_checkpoint(root: str | Path) -> Path | None:
    """The newest complete checkpoint, or None."""
    found = list_checkpoints(root)
    return found[-1] if found else None


def _fsync_tree(path: Path) -> None:
    for f in sorted(path.rglob("*")):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _maybe_crash(step: int, tmp: Path) -> None:
    if os.environ.get(CRASH_ENV) == str(step):
        print(f"[test] {CRASH_ENV}={step}: dying half-way through writing {tmp}", flush=True)
        os._exit(1)


def save_checkpoint(
    root: str | Path,
    step: int,
    config: dict,
    model_tensors: dict[str, torch.Tensor] | None,
    train_state: dict,
    rank_state: dict,
    info: DistInfo | None = None,
    keep: int = 2,
    sharded: dict | None = None,
) -> Path:
    """Write checkpoint ``step`` atomically; every rank calls it (rank 0 writes the shared files).

    ``model_tensors``/``train_state`` are only read on rank 0; ``rank_state`` (RNG) is written by each rank.
    ``sharded`` (``sharded_state``) instead of ``model_tensors``: every rank writes its shards with DCP.
    After the rename, all but the newest ``keep`` complete checkpoints are removed.
    """
    info = info or DistInfo()
    root, final = Path(root), step_dir(Path(root), step)
    tmp = root / f".tmp-{final.name}"
    if info.is_main:
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)  # left by a crash
        tmp.mkdir()
    barrier(info)
    torch.save(rank_state, tmp / f"rng_rank{info.rank}.pt")
    if sharded is not None:  # each rank writes its own shards
        dcp.save(sharded, checkpoint_id=tmp / SHARDED, no_dist=not info.enabled)
    barrier(info)
    if info.is_main:
        if sharded is None:
            io.write_model_dir(tmp / "model", config, model_tensors)
        else:
            (tmp / io.CONFIG_NAME).write_text(json.dumps(io.config_header(config), indent=2))
        _maybe_crash(step, tmp)
        torch.save(train_state, tmp / "train_state.pt")
        (tmp / MARKER).write_text(f"step {step}\n")
        _fsync_tree(tmp)
        if final.exists():  # the same step saved again (e.g. a resumed run): replace it
            shutil.rmtree(final)
        os.rename(tmp, final)
        _fsync_tree(root)
        for old in list_checkpoints(root)[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
        for stale in root.glob(".tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
    barrier(info)
    return final


def read_checkpoint(path: str | Path, rank: int = 0) -> tuple[dict, dict | None]:
    """(train_state, this rank's RNG state or None if the run had fewer ranks). Weights: ``path / "model"``."""
    path = Path(path)
    if not (path / MARKER).is_file():
        raise io.CheckpointError(f"{path}: incomplete checkpoint (no {MARKER} marker)")
    rng = path / f"rng_rank{rank}.pt"
    return _load(path / "train_state.pt"), (_load(rng) if rng.exists() else None)


def _load(file: Path):
    """``torch.load(weights_only=True)``; a missing, truncated or corrupted file is a ``CheckpointError`` naming it."""
    try:
        return torch.load(file, weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as e:
        raise io.CheckpointError(f"{file}: cannot be read ({type(e).__name__}: {e})") from None
