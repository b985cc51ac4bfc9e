"""Which ``PanWorldModel`` an env runs: a model object, a local directory, a preset name, or the shipped default.

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

import torch

from pan_gym.config import PRESETS, apply_overrides, preset

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "models"
SHIPPED = {"babyai": ASSETS / "babyai-small", "metaworld": ASSETS / "metaworld-small"}
_CACHE: dict[str, object] = {}


def shipped_model_dir(world: str) -> Path:
    """The directory of the model shipped for ``world``; ``RuntimeError`` if none ships yet."""
    if world not in SHIPPED:
        raise RuntimeError(f"no model ships for world {world!r}; pass model=<PanWorldModel or directory>")
    path = SHIPPED[world]
    if not (path / "config.json").is_file():
        raise RuntimeError(
            f"no shipped {world} model is present yet (expected {path}). Pass model= explicitly: a "
            "PanWorldModel, a local directory written by save_pretrained, or a preset name such as "
            "'tiny' or 'small' (random weights), e.g. gym.make('pan_gym/BabyAI-v0', model='tiny')"
        )
    return path


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


def resolve_model(model=None, default: str | None = None):
    """``model``: a ``PanWorldModel`` (used as is), a preset name, a local directory, or None for the shipped
    model of world ``default``. Returns the model in eval mode."""
    from pan_gym.model.glp import PanWorldModel  # deferred: importing pan_gym must not build torch models

    if isinstance(model, PanWorldModel):
        return model
    if model is None:
        if default is None:
            raise RuntimeError("no model given: pass model=<PanWorldModel, directory or preset name>")
        model = shipped_model_dir(default)
    if not isinstance(model, (str, Path)):
        raise ValueError(f"model must be a PanWorldModel, a directory or a preset name, got {type(model)}")
    if isinstance(model, str) and model in PRESETS and not Path(model).exists():
        key = f"preset:{model}"
        if key not in _CACHE:
            with torch.random.fork_rng():
                torch.manual_seed(0)
                _CACHE[key] = PanWorldModel.from_preset(model).eval()
        return _CACHE[key]
    path = Path(model).expanduser().resolve()
    key = f"dir:{path}"
    if key not in _CACHE:
        _CACHE[key] = PanWorldModel.from_pretrained(path).eval()  # raises io.CheckpointError on a bad dir
    return _CACHE[key]


def load_model(spec: str, overrides: str = ""):
    """A preset name (built with seed 0) or a ``save_pretrained`` directory, with config overrides applied (a
    directory's shapes must still fit). Returns it in eval mode."""
    from pan_gym.model.glp import PanWorldModel  # deferred, as in resolve_model

    if spec in PRESETS and not Path(spec).exists():
        with torch.random.fork_rng():
            torch.manual_seed(0)
            return PanWorldModel.from_config(apply_overrides(preset(spec), overrides)).eval()
    model = PanWorldModel.from_pretrained(spec, overrides=overrides)
    return model.eval()
