"""Config validation at load time: each field against its annotation, and the sizes that must divide each other.

A bad value raises ``ConfigError`` naming the field, when the config is built or read, not at the first step.

Example:
    >>> from pan_gym.config import preset
    >>> preset("tiny", image_size=63)
    Traceback (most recent call last):
    ...
    pan_gym.config_checks.ConfigError: image_size: 63 must be a multiple of encoder.patch_size x encoder.spatial_merge_size (16)
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pan_gym.config import PanConfig


class ConfigError(ValueError):
    """A config value of the wrong type or out of range; the message names the field (``decoder.num_layers``)."""


_PROBABILITIES = {"frame_dropout", "first_chunk_prob", "cfg_dropout", "grid_prob"}
_MAY_BE_ZERO = {"fullatt_block_indexes", "lora_rank"}  # ints where 0 means "none"


def check_fields(cfg: Any, prefix: str = "") -> None:
    """Each field against its annotation: type (JSON lists read as tuples), and range (sizes >= 1, floats finite and
    >= 0, probabilities in [0, 1])."""
    for name, hint in typing.get_type_hints(type(cfg)).items():
        value, path = getattr(cfg, name), f"{prefix}{name}"
        if dataclasses.is_dataclass(value):
            check_fields(value, f"{path}.")
        elif not _matches(value, hint, name):
            raise ConfigError(f"{path}: {value!r} is not a valid {_describe(hint, name)}")


def _matches(value: Any, hint: Any, name: str) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return value in args
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a, name) for a in args)
    if origin is tuple:
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        return (
            isinstance(value, tuple)
            and len(items) == len(value)
            and all(_matches(v, a, name) for v, a in zip(value, items, strict=True))
        )
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool) and value >= (name not in _MAY_BE_ZERO)
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        return ok and value >= 0 and (name not in _PROBABILITIES or value <= 1)
    return isinstance(value, hint)


def _describe(hint: Any, name: str) -> str:
    if typing.get_origin(hint) is Literal:
        return f"value (one of {typing.get_args(hint)})"
    if hint is int:
        return "integer >= 0" if name in _MAY_BE_ZERO else "integer >= 1"
    if hint is float:
        return "probability in [0, 1]" if name in _PROBABILITIES else "finite number >= 0"
    return f"value of type {str(hint) if typing.get_origin(hint) else hint.__name__}"


def check_shapes(cfg: PanConfig) -> None:
    """Sizes that must divide each other, so a bad config fails when it is read, not at the first step."""
    enc, bb, dec = cfg.encoder, cfg.backbone, cfg.decoder
    factor = {"pixel": 1, "kl": 2 ** (len(cfg.vae.block_out_channels) - 1), "wan": 8}[cfg.vae.kind]
    checks = [
        (
            "image_size",
            cfg.image_size % (enc.patch_size * enc.spatial_merge_size) == 0,
            f"a multiple of encoder.patch_size x encoder.spatial_merge_size ({enc.patch_size * enc.spatial_merge_size})",
        ),
        (
            "image_size",
            cfg.image_size % (factor * dec.patch_size[1]) == 0 and dec.patch_size[1] == dec.patch_size[2],
            f"a multiple of the latent factor x decoder.patch_size ({factor} x {dec.patch_size[1]}, square patches)",
        ),
        ("encoder.hidden_size", enc.hidden_size % enc.num_heads == 0, "divisible by encoder.num_heads"),
        (
            "backbone.hidden_size",
            bb.hidden_size % bb.num_attention_heads == 0,
            "divisible by backbone.num_attention_heads",
        ),
        (
            "backbone.num_key_value_heads",
            bb.num_attention_heads % bb.num_key_value_heads == 0,
            "a divisor of backbone.num_attention_heads",
        ),
        (
            "backbone.mrope_section",
            2 * sum(bb.mrope_section) == bb.hidden_size // bb.num_attention_heads,
            "summing to half the head dimension (hidden_size / num_attention_heads / 2)",
        ),
        ("diffusion.noise_offset", 0.0 < cfg.diffusion.noise_offset <= 1.0, "in (0, 1]"),
    ]
    for path, ok, what in checks:
        if not ok:
            value = cfg
            for part in path.split("."):
                value = getattr(value, part)
            raise ConfigError(f"{path}: {value!r} must be {what}")


# Fields that config.json files of format version 1 may hold and this version no longer has, with the value that
# meant "off". A retired field at its off value is dropped on load; one that was on names itself in the error.
RETIRED: dict[str, dict[str, Any]] = {
    "decoder": {"abs_pos_grid": 0, "cond_channels": False, "predict_change": False},
    "text": {"sentence_token": False, "word_dropout": 0.0},
}


def drop_retired(config: dict[str, Any]) -> dict[str, Any]:
    """A version-1 config dict without its retired fields (see ``RETIRED``); ``ConfigError`` for one that is on.

    Example:
        >>> drop_retired({"text": {"kind": "minilm", "sentence_token": False}})
        {'text': {'kind': 'minilm'}}
    """
    out = dict(config)
    for section, fields in RETIRED.items():
        if not isinstance(out.get(section), dict):
            continue
        kept = dict(out[section])
        for name, off in fields.items():
            if name in kept and kept.pop(name) != off:
                raise ConfigError(
                    f"{section}.{name}: {config[section][name]!r} is a feature this pan-gym no longer has "
                    f"(only {off!r} loads); load the model with the pan-gym release that trained it"
                )
        out[section] = kept
    return out
