"""Action text encoders: token states and masks, the memo of a frozen encoder, and what the language prior gives."""

import torch
import torch.nn.functional as F

from pan_gym.model.text import MiniLMTextEncoder
from pan_gym.worlds.babyai_phrases import TEMPLATES


def test_minilm_token_states_mask_the_padding_and_truncate_at_max_tokens():
    enc = MiniLMTextEncoder(max_tokens=8)
    emb, mask = enc(["turn left", "pick up the blue key next to the green ball by the door"])
    assert emb.shape == (2, 8, 384) and mask.dtype == torch.bool
    assert mask[0].sum() == 4 and not mask[0, 4:].any()  # [CLS] turn left [SEP], then padding
    assert mask[1].all()  # the long one is cut at 8 tokens
    assert not any(p.requires_grad for p in enc.parameters()) and not enc.bert.training


def test_a_frozen_encoder_memoises_each_text_and_a_trained_one_does_not():
    frozen = MiniLMTextEncoder(max_tokens=8)
    a = frozen(["turn left", "turn right"])[0]
    assert set(frozen._memo) == {"turn left", "turn right"}
    assert torch.equal(frozen(["turn right", "turn left"])[0], a[[1, 0]])
    scratch = MiniLMTextEncoder(max_tokens=8, pretrained=False, hidden_size=32)
    out = scratch(["turn left"])[0]
    assert out.requires_grad and not scratch._memo and out.shape == (1, 8, 32)


def test_minilm_puts_held_out_phrasings_near_their_actions():
    """Nearest train phrasing by mean-pooled token states (MiniLM's sentence embedding), over every BabyAI action
    with the same slot values: the language prior that lets unseen wordings work (35 of 38 held-out phrasings)."""
    enc = MiniLMTextEncoder()
    values = {"color": "red", "obj": "ball", "side": "left", "n": "2", "place": "next to the blue box",
              "new_color": "green", "wall": "top"}  # fmt: skip

    def sentence(texts):
        emb, mask = enc([t.format(**values) for t in texts])
        w = mask[..., None].float()
        return F.normalize((emb * w).sum(1) / w.sum(1), dim=-1)  # (N, 384)

    train = {t.canonical: sentence(t.phrasings("train")) for t in TEMPLATES}
    hits = [
        max(train, key=lambda c: float((train[c] @ e).max())) == t.canonical
        for t in TEMPLATES
        for e in sentence(t.phrasings("heldout"))
    ]
    assert len(hits) == 38 and sum(hits) >= 34
