"""f: the Qwen2.5-VL language model over a multi-turn history, with PAN's learned queries.

Each round is one chat turn pair, fed as ``inputs_embeds`` with Qwen's 3D (t, h, w) rope positions:

    <user> [ŝ_k] h(o_k) action_k <assistant> query_1 … query_Q

The last hidden states at the Q query positions are the predicted next latent state ŝ_{k+1} (Q, D). Past state
slots hold the enhanced state ``[ŝ_k, h(ô_k)]`` (predicted tokens plus the vision encoding of what the decoder drew).
Query tokens are seen only by their own round: at inference they are dropped from the KV cache after the read-out,
in training a 4D mask hides them from later rounds, so both see the same history. Positions keep the queries' slots,
so training and inference share one layout.

History is capped at ``max_rounds`` (PAN: 10). Stepping appends only the new round to the KV cache; when the cap
would be exceeded, the cache is rebuilt from the last ``min(keep_rounds, max_rounds) − 1`` rounds (one prefill every
few steps), so memory is bounded and every step equals a full recompute over the same rounds. In training a round
attends to the last ``max_rounds`` rounds only (its own included), so ``max_rounds = 1`` is a backbone without
history in both (the history ablation; ŝ_k still re-enters its round while ``enhanced_state`` is on).

Example:
    >>> import torch
    >>> from pan_gym.config import preset
    >>> from pan_gym.model.glp import PanWorldModel
    >>> f = PanWorldModel.from_preset("tiny").backbone
    >>> cache = f.new_cache()
    >>> vis, act = torch.randn(1, 16, 32), torch.randn(1, 12, 32)     # h(o) (B, N_vis, D), action (B, L, E)
    >>> f.step(cache, vis, act).shape                                   # ŝ (B, Q, D)
    torch.Size([1, 4, 32])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import torch
from torch import nn
from transformers import DynamicCache, Qwen2_5_VLModel

from pan_gym.batched import Batched
from pan_gym.config import BackboneConfig

USER, ASSISTANT = 1, 2  # role marker token ids in the backbone's embedding table


@dataclass
class BackboneCache(Batched):
    """The backbone's rolling history; rows select and concatenate (``Batched``), ``mark``/``rewind`` undo a step."""

    kv: DynamicCache | None = None
    rounds: list[torch.Tensor] = field(default_factory=list)  # (B, L_r, D) input embeddings, queries excluded
    spans: list[int] = field(default_factory=list)  # rope positions each round occupies (queries included)

    @property
    def num_rounds(self) -> int:
        return len(self.rounds)

    def _layers(self) -> list:
        """The KV cache's layers that hold keys (a layer not yet written holds none)."""
        if self.kv is None:
            return []
        return [
            layer
            for layer in self.kv.layers
            if getattr(layer, "is_initialized", False) and layer.keys is not None and layer.keys.numel()
        ]

    def tensors(self) -> Iterator[torch.Tensor]:
        yield from self.rounds
        for layer in self._layers():
            yield from (layer.keys, layer.values)  # (B, heads, L, d) each

    def layout(self) -> tuple:
        return self.kv is None, tuple(self.spans), len(self.rounds)

    def mark(self) -> tuple:
        """What ``rewind`` needs to undo the steps taken after it: a step appends to the round lists and to the KV
        cache (or replaces the cache when the history cap rebuilds it), so references, copies of the two lists
        and the cache's length are enough."""
        lengths = [] if self.kv is None else [_cached_length(layer) for layer in self.kv.layers]
        return list(self.rounds), list(self.spans), self.kv, lengths

    def rewind(self, mark: tuple) -> None:
        """Return to the history ``mark()`` saw, exactly."""
        rounds, spans, self.kv, lengths = mark
        self.rounds, self.spans = list(rounds), list(spans)
        if self.kv is not None:
            for layer, n in zip(self.kv.layers, lengths, strict=False):
                extra = _cached_length(layer) - n
                if extra > 0:
                    layer.crop(-extra)


def _cached_length(layer) -> int:
    """Positions a KV-cache layer holds (0 before it is written)."""
    keys = getattr(layer, "keys", None)
    return 0 if keys is None or not getattr(layer, "is_initialized", False) else int(keys.shape[-2])


LORA_TARGETS = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
]  # the LM's attention projections (``backbone.lora_rank``)


def as_adapted(
    tensors: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Saved weights of layers that now carry LoRA adapters renamed to their base layers (``x.q_proj.weight`` ->
    ``x.q_proj.base_layer.weight``); the others as saved."""
    out = {}
    for k, v in tensors.items():
        module, _, leaf = k.rpartition(".")
        base = f"{module}.base_layer.{leaf}"
        out[base if k not in expected and base in expected else k] = v
    return out


class Backbone(nn.Module):
    """Queries + Qwen2.5-VL language model; ``step`` for inference, ``teacher_forced`` for training."""

    def __init__(
        self, qwen: Qwen2_5_VLModel, cfg: BackboneConfig, text_dim: int, vis_grid: tuple[int, int, int]
    ):
        super().__init__()
        self.cfg = cfg
        self.lm = qwen.language_model  # `qwen.visual` is the encoder h, registered there (not twice)
        self._rope_index = qwen.get_rope_index  # a bound method: not registered as a submodule
        self._merge = qwen.config.vision_config.spatial_merge_size
        self.vis_grid = vis_grid  # (t, h, w) patch grid of one observation, before merging
        d = qwen.config.text_config.hidden_size
        self.queries = nn.Parameter(torch.randn(cfg.num_queries, d) * 0.02)  # (Q, D)
        self.action_in = nn.Linear(text_dim, d)
        self.state_type = nn.Parameter(torch.zeros(d))  # marks re-entered ŝ tokens
        self.no_frame = nn.Parameter(torch.randn(d) * 0.02)  # stands in for h(ô) when a step was not decoded
        if cfg.freeze:
            self.lm.requires_grad_(False)
        if cfg.lora_rank > 0:  # in place: the LM's own weights freeze, its adapters (B = 0 at first) train
            from peft import LoraConfig, inject_adapter_in_model

            lora = LoraConfig(r=cfg.lora_rank, lora_alpha=cfg.lora_alpha, target_modules=LORA_TARGETS)
            inject_adapter_in_model(lora, self.lm)

    @property
    def num_queries(self) -> int:
        return self.cfg.num_queries

    def new_cache(self) -> BackboneCache:
        return BackboneCache()

    # ---- layout ---------------------------------------------------------------------------------------------
    def _segments(self, n_vis: int, n_text: int, has_state: bool) -> list[tuple[int, int]]:
        """(modality, length) per segment of a round incl. queries; modality 1 = image (3D positions), 0 = text."""
        q = self.num_queries
        return [(0, 1 + (q if has_state else 0)), (1, n_vis), (0, n_text + 1 + q)]

    @lru_cache(maxsize=16)  # noqa: B019 - a handful of layouts per model
    def _template(self, n_vis: int, n_text: int, has_state: bool) -> tuple[torch.Tensor, int]:
        """Rope positions (3, L_round + Q) of one round starting at 0, via Qwen's ``get_rope_index``; and its span."""
        types = torch.cat(
            [torch.full((n,), m, dtype=torch.int32) for m, n in self._segments(n_vis, n_text, has_state)]
        )
        ids = torch.zeros(1, types.numel(), dtype=torch.long)
        pos, _ = self._rope_index(ids, types[None], image_grid_thw=torch.tensor([self.vis_grid]))
        pos = pos[:, 0]  # (3, L)
        return pos, int(pos.max()) + 1

    def round_embeds(
        self, vis: torch.Tensor | None, action: torch.Tensor, s_hat: torch.Tensor | None, batch: int
    ) -> torch.Tensor:
        """One round without queries: <user> [ŝ + type] h(o) action <assistant> -> (B, L_r, D).
        ``vis`` None means the frame was not decoded (latent-only step): a learned placeholder stands in."""
        emb = self.lm.get_input_embeddings()
        dev = self.queries.device
        user = emb(torch.full((batch, 1), USER, device=dev))
        assistant = emb(torch.full((batch, 1), ASSISTANT, device=dev))
        if vis is None:
            vis = self.no_frame.expand(batch, self.n_vis, -1)
        parts = [user] + ([s_hat + self.state_type] if s_hat is not None else []) + [vis]
        parts += [self.action_in(action), assistant]
        return torch.cat([p.to(self.queries.dtype) for p in parts], dim=1)

    @property
    def n_vis(self) -> int:
        t, h, w = self.vis_grid
        return t * h * w // self._merge**2

    def _positions(
        self, n_text: int, has_state: bool, offset: int, with_queries: bool
    ) -> tuple[torch.Tensor, int]:
        pos, span = self._template(self.n_vis, n_text, has_state)
        if not with_queries:
            pos = pos[:, : pos.shape[1] - self.num_queries]
        return pos + offset, span

    # ---- inference ------------------------------------------------------------------------------------------
    def _run(
        self, embeds: torch.Tensor, pos: torch.Tensor, kv: DynamicCache | None, mask=None
    ) -> torch.Tensor:
        b, n = embeds.shape[:2]
        if mask is None and n > 1:  # causal over cache + new tokens, built once per call (not per layer)
            past = kv.get_seq_length() if kv is not None else 0
            mask = torch.ones(n, past + n, dtype=torch.bool, device=embeds.device).tril(past)
        if mask is not None and mask.dtype == torch.bool:
            # additive: sdpa would convert a bool mask per layer
            mask = torch.zeros(mask.shape, dtype=embeds.dtype, device=embeds.device).masked_fill_(
                ~mask, -torch.inf
            )
            mask = mask.view(-1, 1, *mask.shape[-2:]).expand(b, 1, -1, -1)
        out = self.lm(
            inputs_embeds=embeds,
            position_ids=pos[:, None, :].expand(3, b, -1).to(embeds.device),
            past_key_values=kv,
            attention_mask=mask,
            use_cache=kv is not None,
        )
        return out.last_hidden_state

    def _history_positions(
        self, rounds: list[torch.Tensor], spans: list[int], n_text: int
    ) -> list[torch.Tensor]:
        """Rope positions of whole past rounds (no queries), the first starting at 0."""
        pos, offset = [], 0
        for r, span in zip(rounds, spans, strict=True):
            has_state = r.shape[1] > self.n_vis + n_text + 2
            pos.append(self._positions(n_text, has_state, offset, with_queries=False)[0])
            offset += span
        return pos

    def _prefill(self, rounds: list[torch.Tensor], spans: list[int], n_text: int) -> DynamicCache:
        """A fresh KV cache over whole past rounds."""
        kv = DynamicCache(config=self.lm.config)
        if rounds:
            self._run(
                torch.cat(rounds, dim=1), torch.cat(self._history_positions(rounds, spans, n_text), dim=1), kv
            )
        return kv

    def step(
        self,
        cache: BackboneCache,
        vis: torch.Tensor | None,
        action: torch.Tensor,
        s_hat: torch.Tensor | None = None,
        recompute: bool = False,
    ) -> torch.Tensor:
        """Append one round and return ŝ_{k+1} (B, Q, D).

        vis: h(o_k) (B, N_vis, D) or None; action: text tokens (B, L, E); s_hat: ŝ_k (B, Q, D) for the enhanced
        state (None on the first round or when ``enhanced_state`` is off). ``recompute=True`` runs the whole
        history from scratch instead of the KV cache (the reference the cache is tested and benchmarked against).
        """
        b, n_text = action.shape[0], action.shape[1]
        if not self.cfg.enhanced_state:
            s_hat = None
        new = self.round_embeds(vis, action, s_hat, b)
        if cache.num_rounds + 1 > self.cfg.max_rounds:  # cap: keep the last keep_rounds - 1 rounds, rebuild
            keep = max(min(self.cfg.keep_rounds, self.cfg.max_rounds) - 1, 0)
            cache.rounds, cache.spans = (
                cache.rounds[len(cache.rounds) - keep :],
                cache.spans[len(cache.spans) - keep :],
            )
            cache.kv = None
        if cache.kv is None and not recompute:
            cache.kv = self._prefill(cache.rounds, cache.spans, n_text)
        pos, span = self._positions(n_text, s_hat is not None, sum(cache.spans), with_queries=True)
        with_queries = torch.cat([new, self.queries.expand(b, -1, -1)], dim=1)
        if recompute:
            past = self._history_positions(cache.rounds, cache.spans, n_text)
            hidden = self._run(
                torch.cat(cache.rounds + [with_queries], dim=1), torch.cat(past + [pos], dim=1), None
            )
        else:
            hidden = self._run(with_queries, pos, cache.kv)
            cache.kv.crop(-self.num_queries)  # queries are read once, never kept in the history
        cache.rounds.append(new)
        cache.spans.append(span)
        return hidden[:, -self.num_queries :]  # (B, Q, D)

    # ---- training -------------------------------------------------------------------------------------------
    def teacher_forced(
        self, vis: torch.Tensor, action: torch.Tensor, s_hat_in: torch.Tensor | None = None
    ) -> torch.Tensor:
        """All N rounds in one pass. vis (B, N, N_vis, D) (rows may hold the no-frame placeholder), action
        (B, N, L, E), s_hat_in (B, N−1, Q, D) for the state slots of rounds 1..N−1 (None: no ŝ slots).
        Returns ŝ (B, N, Q, D): the prediction after each round's action."""
        b, n, n_text = vis.shape[0], vis.shape[1], action.shape[2]
        q = self.num_queries
        embeds, pos, is_query, round_id, offset = [], [], [], [], 0
        for k in range(n):
            s = s_hat_in[:, k - 1] if (s_hat_in is not None and k > 0) else None
            r = torch.cat(
                [self.round_embeds(vis[:, k], action[:, k], s, b), self.queries.expand(b, -1, -1)], dim=1
            )
            p, span = self._positions(n_text, s is not None, offset, with_queries=True)
            embeds.append(r)
            pos.append(p)
            is_query.append(torch.arange(r.shape[1]) >= r.shape[1] - q)
            round_id.append(torch.full((r.shape[1],), k))
            offset += span
        is_query, round_id = torch.cat(is_query), torch.cat(round_id)
        length = is_query.numel()
        causal = torch.ones(length, length, dtype=torch.bool).tril()
        # queries of earlier rounds
        hidden_query = is_query[None, :] & (round_id[None, :] < round_id[:, None])
        too_old = round_id[None, :] <= round_id[:, None] - self.cfg.max_rounds  # beyond the history cap
        mask = (causal & ~hidden_query & ~too_old)[None, None].expand(b, 1, -1, -1).to(vis.device)
        hidden = self._run(torch.cat(embeds, dim=1), torch.cat(pos, dim=1), None, mask=mask)
        return hidden[:, is_query.to(hidden.device)].view(b, n, q, -1)

    def forward_train(self, vis: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Teacher-forced ŝ (B, N, Q, D), equal to stepping the rounds one by one. With the enhanced state each
        round's ŝ slot holds the previous round's prediction, which itself read a slot: no-grad passes, the first
        without slots, each feeding its predictions to the next, make one more round exact per pass, so N − 1 of
        them give the last pass (with gradients) the ŝ inputs inference would have."""
        n = vis.shape[1]
        if not self.cfg.enhanced_state or n == 1:
            return self.teacher_forced(vis, action)
        with torch.no_grad():
            s_hat = self.teacher_forced(vis, action)
            for _ in range(n - 2):
                s_hat = self.teacher_forced(vis, action, s_hat[:, :-1])
        return self.teacher_forced(vis, action, s_hat[:, :-1].detach())
