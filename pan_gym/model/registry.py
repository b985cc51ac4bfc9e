"""Which class a config builds: ``PanWorldModel``, or it composed with the ablations the config switches on.

PAN's ablations are not branches through the core. A config field marks the values that switch one on
(``config.ablation``); the package that implements it registers an ``Ablation`` under the entry-point group
``pan_gym.ablations`` (``pan_gym.ablate.models`` does, for every switch in the config). Each ablation is a mixin that
overrides one of the model's hooks (``decoder_state``, ``decoder_text_of``, ``training_states``,
``training_window``, ``_make_text``, ``_make_sampler``); a config that switches several on gets a class with all of
their mixins before the base class, so ``PanWorldModel(cfg)``, ``from_config`` and ``from_pretrained`` build the
ablation's model wherever a model is built.

Example:
    >>> from pan_gym.config import apply_overrides, preset
    >>> from pan_gym.model.glp import PanWorldModel
    >>> type(PanWorldModel(preset("tiny"))).__name__
    'PanWorldModel'
    >>> type(PanWorldModel(apply_overrides(preset("tiny"), "decoder.use_state=false"))).__name__
    'PanWorldModel[decoder.use_state=False]'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from pan_gym.config import ConfigError, PanConfig, ablation_switches

GROUP = "pan_gym.ablations"


@dataclass(frozen=True)
class Ablation:
    """One ablation: the config switch that turns it on and the mixin that implements it."""

    key: str  # dotted config field, e.g. "decoder.use_state"
    value: Any  # the value that switches it on
    mixin: type


@functools.cache
def registered() -> dict[tuple[str, Any], Ablation]:
    """Every installed ablation, by its (key, value) switch."""
    found = [e.load() for e in entry_points(group=GROUP)]
    return {(a.key, a.value): a for a in found}


@functools.cache
def _composed(base: type, switches: tuple[tuple[str, Any], ...]) -> type:
    mixins = tuple(registered()[s].mixin for s in switches)
    name = f"{base.__name__}[{','.join(f'{k}={v}' for k, v in switches)}]"
    return type(name, (*mixins, base), {"__module__": base.__module__, "__qualname__": name})


def model_class(base: type, cfg: PanConfig) -> type:
    """``base``, or ``base`` composed with the mixin of every ablation ``cfg`` switches on; a switch no installed
    package implements is a ``ConfigError`` (a model built without it would silently be PAN's)."""
    switches = tuple(ablation_switches(cfg))
    if not switches:
        return base
    missing = [f"{k}={v}" for k, v in switches if (k, v) not in registered()]
    if missing:
        raise ConfigError(
            f"{', '.join(missing)}: ablations with no implementation installed (the entry-point group {GROUP!r}; "
            "pan_gym.ablate registers them when pan-gym is installed: pip install -e .)"
        )
    return _composed(base, switches)
