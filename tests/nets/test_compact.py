"""Row compaction (``nets._compact``): an index into X, weights summed."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp

from sklfair.nets._compact import compact_rows


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(400, 3)).astype(np.float32)  # many duplicates
    y = rng.integers(0, 2, size=400)
    w = rng.integers(0, 4, size=400).astype(float)
    return X, y, w


def _oracle(X, y, w):
    """Summed weight of every distinct (row, label) with a non-zero weight."""
    totals = {}
    for x, label, weight in zip(map(tuple, X), y, w):
        if weight > 0:
            totals[x + (label,)] = totals.get(x + (label,), 0.0) + weight
    return totals


@pytest.mark.parametrize("sparse", [False, True])
def test_compaction_merges_rows_and_sums_weights(rows, sparse):
    X, y, w = rows
    rows_, merged = compact_rows(sp.csr_array(X) if sparse else X, [y], w)
    got = {tuple(X[r]) + (y[r],): m for r, m in zip(rows_, merged)}
    assert got == pytest.approx(_oracle(X, y, w))
    assert len(got) == len(rows_)  # one row per distinct (row, label)


def test_compaction_order_does_not_depend_on_the_input_order(rows):
    X, y, w = rows
    perm = np.random.default_rng(1).permutation(len(y))
    a, wa = compact_rows(X, [y], w)
    b, wb = compact_rows(X[perm], [y[perm]], w[perm])
    np.testing.assert_array_equal(X[a], X[perm][b])
    np.testing.assert_array_equal(wa, wb)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("distinct_hashes", [1, 3])
def test_rows_of_one_hash_merge_by_their_content(
    monkeypatch, rows, sparse, distinct_hashes
):
    """Different rows that share a hash are told apart by their content:
    equal rows merge, different ones do not, and the order stays canonical."""
    import sklfair.nets._compact as compact

    X, y, w = rows
    monkeypatch.setattr(
        compact,
        "_row_hashes",
        lambda X: (np.asarray(X[:, [0]].sum(axis=1)).ravel() % distinct_hashes).astype(
            np.uint64
        ),
    )
    matrix = sp.csr_array(X) if sparse else X
    kept, merged = compact_rows(matrix, [y], w)
    got = {tuple(X[r]) + (y[r],): m for r, m in zip(kept, merged)}
    assert got == pytest.approx(_oracle(X, y, w))
    assert len(got) == len(kept)
    perm = np.random.default_rng(2).permutation(len(y))
    again, merged_again = compact_rows(
        sp.csr_array(X[perm]) if sparse else X[perm], [y[perm]], w[perm]
    )
    np.testing.assert_array_equal(X[kept], X[perm][again])
    np.testing.assert_array_equal(y[kept], y[perm][again])
    np.testing.assert_array_equal(merged, merged_again)  # integer weights


def test_bundled_data_with_colliding_hashes_merge_its_identical_rows():
    """COMPAS, one-hot encoded, holds about half as many distinct rows as
    rows, and some of its distinct rows share a hash: they all merge."""
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from sklfair.datasets import load_compas
    from sklfair.nets._compact import _row_hashes

    X = load_compas().data
    encoder = make_column_transformer(
        (
            OneHotEncoder(sparse_output=False),
            make_column_selector(dtype_include=["category", "object"]),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    )
    Z = encoder.fit_transform(X).astype(np.float64)
    distinct = len(np.unique(Z, axis=0))
    assert len(np.unique(_row_hashes(Z))) < distinct  # hashes collide
    kept, merged = compact_rows(Z, [], None)
    assert len(kept) == distinct
    assert merged.sum() == len(Z)


def test_two_dimensional_columns_and_float64_rows_merge_exactly():
    X = np.repeat(np.array([[0.5, 1.0], [2.0, 3.0]]), 3, axis=0)  # float64
    soft = np.repeat(np.array([[0.2, 0.8], [0.6, 0.4]]), 3, axis=0)
    soft[0] = [0.3, 0.7]  # the first row differs from its copies by its soft target
    w = np.arange(1.0, 7.0)
    rows, merged = compact_rows(X, [np.zeros(6, dtype=int), soft], w)
    got = sorted(zip(map(tuple, X[rows]), map(tuple, soft[rows]), merged))
    assert got == [
        ((0.5, 1.0), (0.2, 0.8), 2.0 + 3.0),
        ((0.5, 1.0), (0.3, 0.7), 1.0),
        ((2.0, 3.0), (0.6, 0.4), 4.0 + 5.0 + 6.0),
    ]


def test_distinct_positive_rows_are_only_reordered():
    X = np.random.default_rng(0).normal(size=(50, 4))
    w = np.linspace(0.5, 2.0, 50)
    rows, merged = compact_rows(X, [np.arange(50)], w)
    assert sorted(rows) == list(range(50))
    np.testing.assert_array_equal(merged, w[rows])


@pytest.mark.parametrize("weighted", [False, True])
def test_slabs_of_rows_change_nothing(monkeypatch, rows, weighted):
    import sklfair.nets._compact as compact

    X, y, w = rows
    w = w if weighted else None
    soft = np.stack([X[:, 0] / 4, 1 - X[:, 0] / 4], axis=1)
    whole = compact_rows(X, [y, soft], w)
    monkeypatch.setattr(compact, "_HASH_SLAB_ROWS", 7)  # runs across slabs
    rows_, merged = compact_rows(X, [y, soft], w)
    np.testing.assert_array_equal(rows_, whole[0])
    if weighted or merged is not None:
        np.testing.assert_array_equal(merged, whole[1])


def test_compaction_holds_two_numbers_a_row(traced_peak):
    # issue 22: the columns' hashes of every row, pandas' temporaries and a
    # sorted copy of the hashes were alive at once (24 bytes a row); now the
    # hashes and the sort order (16), and the rows come back as int32
    n = 500_000
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y, groups = (rng.integers(0, 2, size=(2, n))).astype(np.int8)
    (kept, merged), peak = traced_peak(compact_rows, X, [y, groups], None)
    assert kept.dtype == np.int32 and merged is None
    assert peak < 2.5 * 8 * n


def test_an_unstable_sort_with_ordered_runs_is_the_stable_order(monkeypatch):
    import sklfair.nets._compact as compact

    rng = np.random.default_rng(0)
    for slab in (8192, 3):
        monkeypatch.setattr(compact, "_HASH_SLAB_ROWS", slab)
        for n, distinct in ((1, 1), (50, 50), (500, 7), (2000, 300)):
            hashes = rng.integers(0, distinct, n).astype(np.uint64) * np.uint64(
                0x9E3779B97F4A7C15
            )
            order = np.argsort(hashes)
            first = compact._run_starts(hashes, order)
            compact._order_runs(order, first)
            np.testing.assert_array_equal(order, np.argsort(hashes, kind="stable"))


_PEAK_SCRIPT = """
import resource
import numpy as np
from sklfair.nets._compact import compact_rows

n = 2_000_000
X = np.empty((n, 2))
np.random.default_rng(0).standard_normal(out=X)  # no temporaries
y = np.zeros(n, dtype=np.int8)
y[::3] = 1
compact_rows(X[:1000], [y[:1000]], None)  # imports and first-call costs
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
compact_rows(X, [y], None)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024 / n)
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="ru_maxrss in KiB on Linux"
)
def test_compaction_peak_resident_memory_per_row():
    # issue 22: a stable sort of the hashes takes a buffer of half the order
    # (4 bytes a row) on top of the hashes and the order (16), which
    # tracemalloc does not see; the peak resident memory does. Measured in
    # a fresh process, with glibc returning large blocks at once (as numpy's
    # allocations are freed) so that the peak is what was alive at once.
    import os
    import subprocess

    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    per_row = float(out.stdout.strip().splitlines()[-1])
    assert per_row < 18.0


def test_a_sparse_input_is_left_as_it_was():
    """Hashing canonicalises a CSR matrix (duplicates summed, indices
    sorted, explicit zeros dropped) on a copy, not on the caller's arrays."""
    X = sp.csr_array(
        (
            np.array([1.0, 0.0, 2.0, 3.0, 4.0]),
            np.array([1, 0, 1, 0, 2]),
            np.array([0, 2, 4, 5]),
        ),
        shape=(3, 3),
    )
    before = [X.data.copy(), X.indices.copy(), X.indptr.copy()]
    compact_rows(X, [np.zeros(3, dtype=int)], None)
    for kept, now in zip(before, [X.data, X.indices, X.indptr], strict=True):
        np.testing.assert_array_equal(kept, now)
