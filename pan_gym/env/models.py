"""Which ``PanWorldModel`` runs: a model object, a local directory, a preset name, or the shipped default. Every
front end (envs, eval, demo, play, web, bench) loads through ``resolve_model``.

Loaded models are cached per process (keyed by directory or preset name), so eight envs share one model. Preset
names build random weights from a fixed seed, so ``model="tiny"`` is the same network in every process.

Example:
    >>> m = resolve_model("tiny")
    >>> m is resolve_model("tiny"), m.training
    (True, False)
"""

from __future__ import annotations

import contextlib
import copy
import weakref
from pathlib import Path
from typing import Any

import torch

from pan_gym.config import apply_overrides, preset
from pan_gym.config_presets import PRESETS

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "models"
SHIPPED = {"babyai": ASSETS / "babyai-small", "metaworld": ASSETS / "metaworld-small"}
_CACHE: dict[str, object] = {}


class ModelSpecError(RuntimeError):
    """A model spec that names nothing loadable (the message says what to pass instead)."""


def shipped_model_dir(world: str) -> Path:
    """The directory of the model shipped for ``world``; ``ModelSpecError`` if none ships."""
    path = SHIPPED.get(world)
    if path is None or not (path / "config.json").is_file():
        raise ModelSpecError(
            f"no shipped {world} model is present in this copy of pan-gym (expected {path}). Pass a model "
            "instead: a preset name such as 'tiny' or 'small' (random weights: every step runs, the frames are "
            "noise) or a directory written by save_pretrained (e.g. a training run's final/); model= in Python "
            "(gym.make('pan_gym/BabyAI-v0', model='tiny')), --model on the command line"
        )
    return path


def is_preset(spec: Any) -> bool:
    """``spec`` names a preset (and no directory of that name exists)."""
    return isinstance(spec, str) and spec in PRESETS and not Path(spec).exists()


def describe_model(spec: Any, world: str | None = None, overrides: str = "") -> str:
    """What a spec loads, for reports and front ends: "shipped babyai-small (DIR)", "preset 'tiny' (random
    weights)" or the resolved directory; "… with OVERRIDES" when there are some."""
    if spec is None or spec == "default":
        path = SHIPPED.get(world or "", Path("?"))
        desc = f"shipped {path.name} ({path})"
    elif is_preset(spec):
        desc = f"preset {spec!r} (random weights)"
    elif isinstance(spec, (str, Path)):
        desc = str(Path(spec).expanduser().resolve())
    else:
        desc = type(spec).__name__
    return f"{desc} with {overrides}" if overrides else desc


PRECISIONS = ("fp32", "bf16", "bf16-weights")
_BF16_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def with_precision(model, precision: str):
    """(the model to run, a context-manager factory for its calls) for a precision name:

    - ``"fp32"``: the model as is;
    - ``"bf16"``: bf16 autocast around the calls (weights stay fp32; 1.2–1.6× on CPUs with bf16 matmuls);
    - ``"bf16-weights"``: a copy of the model cast to bf16 (no per-call weight casts; latent-only steps ~2.4× fp32
      at batch ≥ 16 here), made once per model object and shared, so envs over one model share one copy.

    ``ValueError`` for other names.

    Example:
        >>> m = resolve_model("tiny")
        >>> half, ctx = with_precision(m, "bf16-weights")
        >>> half.dtype, half is with_precision(m, "bf16-weights")[0], with_precision(m, "fp32")[0] is m
        (torch.bfloat16, True, True)
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    device = next(model.parameters()).device.type
    if precision == "bf16-weights":
        if model.dtype != torch.bfloat16:
            if model not in _BF16_COPIES:
                _BF16_COPIES[model] = copy.deepcopy(model).to(torch.bfloat16).eval()
            model = _BF16_COPIES[model]
        return model, contextlib.nullcontext
    return model, lambda: torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16")


def resolve_model(model: Any = None, default: str | None = None, overrides: str = ""):
    """The one model loader. ``model``: a ``PanWorldModel`` (used as is), ``"default"`` or None (the shipped model
    of world ``default``), a preset name (random weights, seed 0) or a local directory written by
    ``save_pretrained``. ``overrides`` change its config first (``apply_overrides``: inference settings such as
    ``diffusion.sampler_steps=4``; a directory's weights must still fit). Returns the model in eval mode; models
    loaded without overrides are cached per process. Raises ``ModelSpecError`` for a spec that names nothing,
    ``io.CheckpointError`` for a directory that cannot be loaded."""
    from pan_gym.model.glp import PanWorldModel  # deferred: importing pan_gym must not build torch models

    if isinstance(model, PanWorldModel):
        if overrides:
            raise ValueError("overrides apply to a model loaded from a preset name or a directory")
        return model
    if model is None or model == "default":
        if default is None:
            raise ModelSpecError("no model given: pass model=<PanWorldModel, directory or preset name>")
        model = shipped_model_dir(default)
    if not isinstance(model, (str, Path)):
        raise ValueError(f"model must be a PanWorldModel, a directory or a preset name, got {type(model)}")
    if is_preset(model):
        key = f"preset:{model}"

        def build():
            with torch.random.fork_rng():
                torch.manual_seed(0)
                return PanWorldModel.from_config(apply_overrides(preset(model), overrides))

    else:
        path = Path(model).expanduser()
        if not path.exists():
            raise ModelSpecError(
                f"model {str(model)!r} is neither 'default', a preset ({', '.join(sorted(PRESETS))}) nor an "
                "existing directory"
            )
        key = f"dir:{path.resolve()}"

        def build():
            return PanWorldModel.from_pretrained(path, overrides=overrides)  # io.CheckpointError on a bad dir

    if overrides:
        return build().eval()
    if key not in _CACHE:
        _CACHE[key] = build().eval()
    return _CACHE[key]
