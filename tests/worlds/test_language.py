"""The generic phrasing machinery and BabyAI's phrasebook: parsing, splits, sampling."""

import itertools

import numpy as np
import pytest

from pan_gym.worlds.babyai_phrases import BABYAI_PHRASEBOOK, SLOTS, TEMPLATES
from pan_gym.worlds.language import Phrasebook, PhrasingSampler, Template, slot_names


def instances(template: Template, limit: int = 6) -> list[dict[str, str]]:
    """A few slot assignments of a template (first values and a spread of others)."""
    vocab = {**SLOTS, **template.slots}
    names = slot_names(template.canonical)
    combos = itertools.product(*(vocab[n] for n in names))
    every = list(combos)
    picks = every[:: max(1, len(every) // limit)][:limit]
    return [dict(zip(names, c, strict=True)) for c in picks]


def test_template_splits_are_disjoint_and_nonempty():
    for t in TEMPLATES:
        train, held = set(t.phrasings("train")), set(t.phrasings("heldout"))
        assert t.canonical in train and len(train) >= 3 and len(held) >= 2
        assert not train & held, t.canonical


def test_every_phrasing_parses_back_to_its_canonical_action():
    for t in TEMPLATES:
        for values in instances(t):
            canonical = t.fill(values)
            for split in ("train", "heldout"):
                for p in t.phrasings(split):
                    parsed = BABYAI_PHRASEBOOK.parse(p.format(**values))
                    assert parsed.canonical == canonical, (p, values)
                    assert parsed.split == split


def test_parse_normalizes_case_space_punctuation_and_aliases():
    assert BABYAI_PHRASEBOOK.canonical("  Approach   the GRAY Key! ") == "go to the grey key"
    assert BABYAI_PHRASEBOOK.canonical("take two steps forward.") == "move forward 2 steps"


def test_unparseable_text_names_itself_and_examples():
    with pytest.raises(ValueError) as err:
        BABYAI_PHRASEBOOK.parse("dance the tango")
    msg = str(err.value)
    assert "dance the tango" in msg and "turn left" in msg and "go to the" in msg
    with pytest.raises(ValueError):
        BABYAI_PHRASEBOOK.parse("go to the pink ball")  # not a MiniGrid colour
    with pytest.raises(TypeError):
        BABYAI_PHRASEBOOK.parse(3)


def test_phrase_samples_from_the_requested_split():
    rng = np.random.default_rng(0)
    held = {BABYAI_PHRASEBOOK.phrase("pick up the red key", "heldout", rng) for _ in range(50)}
    assert held == {p.format(color="red", obj="key") for p in TEMPLATES[4].phrasings("heldout")}


def test_phrasing_sampler_works_from_a_paraphrase_dict_alone():
    rng = np.random.default_rng(0)
    sampler = PhrasingSampler(BABYAI_PHRASEBOOK.paraphrases("train"))
    for t in TEMPLATES:
        for values in instances(t, limit=3):
            canonical = t.fill(values)
            for _ in range(5):
                text, pattern = sampler.phrase_with_pattern(canonical, rng)
                assert BABYAI_PHRASEBOOK.canonical(text) == canonical
                assert pattern in t.phrasings("train") and text == pattern.format(**values)
    assert sampler.phrase("no such action", rng) == "no such action"


def test_phrasebook_rejects_bad_templates():
    with pytest.raises(ValueError):
        Phrasebook([Template("turn {side}", train=("spin",))], {"side": ("left",)})
    with pytest.raises(ValueError):
        Phrasebook([Template("a"), Template("a")], {})
