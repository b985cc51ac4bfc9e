"""Confidence intervals on known values."""

import numpy as np
import pytest

from pan_gym.eval.stats import Estimate, bootstrap, disjoint, proportion, wilson


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (8, 10, 0.4902, 0.9433),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (50, 100, 0.4038, 0.5962),
        (1, 1, 0.2065, 1.0),
    ],
)
def test_wilson_known_values(k, n, lo, hi):
    got = wilson(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_wilson_rejects_bad_counts_and_proportion_handles_empty():
    for k, n in ((1, 0), (-1, 5), (6, 5)):
        with pytest.raises(ValueError):
            wilson(k, n)
    assert proportion(0, 0).value is None and proportion(0, 0).n == 0
    assert proportion(3, 4).value == 0.75


def test_bootstrap_interval_covers_the_mean_and_narrows_with_n():
    rng = np.random.default_rng(0)
    small = bootstrap(rng.normal(1.0, 1.0, 20), lambda x: float(np.mean(x.astype(float))))
    large = bootstrap(rng.normal(1.0, 1.0, 400), lambda x: float(np.mean(x.astype(float))))
    assert small.lo < 1.0 < small.hi and large.lo < 1.0 < large.hi
    assert (large.hi - large.lo) < (small.hi - small.lo) and large.n == 400
    again = bootstrap(rng.normal(1.0, 1.0, 20), lambda x: float(np.mean(x.astype(float))), seed=1)
    assert again.method == "bootstrap"


def test_bootstrap_of_an_undefined_statistic_has_no_interval():
    est = bootstrap([0.0, 0.0, 0.0], lambda x: None)
    assert est.value is None and est.lo is None and est.n == 3
    assert bootstrap([], lambda x: 1.0).n == 0


def test_disjoint():
    a, b, c = (
        Estimate(0.8, 0.7, 0.9, 50, "wilson"),
        Estimate(0.3, 0.2, 0.4, 50, "wilson"),
        Estimate(0.6, 0.35, 0.75, 9, "wilson"),
    )
    assert disjoint(a, b) == 1 and disjoint(b, a) == -1 and disjoint(a, c) == 0
    assert disjoint(a, Estimate(None, None, None, 0, "wilson")) == 0
