"""Action text encoders: the sentence token and word dropout (for phrasings never seen in training)."""

import pytest
import torch
import torch.nn.functional as F

from pan_gym.config import apply_overrides, preset
from pan_gym.model.glp import PanWorldModel
from pan_gym.model.text import MiniLMTextEncoder
from pan_gym.worlds.babyai_phrases import TEMPLATES
from tests.model.conftest import random_batch


def test_sentence_token_is_the_mean_of_the_token_states_and_keeps_shapes():
    words = MiniLMTextEncoder(max_tokens=7)
    both = MiniLMTextEncoder(max_tokens=8, sentence_token=True)
    texts = ["turn left", "pick up the blue key"]
    (w, wm), (s, sm) = words(texts), both(texts)
    assert s.shape == (2, 8, 384) and sm.shape == (2, 8) and sm[:, -1].all()
    assert torch.equal(s[:, :-1], w) and torch.equal(sm[:, :-1], wm)
    mean = (w * wm[..., None]).sum(1) / wm.sum(1, keepdim=True)  # padding is left out of the mean
    assert torch.allclose(s[:, -1], mean, atol=1e-6)


def test_sentence_token_puts_held_out_phrasings_near_their_actions():
    """Nearest train phrasing by sentence token, over every BabyAI action with the same slot values: the property
    the sentence token is for (35 of 38 held-out phrasings measured; words alone are not checked here)."""
    enc = MiniLMTextEncoder(sentence_token=True)
    values = {"color": "red", "obj": "ball", "side": "left", "n": "2", "place": "next to the blue box",
              "new_color": "green", "wall": "top"}  # fmt: skip

    def sentence(texts):
        return F.normalize(enc([t.format(**values) for t in texts])[0][:, -1], dim=-1)  # (N, 384)

    train = {t.canonical: sentence(t.phrasings("train")) for t in TEMPLATES}
    hits = [
        max(train, key=lambda c: float((train[c] @ e).max())) == t.canonical
        for t in TEMPLATES
        for e in sentence(t.phrasings("heldout"))
    ]
    assert len(hits) == 38 and sum(hits) >= 34


def test_word_dropout_hides_the_words_in_training_only():
    cfg = apply_overrides(preset("tiny"), "text.kind=minilm,text.sentence_token=true,text.word_dropout=0.9")
    torch.manual_seed(0)
    model = PanWorldModel.from_config(cfg)
    seen = []
    orig = model.backbone.forward_train
    model.backbone.forward_train = lambda vis, text: seen.append(text) or orig(vis, text)
    for train in (True, False):
        model.train(train)
        loss = model.loss(random_batch(), torch.Generator().manual_seed(1))["loss"]
        assert torch.isfinite(loss)
    hidden = [(t[..., :-1, :] == 0).all(-1).all(-1) for t in seen]  # (B, N) per call: every word token zeroed
    assert hidden[0].any() and not hidden[1].any()
    assert (seen[0][..., -1, :] != 0).any(-1).all()  # the sentence token is always kept


def test_word_dropout_needs_the_sentence_token():
    with pytest.raises(ValueError, match="word_dropout"):
        apply_overrides(preset("tiny"), "text.kind=minilm,text.word_dropout=0.5")
    with pytest.raises(ValueError, match="sentence_token"):
        apply_overrides(preset("tiny"), "text.kind=qwen,text.sentence_token=true")
