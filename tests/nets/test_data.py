"""Row compaction and the tensors of the one training loop (``nets._data``)."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklfair.nets._data import TensorData, compact_rows


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


def test_compaction_does_not_merge_hash_equal_but_different_rows(monkeypatch, rows):
    import sklfair.nets._data as data

    X, y, w = rows
    monkeypatch.setattr(data, "_row_hashes", lambda X: np.zeros(X.shape[0], np.uint64))
    kept, merged = compact_rows(X, [np.zeros_like(y)], w)
    # every hash collides: the exact check refuses to merge anything
    assert len(kept) == np.count_nonzero(w) and np.array_equal(merged, w[kept])


def test_training_tensor_uses_the_callers_float32_rows_in_place(rows):
    X, y, w = rows
    X = np.ascontiguousarray(X)
    kept, _ = compact_rows(X, [y], w)
    data = TensorData(X, {"y": torch.as_tensor(y[kept])}, "cpu", rows=kept)
    assert data.X.data_ptr() == X.ctypes.data  # no copy of X
    batch = data.batch(torch.arange(5))
    np.testing.assert_array_equal(batch["X"].numpy(), X[kept[:5]])
    epoch = next(data.batches(torch.arange(len(kept)), len(kept)))
    np.testing.assert_array_equal(epoch["X"].numpy(), X[kept])
    np.testing.assert_array_equal(data.full()["X"].numpy(), X[kept])
