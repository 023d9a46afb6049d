"""The constrained fit's memory: the feasibility sums, the claim and the class
codes computed block by block or by hashing, with the same results as over
every row at once (issue 22).

Memory is measured with tracemalloc (numpy's allocations), as a peak relative
to the size of the input arrays; never a time.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.preprocessing import StandardScaler

from sklfair.constrained import FairConstrainedClassifier, _claim
from sklfair.constrained._base import class_codes, small_codes
from sklfair.constrained._claim import claim_violation, row_blocks
from sklfair.constrained._feasibility import (
    gap_floors,
    resolvable_bounds,
    warn_if_degenerate,
)
from sklfair.constrained._gap_term import monitor_rows
from sklfair.constraints import DemographicParity, EqualizedOdds
from sklfair.datasets import load_german_credit
from sklfair.nets import TabularNetClassifier


def labelled_rows(n, n_groups=3, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(n_groups, size=n)
    y = (rng.random(n) < 0.3 + 0.1 * codes).astype(np.int64)
    return y, codes, rng.random(n) + 0.5


def test_row_blocks_cover_the_rows_once():
    blocks = row_blocks(10, 4)
    assert [(b.start, b.stop) for b in blocks] == [(0, 4), (4, 8), (8, 10)]
    assert row_blocks(0) == []


def assert_same_bounds(got, expected):
    assert got.keys() == expected.keys()
    for name, (bound, (a, b, n_a, n_b, rate)) in expected.items():
        got_bound, (got_a, got_b, *got_numbers) = got[name]
        assert (got_a, got_b) == (a, b)
        np.testing.assert_allclose([got_bound, *got_numbers], [bound, n_a, n_b, rate])


@pytest.mark.parametrize("weighted", [False, True])
def test_feasibility_sums_are_the_same_in_blocks(monkeypatch, weighted):
    y, codes, weight = labelled_rows(5000)
    weight = weight if weighted else None
    constraints = [DemographicParity(), EqualizedOdds()]
    whole = resolvable_bounds(constraints, y, codes, weight, 3, 0.95)
    floors = [gap_floors(c, y, codes, weight, 3, 0.95) for c in constraints]
    monkeypatch.setattr(_claim, "BLOCK_ROWS", 333)
    assert_same_bounds(resolvable_bounds(constraints, y, codes, weight, 3, 0.95), whole)
    for constraint, expected in zip(constraints, floors, strict=True):
        got = gap_floors(constraint, y, codes, weight, 3, 0.95)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    # small integer codes give the same numbers as int64 ones
    small = resolvable_bounds(
        constraints, small_codes(y, 2), small_codes(codes, 3), weight, 3, 0.95
    )
    assert_same_bounds(small, whole)


def test_feasibility_check_holds_no_one_hot_of_every_row(traced_peak):
    # before: the labels' one-hot decisions, masks and cells of every row
    # (several times the labels' size); now one block's worth
    y, codes, _ = labelled_rows(2_000_000)
    _, peak = traced_peak(resolvable_bounds, [EqualizedOdds()], y, codes, None, 3, 0.95)
    assert peak < 0.6 * y.nbytes


def test_degeneracy_sums_are_the_same_in_blocks(monkeypatch):
    y, _, weight = labelled_rows(3000)
    decisions = np.eye(2)[np.zeros(3000, dtype=int)]  # always class 0
    with pytest.warns(Warning) as whole:
        warn_if_degenerate(y, decisions, weight, "model")
    monkeypatch.setattr(_claim, "BLOCK_ROWS", 250)
    with pytest.warns(Warning) as blocks:
        warn_if_degenerate(y, decisions, weight, "model")
    assert [str(w.message) for w in blocks] == [str(w.message) for w in whole]


def test_class_codes_are_numpy_unique_with_less_memory(traced_peak):
    for y in (
        np.array([3, 1, 3, 2]),
        np.array([True, False, True]),
        np.array(["b", "a", "b"]),
        np.array(["b", "a", "b"], dtype=object),
        np.array([1.5, 0.5, 1.5]),
        np.array([2, 1], dtype=np.uint8),
        np.array([-3, 5, -3], dtype=np.int8),
        np.array([10**12, 0, 10**12]),
    ):
        classes, codes = class_codes(y)
        expected_classes, expected_codes = np.unique(y, return_inverse=True)
        np.testing.assert_array_equal(classes, expected_classes)
        assert classes.dtype == expected_classes.dtype
        np.testing.assert_array_equal(codes, expected_codes)
    y = np.random.default_rng(0).integers(5, size=1_000_000)
    _, unique_peak = traced_peak(np.unique, y, return_inverse=True)
    _, peak = traced_peak(class_codes, y)
    assert peak < 0.4 * unique_peak


def test_small_codes_take_the_smallest_integer_dtype():
    assert small_codes(np.arange(5), 5).dtype == np.int8
    assert small_codes(np.arange(300), 300).dtype == np.int16
    np.testing.assert_array_equal(small_codes(np.arange(300), 300), np.arange(300))


def test_the_monitored_index_does_not_hold_the_whole_permutation():
    n = 10_000
    data = {
        "y": torch.zeros(n, dtype=torch.int64),
        "sample_weight": torch.ones(n),
        "sensitive_features": torch.zeros(n, dtype=torch.int64),
        "X": torch.zeros((n, 2)),
    }
    rows = monitor_rows(data, 100, torch.device("cpu"))
    assert rows["index"].untyped_storage().nbytes() == 100 * 8


@pytest.fixture(scope="module")
def german_fit():
    bunch = load_german_credit()
    X = StandardScaler().fit_transform(
        bunch.data.select_dtypes("number").to_numpy(dtype=np.float64)
    )
    y = bunch.target.to_numpy()
    sex = bunch.sensitive["sex"].to_numpy()
    clf = FairConstrainedClassifier(
        TabularNetClassifier(hidden_units=(16,), max_epochs=8, random_state=0),
        constraint=["demographic_parity", "equalized_odds"],
        bound=0.02,
        method="lagrangian",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y, sensitive_features=sex)
    codes = np.searchsorted(clf.groups_, sex)
    return clf, X, np.searchsorted(clf.classes_, y), codes


def messages(record):
    return sorted((w.category.__name__, str(w.message)) for w in record)


def test_the_claim_on_german_credit_is_the_one_over_every_row(monkeypatch, german_fit):
    clf, X, y, codes = german_fit
    constraints = clf.constraint_
    owner = f"FairConstrainedClassifier (method={clf.method_!r})"
    advice = (
        "Loosen the bound, train longer, or check that the groups are "
        "large enough to estimate their rates."
    )
    # the claim as it was computed before: one-hot decisions of every row
    decisions = np.eye(2)[np.searchsorted(clf.classes_, clf.estimator_.predict(X))]
    with warnings.catch_warnings(record=True) as before:
        warnings.simplefilter("always")
        expected = claim_violation(
            constraints,
            y,
            decisions,
            codes,
            None,
            clf.groups_,
            owner=owner,
            advice=advice,
        )
        warn_if_degenerate(y, decisions, None, owner, classes=clf.classes_)
    assert clf.constraint_violation_ == expected
    for block_rows in (None, 97):  # one block, and eleven
        if block_rows:
            monkeypatch.setattr(_claim, "BLOCK_ROWS", block_rows)
        with warnings.catch_warnings(record=True) as now:
            warnings.simplefilter("always")
            clf._claim(constraints, X, y, codes, None)
        assert clf.constraint_violation_ == pytest.approx(expected, abs=1e-12)
        assert messages(now) == messages(before)
    assert any("did not meet the bound" in m for _, m in messages(before))


def test_the_claim_holds_one_block_of_decisions_at_a_time(german_fit, traced_peak):
    clf, _, _, _ = german_fit
    rng = np.random.default_rng(0)
    n = 1_000_000
    X = rng.standard_normal((n, clf.n_features_in_))
    y, codes, _ = labelled_rows(n, n_groups=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, peak = traced_peak(clf._claim, clf.constraint_, X, y, codes, None)
    # before: the predictions and one-hot decisions of every row (16 bytes
    # per row for the decisions alone), and the rates' temporaries
    assert peak < 0.2 * X.nbytes


def _german_lagrangian():
    bunch = load_german_credit()
    X = StandardScaler().fit_transform(
        bunch.data.select_dtypes("number").to_numpy(dtype=np.float64)
    )
    y = bunch.target.to_numpy()
    weight = np.random.default_rng(0).integers(0, 3, len(y)).astype(float)
    clf = FairConstrainedClassifier(
        TabularNetClassifier(hidden_units=(16,), max_epochs=5, random_state=0),
        constraint=["demographic_parity", "equalized_odds"],
        bound=0.05,
        method="lagrangian",
        method_params={"validation_fraction": 0.2},
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y, sensitive_features=bunch.sensitive["sex"], sample_weight=weight)
    return clf, clf.predict_proba(X)


def test_narrow_training_tensors_change_nothing_on_german_credit(monkeypatch):
    # issue 22: codes in one byte a row and int32 row positions give the
    # same claim, history and predictions as int64 tensors did
    clf, proba = _german_lagrangian()
    import sklfair.nets._base as net_base
    import sklfair.nets._classifier as net_classifier
    import sklfair.nets._data as net_data
    import sklfair.nets._training as net_training

    for module in (net_base, net_classifier):
        monkeypatch.setattr(module, "small_int_dtype", lambda n: np.dtype(np.int64))
    for module in (net_data, net_training):
        monkeypatch.setattr(module, "index_dtype", lambda n: torch.int64)
    wide, wide_proba = _german_lagrangian()
    np.testing.assert_array_equal(proba, wide_proba)
    assert clf.constraint_violation_ == wide.constraint_violation_
    columns = [c for c in clf.history_.columns if c != "dur"]
    assert len(clf.history_) == 5
    pd.testing.assert_frame_equal(clf.history_[columns], wide.history_[columns])


@pytest.mark.parametrize("copy_bytes", [0, 2**20])
def test_the_monitored_rows_copy_their_inputs_only_when_small(monkeypatch, copy_bytes):
    # issue 22: the epoch-end evaluation kept a float32 copy of the inputs
    # of up to 50,000 monitored rows; they are gathered chunk by chunk when
    # the network is evaluated, with the same outputs -- unless the copy is
    # small (here: every row monitored, so only under the byte cap), which
    # then saves the gather at every epoch end (issue 21)
    from sklfair.constrained import LagrangianTerm, _gap_term

    class Recording(LagrangianTerm):
        def epoch_summary(self):
            rows = self._monitor
            self.held = sum(
                t.untyped_storage().nbytes()
                for t in [*rows.values(), rows["X"].copy]
                if isinstance(t, torch.Tensor)
            )
            module = self._net.module_.eval()
            with torch.no_grad():
                whole = module(self._data_rows.features())
                self.same = torch.equal(
                    _gap_term.forward_in_chunks(module, rows["X"]), whole
                )
            module.train()
            return super().epoch_summary()

        def setup(self, net, data):
            self._data_rows = data
            super().setup(net, data)

    monkeypatch.setattr(_gap_term, "MONITOR_CHUNK", 128)  # 24 chunks
    monkeypatch.setattr(_gap_term, "MONITOR_COPY_BYTES", copy_bytes)
    rng = np.random.default_rng(0)
    n = 3000
    X = rng.normal(size=(n, 50))
    y = (X[:, 0] + rng.normal(size=n) > 0).astype(int)
    term = Recording("demographic_parity", bound=0.05)
    TabularNetClassifier(hidden_units=(8,), max_epochs=1, random_state=0).fit(
        X, y, sensitive_features=(X[:, 1] > 0).astype(int), loss_terms=[term]
    )
    assert term.same
    # targets and codes (int64) and weights (float32), and the 50 float32
    # inputs only when they fit under the cap (600,000 bytes)
    inputs = n * 50 * 4 if copy_bytes else 0
    assert n * (8 + 8 + 4) <= term.held - inputs <= n * (8 + 8 + 4) + 1024


def test_the_epoch_end_evaluation_gets_the_callers_threads(
    monkeypatch, forward_threads
):
    """A small net's steps run on one thread; the epoch-end pass over the
    monitored rows (more than a chunk) gets the caller's two, with the
    outputs one thread gives."""
    from sklfair.constrained import _gap_term

    monkeypatch.setattr(_gap_term, "MONITOR_CHUNK", 256)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 5)).astype(np.float32)
    groups = rng.integers(0, 2, 1500)
    y = (2 * X[:, 0] + 0.3 * groups + rng.normal(size=1500) > 0).astype(int)
    seen = forward_threads
    fits = []
    previous = torch.get_num_threads()
    try:
        for threads in (2, 1):
            torch.set_num_threads(threads)
            seen.clear()
            fits.append(
                FairConstrainedClassifier(
                    TabularNetClassifier(
                        hidden_units=(8,), max_epochs=3, lr=0.01, random_state=0
                    ),
                    bound=0.1,
                    random_state=0,
                ).fit(X, y, sensitive_features=groups)
            )
            assert set(seen) == {threads}  # 6 chunks an epoch end, then the claim
            assert len(seen) >= 3 * 6
    finally:
        torch.set_num_threads(previous)
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))
    assert fits[0].constraint_violation_ == fits[1].constraint_violation_
    pd.testing.assert_frame_equal(fits[0].history_, fits[1].history_)
