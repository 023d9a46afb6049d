"""Intervals of approval_by_group: Wilson rates and MOVER-R adverse impact ratios.

Oracles: scipy's Wilson interval (``binomtest(...).proportion_ci``), the
MOVER-R ends found by a root finder on their defining equation, and the
coverage of simulated groups with known approval rates.
"""

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import binomtest, norm

from sklfair.metrics import approval_by_group
from sklfair.metrics._approvals import ratio_interval


def _wilson(k, n, confidence):
    ci = binomtest(int(k), int(n)).proportion_ci(confidence, method="wilson")
    return ci.low, ci.high


def _mover_r(k1, n1, k2, n2, confidence):
    """The ends of p1 / p2 solving Zou and Donner's equations, by brentq."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = _wilson(k1, n1, confidence)
    l2, u2 = _wilson(k2, n2, confidence)
    ratio = p1 / p2

    def lower(r):
        return p1 - r * p2 - np.sqrt((p1 - l1) ** 2 + r**2 * (u2 - p2) ** 2)

    def upper(r):
        return r * p2 - p1 - np.sqrt((u1 - p1) ** 2 + r**2 * (p2 - l2) ** 2)

    return brentq(lower, 0.0, ratio), brentq(upper, ratio, 1e3)


def _decisions(approved, sizes, labels):
    """Outcomes and decisions (1 = declined) with ``approved[g]`` of ``sizes[g]``."""
    decisions, groups = [], []
    for label, k, n in zip(labels, approved, sizes, strict=True):
        decisions += [0] * k + [1] * (n - k)
        groups += [label] * n
    return np.asarray(decisions), np.asarray(groups)


def test_rates_are_wilson_and_ratios_mover_r():
    approved, sizes = [60, 35, 45], [80, 70, 90]
    decisions, groups = _decisions(approved, sizes, ["a", "b", "c"])
    table = approval_by_group(None, decisions, sensitive_features=groups)
    for (_, row), k, n in zip(table.iterrows(), approved, sizes, strict=True):
        low, high = _wilson(k, n, 0.95)
        assert row["approval_rate_low"] == pytest.approx(low)
        assert row["approval_rate_high"] == pytest.approx(high)
    # each group's ratio: the smallest of its ratios to the others, each at
    # Šidák's confidence for the k - 1 = 2 ratios, capped at 1
    each = 0.95**0.5
    for g, label in enumerate(table.index):
        lows, highs = [], []
        for h in range(3):
            if h != g:
                low, high = _mover_r(approved[g], sizes[g], approved[h], sizes[h], each)
                lows.append(low)
                highs.append(high)
        row = table.loc[label]
        assert row["adverse_impact_ratio_low"] == pytest.approx(min(1, min(lows)))
        assert row["adverse_impact_ratio_high"] == pytest.approx(min(1, min(highs)))
        assert (
            row["adverse_impact_ratio_low"]
            <= row["adverse_impact_ratio"]
            <= row["adverse_impact_ratio_high"]
        )


def test_ratio_interval_edges():
    z = norm.ppf(0.975)
    # no approval in the numerator: the ratio is 0, its upper end is not
    low, high = ratio_interval(0.0, 50, 0.5, 50, z)
    assert low == 0.0 and 0.0 < high < 1.0
    # the denominator may be 0: no upper end
    low, high = ratio_interval(0.5, 50, 0.0, 50, z)
    assert low > 0 and np.isinf(high)
    assert np.isnan(ratio_interval(0.0, 5, 0.0, 5, z)).all()


def test_coverage_of_known_adverse_impact_ratios():
    """Two groups (one ratio, exactly MOVER-R: 0.946 over 1,000 draws) and
    three (Šidák over two ratios: conservative, about 0.97)."""
    rng = np.random.default_rng(0)
    cases = [([0.7, 0.5], [150, 100], 200), ([0.7, 0.5, 0.65], [150, 100, 60], 100)]
    for rates, sizes, n_draws in cases:
        rates, sizes = np.asarray(rates), np.asarray(sizes)
        truth = rates / rates.max()
        labels = [f"g{i}" for i in range(len(rates))]
        covered = np.zeros(len(rates))
        for _ in range(n_draws):
            approved = rng.binomial(sizes, rates)
            decisions, groups = _decisions(approved, sizes, labels)
            table = approval_by_group(None, decisions, sensitive_features=groups)
            covered += (table["adverse_impact_ratio_low"] <= truth) & (
                truth <= table["adverse_impact_ratio_high"]
            )
        # the groups below the top: the ratio's coverage; the top group's
        # ratio is 1, capped at the upper end, and covered nearly always
        assert np.all(covered / n_draws >= 0.91), covered
        if len(rates) == 2:  # one ratio: MOVER-R itself, not conservative
            assert covered.iloc[1] / n_draws <= 0.99, covered


def test_weights_use_kish_sizes():
    decisions, groups = _decisions([30, 20], [40, 40], ["a", "b"])
    plain = approval_by_group(None, decisions, sensitive_features=groups)
    tripled = approval_by_group(
        None, decisions, sensitive_features=groups, sample_weight=np.full(80, 3.0)
    )
    columns = [c for c in plain.columns if c.endswith(("_low", "_high"))]
    np.testing.assert_allclose(tripled[columns], plain[columns])
    # unequal weights: fewer effective rows, wider intervals
    weights = np.where(np.arange(80) % 2 == 0, 1.0, 5.0)
    uneven = approval_by_group(
        None, decisions, sensitive_features=groups, sample_weight=weights
    )
    width = uneven["approval_rate_high"] - uneven["approval_rate_low"]
    assert (width > plain["approval_rate_high"] - plain["approval_rate_low"]).all()
    none = approval_by_group(
        None, decisions, sensitive_features=groups, confidence=None
    )
    assert not [c for c in none.columns if c.endswith("_low")]
    with pytest.raises(ValueError, match="confidence must be"):
        approval_by_group(None, decisions, sensitive_features=groups, confidence=95)
