"""``--resume``: which arguments a resumed run may change, and which checkpoint it continues from.

A run records the arguments it was started with in ``OUT/args.json``. ``--resume`` compares them with the new ones
and refuses (``ResumeError``, one message listing every differing field) when they differ in anything but the
fields of ``MAY_DIFFER``: everything else (stage, data, model preset/config/init, EMA, batch size, optimizer and
schedule, seed, ...) is either held by the checkpoints or changes what the run computes from them. ``MAY_DIFFER``
is the one list of what a resume may change; a field added to ``TrainArgs`` later must match unless it is added
here.

Checkpoints are tried newest first. One that does not load (a missing, truncated or corrupted file) is reported,
the previous complete one is used, and the skipped one is moved aside to ``checkpoints/skipped-step_N`` (kept for
inspection, never counted or pruned as a good checkpoint). When none loads the resume stops with a ``ResumeError``.

Example:
    >>> from pan_gym.train.args import TrainArgs
    >>> run = TrainArgs(stage="joint", steps=100)
    >>> differing_args(vars(run), TrainArgs(stage="reward", steps=200, threads=2))
    ["stage: run='joint', now='reward'"]
"""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from pan_gym.config import PanConfig
from pan_gym.model import io
from pan_gym.model.glp import PanWorldModel
from pan_gym.train import checkpoint as ckpt
from pan_gym.train.args import TrainArgs
from pan_gym.train.distributed import DistInfo, any_rank, barrier

# the arguments a resumed run may change, and why that is safe
MAY_DIFFER: dict[str, str] = {
    "steps": "the total to reach: a run may be extended (its cosine schedule stretches to the new total)",
    "resume": "how this invocation starts",
    "out": "the run directory itself, however it is spelled",
    "threads": "how many CPU threads compute the same thing",
    "device": "where the same state is computed (checkpoints hold full CPU state dicts)",
    "bf16": "autocast of the forward pass; the weights and optimizer state stay fp32",
    "fsdp": "how the same full state dicts are sharded over the ranks",
    "activation_checkpointing": "whether blocks keep their activations or recompute them: the same gradients",
    "progress": "display only",
    "tensorboard": "logging only",
    "log_every": "logging only",
    "sample_every": "sample videos only",
    "save_every": "when checkpoints are written, not what they hold",
    "keep_checkpoints": "how many old checkpoints stay on disk",
}
_STATE_KEYS = ("step", "optimizer", "scheduler", "data")
# what a missing, truncated or corrupted checkpoint file raises (io.CheckpointError is a ValueError)
_LOAD_ERRORS = (ValueError, OSError, RuntimeError, EOFError, pickle.UnpicklingError)


class ResumeError(RuntimeError):
    """``--resume`` cannot continue the run: other arguments than the run's, or no checkpoint that loads."""


@dataclass
class Resumed:
    """The checkpoint a run continues from, loaded: its model, train state and this rank's RNG state."""

    path: Path
    model: PanWorldModel
    state: dict
    rng: dict | None


def differing_args(saved: dict, args: TrainArgs) -> list[str]:
    """``name: run=X, now=Y`` for each field outside ``MAY_DIFFER`` where ``args`` differs from the run's saved
    arguments (a field the run did not record counts as its default; fields this version lacks are ignored)."""
    now, defaults = asdict(args), asdict(TrainArgs())
    return [
        f"{f.name}: run={saved.get(f.name, defaults[f.name])!r}, now={now[f.name]!r}"
        for f in fields(TrainArgs)
        if f.name not in MAY_DIFFER and saved.get(f.name, defaults[f.name]) != now[f.name]
    ]


def _refuse(out: Path, problems: list[str], where: str) -> ResumeError:
    allowed = ", ".join(k for k in MAY_DIFFER if k not in ("resume", "out"))
    return ResumeError(
        f"--resume: these arguments differ from the run's ({where}):\n  "
        + "\n  ".join(problems)
        + f"\nResume with the run's values for them (only {allowed} may change on a resume), or start a new "
        f"run with another --out (--init {out / 'final'} or a checkpoint's model/ starts it from these weights)."
    )


def check_args(out: Path, args: TrainArgs) -> None:
    """Refuse (``ResumeError``) arguments that differ from ``out/args.json`` outside ``MAY_DIFFER``."""
    path = out / "args.json"
    if not path.exists():
        return  # the checkpoint's own checks (check_state) still apply
    try:
        saved = json.loads(path.read_text())
        if not isinstance(saved, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise ResumeError(
            f"--resume: cannot read the run's arguments {path} ({e}); restore it, or delete it to resume "
            "without comparing arguments"
        ) from None
    problems = differing_args(saved, args)
    if problems:
        raise _refuse(out, problems, str(path))


def check_state(out: Path, resumed: Resumed, args: TrainArgs) -> None:
    """What the checkpoint itself says about the run (for runs without ``args.json``): stage and EMA."""
    state, problems = resumed.state, []
    if "stage" in state and state["stage"] != args.stage:
        problems.append(f"stage: run={state['stage']!r}, now={args.stage!r}")
    has_ema = "ema" in state or "ema" in state.get("sharded", ())
    if has_ema != bool(args.ema_decay):
        run = "on (the checkpoint holds EMA weights)" if has_ema else "0.0 (no EMA weights)"
        problems.append(f"ema_decay: run={run}, now={args.ema_decay!r}")
    if problems:
        raise _refuse(out, problems, f"as recorded in {resumed.path}")


def _load(path: Path, rank: int) -> Resumed:
    """A checkpoint's model and state; a sharded one's model is built from its config, its weights load after
    the run is wrapped (``checkpoint.load_sharded``)."""
    if ckpt.is_sharded(path):
        ckpt.check_sharded(path)
        model = PanWorldModel.from_config(PanConfig.from_dict(io.read_config(path)))
    else:
        model = PanWorldModel.from_pretrained(path / "model")
    state, rng = ckpt.read_checkpoint(path, rank)
    need = [k for k in _STATE_KEYS if k not in (state.get("sharded", ()) if isinstance(state, dict) else ())]
    if not isinstance(state, dict) or any(k not in state for k in need):
        raise io.CheckpointError(f"{path / 'train_state.pt'}: lacks one of {need}")
    return Resumed(path, model, state, rng)


def _set_aside(path: Path) -> Path:
    target, n = path.with_name(f"skipped-{path.name}"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"skipped-{path.name}-{n}")
    path.rename(target)
    return target


def load_latest(root: Path, info: DistInfo | None = None) -> Resumed | None:
    """The newest checkpoint under ``root`` that loads on every rank (older ones are tried when newer ones do
    not; the skipped ones are reported and set aside), or None when there is no complete checkpoint."""
    info = info or DistInfo()
    skipped: list[tuple[Path, str]] = []
    for path in reversed(ckpt.list_checkpoints(root)):
        try:
            resumed, why = _load(path, info.rank), ""
        except _LOAD_ERRORS as e:
            resumed, why = None, f"{type(e).__name__}: {e}"
            if not info.is_main:
                print(f"[pan-gym train] rank {info.rank}: cannot load {path}: {why}", flush=True)
        if any_rank(info, bool(why)):  # every rank skips the same checkpoints
            skipped.append((path, why or "does not load on another rank"))
            continue
        barrier(info)
        if info.is_main:
            for bad, reason in skipped:
                print(f"[pan-gym train] skipped {bad}: {reason}; moved it to {_set_aside(bad)}", flush=True)
        barrier(info)
        return resumed
    if skipped:
        listed = "\n  ".join(f"{p.name}: {why}" for p, why in skipped)
        raise ResumeError(
            f"--resume: no checkpoint in {root} loads:\n  {listed}\nMove them out of {root} to start the run "
            "afresh, or start a new run with another --out."
        )
    return None


def resume_run(out: Path, args: TrainArgs, info: DistInfo | None = None) -> Resumed | None:
    """For ``--resume``: check the arguments against the run's, then load the newest checkpoint that loads (None:
    no checkpoint yet, the run starts fresh)."""
    root = out / "checkpoints"
    if not ckpt.list_checkpoints(root):
        return None
    check_args(out, args)
    resumed = load_latest(root, info)
    if resumed is not None:
        check_state(out, resumed, args)
    return resumed
