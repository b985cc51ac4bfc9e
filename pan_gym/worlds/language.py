"""Language actions: templates with slots, train/held-out paraphrase sets, and parsing text back to a canonical action.

World-agnostic: a world declares its ``Template`` list and slot vocabularies, and gets a ``Phrasebook`` that
parses any phrasing (of either split) to the canonical action and samples phrasings of a canonical action.
A template's ``canonical`` string is both its key in ``paraphrases(split)`` and its first train phrasing.

Example:
    >>> import numpy as np
    >>> book = Phrasebook(
    ...     [Template("go to the {color} {obj}", train=("walk to the {color} {obj}",), heldout=("approach the {color} {obj}",))],
    ...     slots={"color": ("red", "blue"), "obj": ("ball", "key")},
    ... )
    >>> book.canonical("Approach the red key.")
    'go to the red key'
    >>> book.phrase("go to the blue ball", "train", np.random.default_rng(0)) in ("go to the blue ball", "walk to the blue ball")
    True
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

from pan_gym.worlds.base import Split, normalize_action

Kind = Literal["agent", "environment"]


@dataclass(frozen=True)
class Template:
    """One canonical action template and its phrasings.

    ``canonical`` uses ``{slot}`` fields (e.g. ``"pick up the {color} {obj}"``); ``train`` and ``heldout`` are extra
    phrasings with the same slots (the canonical form is always the first train phrasing). ``slots`` overrides the
    phrasebook's vocabulary for this template only (e.g. ``obj`` without ``"door"``).
    """

    canonical: str
    train: tuple[str, ...] = ()
    heldout: tuple[str, ...] = ()
    kind: Kind = "agent"
    slots: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def phrasings(self, split: Split) -> list[str]:
        """The phrasings of one split (train starts with the canonical form)."""
        if split == "train":
            return [self.canonical, *(p for p in self.train if p != self.canonical)]
        if split == "heldout":
            return list(self.heldout)
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'heldout'")

    def fill(self, values: Mapping[str, str]) -> str:
        """The canonical action for slot values: ``fill({"color": "red", "obj": "ball"})``."""
        return self.canonical.format(**values)


@dataclass(frozen=True)
class Parsed:
    """The result of parsing a text: its template, slot values, canonical action and which split's phrasing matched."""

    template: Template
    values: dict[str, str]
    canonical: str
    split: Split


def slot_names(pattern: str) -> list[str]:
    """The ``{slot}`` names of a format string, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(pattern) if name]


def _compile(pattern: str, vocab: Mapping[str, Sequence[str]] | None) -> re.Pattern[str]:
    """A regex matching ``pattern`` exactly; slots match their vocabulary, or any non-empty text when ``vocab`` is None."""
    parts = []
    seen: set[str] = set()
    for literal, name, _, _ in string.Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if not name:
            continue
        if name in seen:  # a slot used twice must repeat the same value
            parts.append(f"(?P={name})")
            continue
        seen.add(name)
        if vocab is None:
            parts.append(f"(?P<{name}>.+?)")
        else:
            alts = sorted(vocab[name], key=len, reverse=True)  # longest first
            parts.append(f"(?P<{name}>{'|'.join(map(re.escape, alts))})")
    return re.compile("".join(parts))


class Phrasebook:
    """Templates plus slot vocabularies: parse phrasings of either split, list paraphrases, sample phrasings.

    Args:
        templates: the world's action templates (canonical forms must be distinct).
        slots: slot name -> allowed values (lower case), shared by all templates unless a template overrides it.
        aliases: word -> replacement applied before parsing (e.g. ``{"gray": "grey"}``).
    """

    def __init__(
        self,
        templates: Sequence[Template],
        slots: Mapping[str, Sequence[str]],
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.templates = list(templates)
        self.by_canonical = {t.canonical: t for t in self.templates}
        if len(self.by_canonical) != len(self.templates):
            raise ValueError("canonical templates must be distinct")
        self.slots = {k: tuple(v) for k, v in slots.items()}
        self.aliases = dict(aliases or {})
        self._alias_re = (
            re.compile(r"\b(" + "|".join(map(re.escape, self.aliases)) + r")\b") if self.aliases else None
        )
        # (regex, template, split) for every phrasing; canonical regexes first so exact canonical text is fastest.
        self._patterns: list[tuple[re.Pattern[str], Template, Split]] = []
        for split in ("train", "heldout"):
            for t in self.templates:
                vocab = {**self.slots, **t.slots}
                for p in t.phrasings(split):  # type: ignore[arg-type]
                    if set(slot_names(p)) != set(slot_names(t.canonical)):
                        raise ValueError(f"phrasing {p!r} must use the slots of {t.canonical!r}")
                    self._patterns.append((_compile(p, vocab), t, split))  # type: ignore[arg-type]
        self._canonical_patterns = [(_compile(t.canonical, None), t) for t in self.templates]
        self.parse = lru_cache(maxsize=65536)(self._parse)  # type: ignore[method-assign]

    def paraphrases(self, split: Split = "train") -> dict[str, list[str]]:
        """Canonical template -> phrasings of ``split``."""
        return {t.canonical: t.phrasings(split) for t in self.templates}

    def _parse(self, text: str) -> Parsed:
        """Parse any phrasing (either split) to its canonical action; ``ValueError`` with examples if it fails."""
        norm = normalize_action(text)
        if self._alias_re is not None:
            norm = self._alias_re.sub(lambda m: self.aliases[m.group(1)], norm)
        for regex, t, split in self._patterns:
            m = regex.fullmatch(norm)
            if m is not None:
                values = m.groupdict()
                return Parsed(t, values, t.fill(values), split)
        raise ValueError(
            f"cannot parse action {text!r}; valid actions look like: {', '.join(self.examples())}"
        )

    def canonical(self, text: str) -> str:
        """The canonical action of a phrasing: ``canonical("Approach the red ball") == "go to the red ball"``."""
        return self.parse(text).canonical

    def template_of(self, action: str) -> str:
        """The canonical template an action instantiates (e.g. ``"go to the {color} {obj}"``)."""
        return self.parse(action).template.canonical

    def phrase(self, action: str, split: Split, rng: np.random.Generator) -> str:
        """A phrasing of ``action`` drawn uniformly from ``split``'s phrasings of its template."""
        parsed = self.parse(action)
        options = parsed.template.phrasings(split)
        return options[int(rng.integers(len(options)))].format(**parsed.values)

    def examples(self, k: int = 5) -> list[str]:
        """A few valid actions (the first ``k`` templates filled with their first slot values)."""
        out = []
        for t in self.templates[:k]:
            vocab = {**self.slots, **t.slots}
            out.append(t.fill({name: vocab[name][0] for name in slot_names(t.canonical)}))
        return out


class PhrasingSampler:
    """Phrase canonical actions of any world from its ``paraphrases(split)`` dict alone (no world-specific code).

    Example:
        >>> sampler = PhrasingSampler({"turn {side}": ["turn {side}", "rotate {side}"]})
        >>> sampler.phrase("turn left", np.random.default_rng(0)) in ("turn left", "rotate left")
        True
    """

    def __init__(self, paraphrases: Mapping[str, Sequence[str]]) -> None:
        # Most literal text first: a canonical action matches the most specific template (e.g. "move forward
        # {n} steps" before "move {dir}").
        keys = sorted(paraphrases, key=lambda k: -len(re.sub(r"\{[^}]*\}", "", k)))
        self._templates = [(_compile(k, None), list(paraphrases[k])) for k in keys]
        self._cache: dict[str, tuple[list[str], dict[str, str]]] = {}

    def phrase(self, action: str, rng: np.random.Generator) -> str:
        """A phrasing of the canonical ``action``; the action itself when no template matches."""
        return self.phrase_with_pattern(action, rng)[0]

    def phrase_with_pattern(self, action: str, rng: np.random.Generator) -> tuple[str, str]:
        """``phrase`` and the phrasing pattern it filled (e.g. ``"rotate {side}"``), for per-phrasing breakdowns."""
        hit = self._cache.get(action)
        if hit is None:
            hit = ([action], {})
            for regex, options in self._templates:
                m = regex.fullmatch(action)
                if m is not None and options:
                    hit = (options, m.groupdict())
                    break
            self._cache[action] = hit
        options, values = hit
        pattern = options[int(rng.integers(len(options)))]
        return pattern.format(**values), pattern
