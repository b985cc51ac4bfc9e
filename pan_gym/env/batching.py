"""Row operations on a batched ``RolloutState``: select rows, concatenate rollouts, roll back a failed step.

Every tensor a ``RolloutState`` holds (backbone rounds and KV-cache keys/values, the Swin-DPM window and its shared
noise, ŝ, h(ô), the pending decode condition) is batch-first, so selecting rows is ``t[idx]`` on each of them and
concatenating is ``torch.cat``; both are done with one ``copy.deepcopy`` whose memo maps each tensor to its
replacement. Rollouts concatenate only when their layouts agree (same rounds, spans and window shapes:
``layout_key``) — rows started at different times have histories of different lengths and cannot share one KV cache.

Example:
    >>> import torch
    >>> from pan_gym.env.models import resolve_model
    >>> model = resolve_model("tiny")
    >>> a, b = model.start(torch.zeros(2, 64, 64, 3, dtype=torch.uint8)), model.start(torch.ones(1, 64, 64, 3, dtype=torch.uint8))
    >>> both = cat_rows([a, b]); both.batch_size, select_rows(both, [2]).batch_size
    (3, 1)
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

import torch

from pan_gym.model.glp import RolloutState


def _condition_tensors(c) -> Iterator[torch.Tensor]:
    if c is not None:
        yield from (c.text, c.text_mask, c.state)


def tensors(state: RolloutState) -> Iterator[torch.Tensor]:
    """Every batch-first tensor of a rollout, in a fixed order."""
    bb, sw = state.backbone, state.swin
    yield from bb.rounds
    if bb.kv is not None:
        for layer in bb.kv.layers:
            if getattr(layer, "is_initialized", False) and layer.keys is not None and layer.keys.numel():
                yield from (layer.keys, layer.values)
    yield sw.last_frame
    yield from (t for t in (sw.prev_cond, sw.prev_source) if t is not None)
    yield from sw.prev_traj
    for u in sorted(sw.prev_prefix):  # the decoder's prefix cache: (K, V) per block
        for k, v in sw.prev_prefix[u].kv:
            yield from (k, v)
    yield from _condition_tensors(sw.prev_condition)
    yield from sw.noise or ()
    yield from (t for t in (state.vis, state.s_hat) if t is not None)
    yield from _condition_tensors(state.pending)


def layout_key(state: RolloutState) -> tuple:
    """Equal keys <=> the rollouts can be concatenated row-wise."""
    bb, sw = state.backbone, state.swin
    flags = (
        bb.kv is None,
        sw.prev_cond is None,
        sw.prev_source is None,
        sw.prev_condition is None,
        sw.noise is None,
        state.vis is None,
        state.s_hat is None,
        state.pending is None,
    )
    shapes = tuple((tuple(t.shape[1:]), t.dtype) for t in tensors(state))
    return (tuple(bb.spans), len(bb.rounds), len(sw.prev_traj), tuple(sorted(sw.prev_prefix)), flags, shapes)


def select_rows(state: RolloutState, rows: Sequence[int]) -> RolloutState:
    """An independent rollout holding only ``rows`` (in that order)."""
    idx = torch.as_tensor(list(rows), dtype=torch.long)
    memo = {id(t): t.index_select(0, idx.to(t.device)) for t in tensors(state)}
    return copy.deepcopy(state, memo)


def cat_rows(states: Sequence[RolloutState]) -> RolloutState:
    """One rollout whose rows are those of ``states`` in order; their ``layout_key``s must agree."""
    if len(states) == 1:
        return states[0]
    key = layout_key(states[0])
    if any(layout_key(s) != key for s in states[1:]):
        raise ValueError("cannot concatenate rollouts with different history layouts")
    columns = zip(*(list(tensors(s)) for s in states), strict=True)
    memo: dict[int, torch.Tensor] = {}
    for col in columns:
        if id(col[0]) not in memo:
            memo[id(col[0])] = torch.cat(col, dim=0)
    out = copy.deepcopy(states[0], memo)
    out.steps = max(s.steps for s in states)
    return out


class Rollback:
    """Remembers a rollout (and generator) cheaply before a step so a failed step can be undone.

    A step reassigns ŝ, h(ô), the pending condition and the Swin window, appends to the backbone's round lists, and
    appends to the KV cache (or replaces it when the history cap rebuilds it): keeping the references, copies of
    the two lists and the cache length is enough to restore it exactly.
    """

    def __init__(self, state: RolloutState, generator: torch.Generator | None = None):
        bb = state.backbone
        self.state = state
        self.fields = (state.s_hat, state.vis, state.pending, state.steps, state.swin)
        self.backbone = (list(bb.rounds), list(bb.spans), bb.kv)
        self.kv_lengths = [] if bb.kv is None else [_length(layer) for layer in bb.kv.layers]
        self.generator, self.gen_state = generator, None if generator is None else generator.get_state()

    def restore(self) -> None:
        s, bb = self.state, self.state.backbone
        s.s_hat, s.vis, s.pending, s.steps, s.swin = self.fields
        bb.rounds, bb.spans, bb.kv = list(self.backbone[0]), list(self.backbone[1]), self.backbone[2]
        if bb.kv is not None:
            for layer, n in zip(bb.kv.layers, self.kv_lengths, strict=False):
                extra = _length(layer) - n
                if extra > 0:
                    layer.crop(-extra)
        if self.generator is not None:
            self.generator.set_state(self.gen_state)


def _length(layer) -> int:
    keys = getattr(layer, "keys", None)
    return 0 if keys is None or not getattr(layer, "is_initialized", False) else int(keys.shape[-2])
