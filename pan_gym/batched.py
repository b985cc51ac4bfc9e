"""``Batched``: a state of batch-first tensors that selects, concatenates and snapshots its own rows.

A subclass names its tensors in ``tensors()`` (a fixed order, nested states included) and, in ``layout()``, what
else must agree for two instances to be concatenated (which optional parts are present, history lengths).
``select`` and ``cat`` build the result with one ``copy.deepcopy`` whose memo maps each tensor to its replacement,
so every other field (lists, dicts, nested states) is carried over as is.

Example:
    >>> import torch
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Pair(Batched):
    ...     a: torch.Tensor  # (B, 2)
    ...     b: torch.Tensor  # (B,)
    ...     def tensors(self):
    ...         yield from (self.a, self.b)
    >>> p = Pair(torch.arange(6.0).view(3, 2), torch.arange(3.0))
    >>> Pair.cat([p.select([2]), p.select([0])]).b.tolist()
    [2.0, 0.0]
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from typing import Self


class Batched:
    """Row operations shared by the rollout's state objects (see the module docstring)."""

    def tensors(self) -> Iterator[torch.Tensor]:
        """Every batch-first tensor held, nested states included, in a fixed order."""
        raise NotImplementedError

    def layout(self) -> tuple:
        """What must agree, besides the tensors' trailing shapes and dtypes, for ``cat``."""
        return ()

    def layout_key(self) -> tuple:
        """Equal keys <=> the instances can be concatenated row-wise."""
        return self.layout(), tuple((tuple(t.shape[1:]), t.dtype) for t in self.tensors())

    def select(self, rows: Sequence[int]) -> Self:
        """An independent copy holding only ``rows``, in that order."""
        idx = torch.as_tensor(list(rows), dtype=torch.long)
        memo = {id(t): t.index_select(0, idx.to(t.device)) for t in self.tensors()}
        return copy.deepcopy(self, memo)

    @classmethod
    def cat(cls, parts: Sequence[Self]) -> Self:
        """One instance whose rows are those of ``parts`` in order; their ``layout_key``s must agree."""
        if len(parts) == 1:
            return parts[0]
        key = parts[0].layout_key()
        if any(p.layout_key() != key for p in parts[1:]):
            raise ValueError(f"cannot concatenate {cls.__name__}s with different layouts (history lengths)")
        memo: dict[int, torch.Tensor] = {}
        for column in zip(*(list(p.tensors()) for p in parts), strict=True):
            if id(column[0]) not in memo:  # a tensor held twice is concatenated once
                memo[id(column[0])] = torch.cat(column, dim=0)
        return copy.deepcopy(parts[0], memo)

    def snapshot(self) -> Self:
        """An independent copy (for branching)."""
        return copy.deepcopy(self)
