"""PAN's design claims and their named variants: config overrides on the base recipe plus a stage plan.

Every variant of every claim starts from the same base recipe (the default model's: ``BASE_CONFIG`` on the
``small`` preset, one joint stage) and changes one thing. Variants that resolve to the same config are trained once:
PAN's own design (the reference of every claim) is the run ``pan``.

| claim       | PAN (reference)               | variants                                                          |
|-------------|-------------------------------|-------------------------------------------------------------------|
| supervision | generative (flow matching)    | latent: JEPA-style latent matching, then the decoder on frozen ŝ  |
| noise       | σ_B = σ_A + ½                 | + ¼, + 1 (no overlap), no window (last-frame chaining)            |
| language    | pretrained MiniLM (frozen)    | the same architecture at random init, trained                     |
| history     | 10 rounds                     | 1 round (ŝ_k still re-enters), 1 round without the ŝ slot         |
| state       | the decoder is given ŝ and    | ŝ = 0: the decoder renders from the text and previous frame alone; |
|             | the action text               | no action text: the action reaches the decoder only through ŝ     |

Example:
    >>> [v.name for v in CLAIMS["noise"]]
    ['offset-0.5', 'offset-0.25', 'offset-1', 'no-window']
    >>> runs = resolve(["supervision", "noise"])
    >>> [r.key for r in runs]
    ['pan', 'latent', 'offset-0.25', 'offset-1', 'no-window']
    >>> [v.name for v in runs[0].variants]
    ['generative', 'offset-0.5']
    >>> [v.name for v in CLAIMS["history"] if at_inference(v)]  # switches a trained model can be run with
    ['rounds-10', 'rounds-1']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pan_gym.config import apply_overrides, preset

BASE_CONFIG = (
    "frames_per_chunk=1,diffusion.grid_prob=0.5,diffusion.logit_normal=false,diffusion.prediction=x0"
)
"""The default model's recipe on top of the preset; ``pan-gym ablate --config`` replaces it."""


@dataclass(frozen=True)
class Variant:
    """One arm of a claim: ``config`` overrides (after the base recipe's) and the training stages, in order."""

    claim: str
    name: str  # unique across claims; the run directory when it is not PAN's design
    label: str  # what the report's table calls it
    config: str = ""
    stages: tuple[str, ...] = ("joint",)
    pan: bool = False  # PAN's own design: the reference the other variants are compared with


def _v(claim: str, name: str, label: str, config: str = "", pan: bool = False) -> Variant:
    return Variant(claim, name, label, config, pan=pan)


CLAIMS: dict[str, tuple[Variant, ...]] = {
    "supervision": (
        _v("supervision", "generative", "generative (PAN)", "backbone.supervision=generative", pan=True),
        Variant(  # h, f by latent matching (budget steps), then the decoder on their frozen ŝ (budget steps)
            "supervision",
            "latent",
            "latent matching (JEPA-style), then the decoder",
            "backbone.supervision=latent",
            stages=("dynamics", "render"),
        ),
    ),
    "noise": (
        _v(
            "noise",
            "offset-0.5",
            "σ_B = σ_A + ½ (PAN)",
            "diffusion.noise_offset=0.5,diffusion.window=true",
            pan=True,
        ),
        _v("noise", "offset-0.25", "σ_B = σ_A + ¼", "diffusion.noise_offset=0.25"),
        _v("noise", "offset-1", "σ_B = σ_A + 1 (no overlap)", "diffusion.noise_offset=1.0"),
        _v("noise", "no-window", "no window (last-frame chaining)", "diffusion.window=false"),
    ),
    "language": (
        _v(
            "language",
            "minilm",
            "pretrained MiniLM, frozen (PAN-like)",
            "text.kind=minilm,text.freeze=true",
            pan=True,
        ),
        _v(
            "language",
            "minilm-random",
            "MiniLM architecture, random init, trained",
            "text.kind=minilm-random",
        ),
    ),
    "history": (
        _v("history", "rounds-10", "10 rounds (PAN)", "backbone.max_rounds=10", pan=True),
        _v("history", "rounds-1", "1 round (ŝ_k still re-enters)", "backbone.max_rounds=1"),
        _v(
            "history",
            "rounds-1-no-state",
            "1 round, no ŝ slot (memoryless)",
            "backbone.max_rounds=1,backbone.enhanced_state=false",
        ),
    ),
    "state": (
        _v("state", "with-state", "decoder given ŝ (PAN)", "decoder.use_state=true", pan=True),
        _v(
            "state",
            "no-state",
            "decoder given ŝ = 0 (text and previous frame only)",
            "decoder.use_state=false",
        ),
        _v(
            "state",
            "state-only",
            "decoder given ŝ, not the action text (the action only through f)",
            "decoder.action_text=false",
        ),
    ),
}

QUESTIONS: dict[str, str] = {
    "supervision": "Does PAN's generative supervision (flow matching through the decoder) beat a JEPA-style "
    "latent-matching loss for h and f, with the decoder trained on the predicted latents?",
    "noise": "Does Causal Swin-DPM's noise differential of ½ matter, against ¼, 1 (no overlap) and no window at all "
    "(last-frame chaining, the baseline PAN says drifts)?",
    "language": "Does the pretrained sentence encoder's language prior help, against the same architecture trained "
    "from scratch (seen and held-out phrasings)?",
    "history": "Does the backbone's history (10 rounds) carry what one frame cannot show, against 1 round?",
    "state": "Does the decoder render what the backbone predicts (PAN's GLP: ŝ carries the next world state), or "
    "does it work from the action text and the previous frame alone (ŝ replaced by zeros)? And can ŝ alone carry the "
    "action (the decoder not given the action text)?",
}


@dataclass(frozen=True)
class Run:
    """One training run (per seed) standing for every variant that resolves to its config and stages."""

    key: str
    config: str  # the full override string: base recipe, then the variant's
    stages: tuple[str, ...]
    variants: tuple[Variant, ...]


def join(*specs: str) -> str:
    """Override strings joined in order (later keys win)."""
    return ",".join(s.strip(",") for s in specs if s and s.strip(","))


def claims_named(names: Sequence[str]) -> list[str]:
    """Validate claim names (ValueError naming the known ones)."""
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in CLAIMS]
    if unknown or not names:
        raise ValueError(f"unknown claim(s) {unknown or names}; claims: {', '.join(CLAIMS)}")
    return list(dict.fromkeys(names))


def variant(name: str) -> Variant:
    """A variant by its name, e.g. ``"no-window"`` (ValueError naming the known ones)."""
    for vs in CLAIMS.values():
        for v in vs:
            if v.name == name:
                return v
    known = ", ".join(v.name for vs in CLAIMS.values() for v in vs)
    raise ValueError(f"unknown variant {name!r}; variants: {known}")


INFERENCE_KEYS = frozenset(
    {"diffusion.noise_offset", "diffusion.window", "backbone.max_rounds", "decoder.use_state"}
)
"""Config fields that act at inference alone: a trained model can be run with them changed (``pan-gym ablate
--model``). The others (supervision, text encoder, ``enhanced_state``) change what is trained."""


def at_inference(v: Variant) -> bool:
    """Whether ``v`` only changes how a trained model is run (every key it sets is in ``INFERENCE_KEYS``)."""
    return all(item.split("=")[0].strip() in INFERENCE_KEYS for item in v.config.split(",") if item.strip())


def resolve_inference(claims: Sequence[str]) -> list[Run]:
    """The runs for scoring a trained model under the inference-time variants of ``claims``: ``pan`` (PAN's settings
    of every claim at once) first, then one per other variant. A claim whose alternatives all change what is
    trained raises ValueError.

    Example:
        >>> [r.key for r in resolve_inference(["noise", "history"])]
        ['pan', 'offset-0.25', 'offset-1', 'no-window', 'rounds-1']
    """
    pan: list[Variant] = []
    others: list[Run] = []
    for claim in claims_named(claims):
        vs = [v for v in CLAIMS[claim] if at_inference(v)]
        if all(v.pan for v in vs):
            raise ValueError(
                f"claim {claim!r} changes what is trained; it cannot be run on a trained model (drop --model)"
            )
        pan += [v for v in vs if v.pan]
        others += [Run(v.name, v.config, (), (v,)) for v in vs if not v.pan]
    return [Run("pan", join(*(v.config for v in pan)), (), tuple(pan)), *others]


def resolve(claims: Sequence[str], base_config: str = BASE_CONFIG, preset_name: str = "small") -> list[Run]:
    """The distinct runs the claims need, PAN's own (``pan``) first; identical resolved configs train once.

    Every config is checked by building it (``apply_overrides``): a bad override fails here, before any training.
    """
    groups: dict[tuple[str, tuple[str, ...]], list[Variant]] = {}
    full: dict[tuple[str, tuple[str, ...]], str] = {}
    for claim in claims_named(claims):
        for v in CLAIMS[claim]:
            spec = join(base_config, v.config)
            resolved = json.dumps(apply_overrides(preset(preset_name), spec).to_dict(), sort_keys=True)
            key = (resolved, v.stages)
            groups.setdefault(key, []).append(v)
            full.setdefault(key, spec)
    runs = []
    for key, vs in groups.items():  # PAN's design is the run "pan"; any other run is named after a variant
        name = "pan" if all(v.pan for v in vs) else next(v.name for v in vs if not v.pan)
        runs.append(Run(name, full[key], key[1], tuple(vs)))
    return sorted(runs, key=lambda r: not any(v.pan for v in r.variants))
