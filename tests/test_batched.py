"""``Batched``: rows select and concatenate through nested states; layouts that differ are refused."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

from pan_gym.batched import Batched


@dataclass
class Inner(Batched):
    x: torch.Tensor  # (B, 2)

    def tensors(self):
        yield self.x


@dataclass
class Outer(Batched):
    a: torch.Tensor  # (B,)
    inner: Inner
    history: list[torch.Tensor] = field(default_factory=list)  # (B, 3) each

    def tensors(self):
        yield self.a
        yield from self.inner.tensors()
        yield from self.history

    def layout(self):
        return (len(self.history),)


def _outer(b: int, k: int = 1) -> Outer:
    a = torch.arange(float(b))
    return Outer(a, Inner(a[:, None].repeat(1, 2)), [a[:, None].repeat(1, 3) * (j + 1) for j in range(k)])


def test_select_and_cat_reach_nested_states_and_copy_everything_else():
    o = _outer(4)
    part = o.select([3, 1])
    assert part.a.tolist() == [3.0, 1.0] and part.inner.x[:, 0].tolist() == [3.0, 1.0]
    assert part.history[0][:, 0].tolist() == [3.0, 1.0] and part.history is not o.history
    back = Outer.cat([o.select([0, 1]), o.select([2, 3])])
    assert all(torch.equal(x, y) for x, y in zip(back.tensors(), o.tensors(), strict=True))
    snap = o.snapshot()
    snap.a += 1
    assert o.a.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_a_tensor_held_twice_stays_shared():
    x = torch.arange(4.0)
    o = Outer(x, Inner(torch.zeros(4, 2)), [])
    o.history.append(o.a)  # the same tensor twice
    both = Outer.cat([o, o.select([0])])
    assert both.history[0] is both.a and both.a.tolist() == [0.0, 1.0, 2.0, 3.0, 0.0]


def test_different_layouts_do_not_concatenate():
    with pytest.raises(ValueError, match="different layouts"):
        Outer.cat([_outer(2, k=1), _outer(2, k=2)])
    with pytest.raises(ValueError, match="different layouts"):  # trailing shapes differ
        Outer.cat([_outer(2), Outer(torch.zeros(1), Inner(torch.zeros(1, 5)), [torch.zeros(1, 3)])])
