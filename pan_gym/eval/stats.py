"""Confidence intervals: Wilson for proportions, percentile bootstrap for anything computed from samples.

Example:
    >>> lo, hi = wilson(8, 10)
    >>> round(lo, 3), round(hi, 3)
    (0.49, 0.943)
    >>> est = proportion(8, 10)
    >>> est.value, est.n
    (0.8, 10)
    >>> b = bootstrap([1.0, 2.0, 3.0, 4.0], lambda x: float(x.mean()))
    >>> b.value, b.lo <= 2.5 <= b.hi, b.n
    (2.5, True, 4)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95 % interval and sample size; ``value`` None when there was nothing to measure."""

    value: float | None
    lo: float | None
    hi: float | None
    n: int
    method: str  # "wilson" | "bootstrap"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Estimate:
        return cls(**d)


NONE = Estimate(None, None, None, 0, "none")


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (n ≥ 1): well behaved at 0, 1 and small n."""
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"wilson needs 0 <= k <= n and n >= 1, got k={k}, n={n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion(k: int, n: int) -> Estimate:
    """``k`` successes of ``n`` with the Wilson interval (``NONE``-like when n is 0)."""
    if n == 0:
        return Estimate(None, None, None, 0, "wilson")
    lo, hi = wilson(k, n)
    return Estimate(k / n, lo, hi, n, "wilson")


def bootstrap(
    samples: Sequence[Any],
    stat: Callable[[np.ndarray], float | None],
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """``stat`` of the samples with a percentile bootstrap interval (resampling the samples with replacement).

    ``stat`` receives an object array of samples (a resample) and returns a float, or None when undefined (those
    resamples are skipped; if more than half are undefined, so is the interval).
    """
    arr = np.empty(len(samples), dtype=object)
    arr[:] = list(samples)
    if len(arr) == 0:
        return Estimate(None, None, None, 0, "bootstrap")
    value = stat(arr)
    rng = np.random.default_rng([seed, 0xB007])
    draws = [stat(arr[rng.integers(0, len(arr), len(arr))]) for _ in range(n_boot)]
    draws = [d for d in draws if d is not None and np.isfinite(d)]
    if value is None or len(draws) < n_boot / 2:
        return Estimate(value, None, None, len(arr), "bootstrap")
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(draws, [tail, 100 - tail])
    return Estimate(float(value), float(lo), float(hi), len(arr), "bootstrap")


def disjoint(a: Estimate, b: Estimate) -> int:
    """+1 if ``a``'s interval lies wholly above ``b``'s, −1 if wholly below, 0 if they overlap or one is missing."""
    if None in (a.lo, a.hi, b.lo, b.hi):
        return 0
    return 1 if a.lo > b.hi else -1 if a.hi < b.lo else 0
