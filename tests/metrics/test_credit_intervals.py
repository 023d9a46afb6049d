"""Bootstrap intervals of the credit metrics' gaps: against independent oracles.

- the vectorized resample kernels give the weighted metrics of
  scikit-learn / scipy on each resample (``roc_auc_score`` with weights,
  ``ks_2samp`` on repeated rows);
- the interval agrees, within Monte Carlo error, with scipy's own
  stratified bootstrap (``scipy.stats.bootstrap`` resampling each group's
  rows on its own);
- on simulated scores with a known Gini gap, the interval covers it about
  95% of the time.
"""

import functools

import numpy as np
import pytest
from scipy.stats import bootstrap, ks_2samp, norm, rankdata
from sklearn.metrics import roc_auc_score

from sklfair.metrics import group_gap, group_gap_interval, risk_metrics_by_group
from sklfair.metrics._calibration import _brier, _ece
from sklfair.metrics._credit_bootstrap import (
    _brier_many,
    _gini_many,
    _ks_many,
    _SortedRows,
    _uniform_ece_many,
)


@pytest.mark.parametrize("decimals", [2, None])  # tied scores, or none
def test_resample_kernels_are_the_weighted_metrics(decimals):
    rng = np.random.default_rng(0)
    n = 200
    events = rng.integers(0, 2, n).astype(float)
    score = rng.random(n)
    if decimals is not None:
        score = np.round(score, decimals)
    counts = rng.integers(0, 3, size=(6, n)).astype(float)
    rows = _SortedRows(events, score)
    assert rows.untied == (decimals is None)
    shared = {}  # the Gini and the KS share their cumulative sums
    gini = _gini_many(rows, counts, shared)
    ks = _ks_many(rows, counts, shared)
    for b, w in enumerate(counts):
        auc = roc_auc_score(events, score, sample_weight=w)
        assert gini[b] == pytest.approx(2 * auc - 1)
        repeated = np.repeat(np.arange(n), w.astype(int))
        bad = events[repeated] == 1
        expected = ks_2samp(score[repeated][bad], score[repeated][~bad]).statistic
        assert ks[b] == pytest.approx(expected)
    np.testing.assert_allclose(
        _brier_many(rows, counts), [_brier(events, score, w) for w in counts]
    )
    np.testing.assert_allclose(
        _uniform_ece_many(rows, counts, n_bins=10),
        [_ece(events, score, w, n_bins=10) for w in counts],
    )
    # a resample without events has no Gini
    assert np.isnan(_gini_many(rows, counts * (1 - events))).all()


def _gini_by_ranks(rows, events, score):
    """Gini of each resample (a row of indices), by the Mann-Whitney rank sum."""
    bad = events[rows] == 1
    ranks = rankdata(score[rows], axis=-1)  # ties get their average rank
    n_bad = bad.sum(axis=-1)
    n_good = rows.shape[-1] - n_bad
    auc = ((ranks * bad).sum(axis=-1) - n_bad * (n_bad + 1) / 2) / (n_bad * n_good)
    return 2 * auc - 1


def _gap_of_gini(a, b, axis=-1, *, events, score):
    gap = _gini_by_ranks(a.astype(int), events, score) - _gini_by_ranks(
        b.astype(int), events, score
    )
    return np.abs(gap)


def test_interval_agrees_with_scipys_stratified_bootstrap():
    rng = np.random.default_rng(1)
    n = 240
    group = np.repeat(["a", "b"], n // 2)
    events = rng.integers(0, 2, n)
    score = events * np.where(group == "a", 1.5, 0.5) + rng.normal(size=n)
    ours = group_gap_interval(
        "gini", events, score, sensitive_features=group, n_boot=2000, random_state=0
    )
    assert ours.estimate == pytest.approx(
        group_gap("gini", events, score, sensitive_features=group)
    )
    # scipy resamples each sample on its own (paired=False): stratified
    theirs = bootstrap(
        (np.flatnonzero(group == "a"), np.flatnonzero(group == "b")),
        functools.partial(_gap_of_gini, events=events, score=score),
        paired=False,
        vectorized=True,
        n_resamples=2000,
        method="percentile",
        random_state=np.random.default_rng(1),
    )
    assert ours.low == pytest.approx(theirs.confidence_interval.low, abs=0.03)
    assert ours.high == pytest.approx(theirs.confidence_interval.high, abs=0.03)


def test_coverage_of_a_known_gini_gap():
    """Binormal scores: AUC = Phi(shift / sqrt(2)), so the Gini gap is known."""
    shift = {"a": 1.5, "b": 0.5}
    truth = 2 * (norm.cdf(shift["a"] / np.sqrt(2)) - norm.cdf(shift["b"] / np.sqrt(2)))
    rng = np.random.default_rng(2)
    group = np.repeat(["a", "b"], 300)
    covered = 0
    n_draws = 200
    for _ in range(n_draws):
        events = (rng.random(600) < 0.3).astype(int)
        shifts = np.where(group == "a", shift["a"], shift["b"])
        score = events * shifts + rng.normal(size=600)
        result = group_gap_interval(
            "gini",
            events,
            score,
            sensitive_features=group,
            n_boot=400,
            random_state=rng,
        )
        covered += result.low <= truth <= result.high
    assert 0.90 <= covered / n_draws <= 0.99


def test_a_gap_the_groups_cannot_tell_from_zero():
    """Two groups scored alike: the folded interval starts at 0 and holds the
    gap (a percentile interval of the gap itself would sit above both)."""
    rng = np.random.default_rng(11)
    group = np.repeat(["a", "b"], 400)
    events = rng.integers(0, 2, 800)
    score = events + rng.normal(size=800)
    result = group_gap_interval(
        "gini", events, score, sensitive_features=group, n_boot=500, random_state=0
    )
    assert result.low == 0.0 < result.estimate < result.high
    assert np.quantile(result.bootstrap_distribution, 0.025) > 0


def test_one_resampling_for_every_table_and_gap():
    """The same seed gives the same resamples: the risk table's intervals and
    gaps are group_gap_interval's; a callable metric, computed once per
    resample, gives the vectorized one's interval."""
    rng = np.random.default_rng(3)
    n = 400
    group = rng.choice(["x", "y", "z"], n)
    events = rng.integers(0, 2, n)
    prob = np.clip(0.3 * events + 0.7 * rng.random(n), 0, 1)
    table = risk_metrics_by_group(
        events,
        prob,
        sensitive_features=group,
        confidence=0.9,
        n_boot=200,
        random_state=4,
    )
    for metric in ("gini", "expected_calibration_error"):
        result = group_gap_interval(
            metric,
            events,
            prob,
            sensitive_features=group,
            confidence=0.9,
            n_boot=200,
            random_state=4,
        )
        gaps = table.attrs["gaps"].loc[metric]
        assert gaps["gap"] == pytest.approx(result.estimate)
        assert (gaps["gap_low"], gaps["gap_high"]) == pytest.approx(
            (result.low, result.high)
        )
        by_group = result.by_group.loc[metric]
        np.testing.assert_allclose(table[metric], by_group["value"])
        np.testing.assert_allclose(table[f"{metric}_low"], by_group["low"])
        np.testing.assert_allclose(table[f"{metric}_high"], by_group["high"])

    def weighted_gini(y, score, sample_weight=None):
        return 2 * roc_auc_score(y, score, sample_weight=sample_weight) - 1

    looped = group_gap_interval(
        weighted_gini, events, prob, sensitive_features=group, n_boot=50, random_state=5
    )
    named = group_gap_interval(
        "gini", events, prob, sensitive_features=group, n_boot=50, random_state=5
    )
    np.testing.assert_allclose(
        looped.bootstrap_distribution, named.bootstrap_distribution
    )
    # to the overall value: the resampled rows of every group together
    overall = group_gap_interval(
        "gini",
        events,
        prob,
        sensitive_features=group,
        method="to_overall",
        n_boot=200,
        random_state=6,
    )
    assert overall.low <= overall.estimate <= overall.high


def test_weights_and_weightless_groups():
    rng = np.random.default_rng(7)
    n = 300
    group = rng.choice(["a", "b", "c"], n)
    events = rng.integers(0, 2, n)
    score = rng.random(n)
    kwargs = dict(sensitive_features=group, n_boot=200, random_state=0)
    plain = group_gap_interval("brier_score", events, score, **kwargs)
    doubled = group_gap_interval(
        "brier_score", events, score, sample_weight=np.full(n, 2.0), **kwargs
    )
    assert (doubled.low, doubled.high) == pytest.approx((plain.low, plain.high))
    # a group of weight 0 is left out, as group_gap leaves it out
    weights = np.where(group == "c", 0.0, 1.0)
    kept = group != "c"
    without = group_gap_interval(
        "brier_score", events, score, sample_weight=weights, **kwargs
    )
    alone = group_gap_interval(
        "brier_score",
        events[kept],
        score[kept],
        sensitive_features=group[kept],
        n_boot=200,
        random_state=0,
    )
    assert list(without.group_sizes.index) == ["a", "b"]
    assert (without.low, without.high) == pytest.approx((alone.low, alone.high))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"confidence": 1.5}, "confidence must be"),
        ({"n_boot": 0}, "n_boot must be"),
        ({"method": "pairs"}, "method must be one of"),
    ],
)
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        group_gap_interval(
            "gini", [0, 1], [0.2, 0.4], sensitive_features=["a", "b"], **kwargs
        )
    with pytest.raises(ValueError, match="Unknown metric"):
        group_gap_interval("auc", [0, 1], [0.2, 0.4], sensitive_features=["a", "b"])
