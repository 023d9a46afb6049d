"""Turning user input into the tensors of the one training loop.

Three jobs live here:

- checking that ``X`` is numeric, with an error that tells the user to put an
  encoder in front when it is not;
- *compacting* the training rows: rows with zero weight are dropped and
  identical rows (same features, target, group and soft target) are merged
  into one row carrying the sum of their weights (as an index into ``X``:
  nothing of ``X`` is copied). This is an exact rewrite of
  the weighted loss, so integer weight ``k`` is the same training set as ``k``
  repeated rows, bit for bit, and zero-weight rows never take a batch slot;
- holding the training tensors on the device (:class:`TensorData`), sliced
  by index per batch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

__all__ = ["check_numeric_frame", "compact_rows", "TensorData", "to_tensor"]

# Dense copies of sparse input up to this many bytes are made once at fit;
# larger sparse matrices are densified batch by batch.
_DENSIFY_LIMIT_BYTES = 2**31
# Up to this size X is gathered in shuffled order once per epoch.
_EPOCH_GATHER_LIMIT_BYTES = 2**30
# Rows hashed at a time when compacting.
_HASH_SLAB_ROWS = 8192


def check_numeric_frame(X, estimator_name):
    """Raise a helpful error when a DataFrame has non-numeric columns."""
    if not isinstance(X, pd.DataFrame):
        return
    bad = [
        str(col)
        for col, dtype in X.dtypes.items()
        if not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        )
    ]
    if bad:
        shown = ", ".join(repr(c) for c in bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise ValueError(
            f"{estimator_name} needs numeric input, but columns {shown} are not "
            "numeric (object, string or category). Put an encoder in front, e.g. "
            "make_pipeline(make_column_transformer((OneHotEncoder("
            "handle_unknown='ignore'), categorical_columns), "
            "remainder=StandardScaler()), "
            f"{estimator_name}())."
        )


def _row_hashes(X):
    """64-bit hash of every row of a dense or sparse matrix (exact bytes)."""
    if sp.issparse(X):
        X = sp.csr_array(X)
        X.sum_duplicates()
        X.sort_indices()
        X.eliminate_zeros()
        # hash each stored (column, value) pair, then combine per row: the sum
        # is order-free, and rows have sorted, duplicate-free indices anyway.
        cell = pd.util.hash_array(X.data) ^ (
            pd.util.hash_array(X.indices.astype(np.int64)) * np.uint64(31)
        )
        row_of = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        hashes = np.zeros(X.shape[0], dtype=np.uint64)
        np.add.at(hashes, row_of, cell)
        return hashes ^ pd.util.hash_array(np.diff(X.indptr).astype(np.int64))
    n_rows, n_cols = X.shape
    pad = X.dtype.itemsize == 4 and n_cols % 2  # 32-bit cells pair into words
    n_words = (n_cols + pad) * X.dtype.itemsize // 8
    # position-dependent odd multipliers, then fold the high bits down: rows
    # with equal bytes get equal hashes; unequal rows collide so rarely that
    # the exact check in compact_rows (which then skips merging) suffices.
    keys = (
        np.arange(1, n_words + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    ) | np.uint64(1)
    hashes = np.zeros(n_rows, dtype=np.uint64)
    # slabs of rows keep the temporaries small (a few MB) whatever the size
    # of X, and copy nothing when X is C-contiguous with an even row width
    for row in range(0, n_rows, _HASH_SLAB_ROWS):
        slab = X[row : row + _HASH_SLAB_ROWS]
        if pad:
            slab = np.pad(slab, ((0, 0), (0, 1)))
        words = np.ascontiguousarray(slab).view(np.uint64)
        out = hashes[row : row + _HASH_SLAB_ROWS]
        for start in range(0, n_words, 64):
            block = words[:, start : start + 64] * keys[start : start + 64]
            block ^= block >> np.uint64(29)
            out += block.sum(axis=1, dtype=np.uint64)
    return hashes


def compact_rows(X, columns, sample_weight):
    """Drop zero-weight rows and merge identical rows, summing their weights.

    Nothing of ``X`` is copied: the result is an index into its rows.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    columns : list of ndarray
        Per-row arrays that must also be equal for rows to merge (target,
        group codes, soft targets); 1-D or 2-D with ``n_samples`` rows.
    sample_weight : ndarray of shape (n_samples,)

    Returns
    -------
    rows : ndarray of int64
        The rows to train on, one per group of identical rows, in a canonical
        order (sorted by row hash) so that two data sets holding the same
        weighted rows give identical tensors whatever their original order.
    sample_weight : ndarray of float64
        The summed weight of each of ``rows``.
    """
    keep = np.flatnonzero(sample_weight > 0)
    weight = sample_weight[keep]
    if len(keep) == 0:
        return keep, weight

    # row hashes do not depend on the other rows: hash X whole (no copy of
    # the kept rows), then keep the kept rows' hashes
    hashes = _row_hashes(X)[keep]
    for c in columns:
        c2 = np.asarray(c)[keep].reshape(len(keep), -1)
        hashes = (
            hashes * np.uint64(1000003)
            ^ pd.util.hash_pandas_object(pd.DataFrame(c2), index=False).to_numpy()
        )
    uniques, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)

    if len(uniques) == len(hashes):  # no duplicates: only the canonical order
        return keep[first], weight[first]
    # Guard against hash collisions: merged rows must really be equal.
    rows, representatives = keep, keep[first[inverse]]
    same = _rows_equal(X, rows, representatives) and all(
        np.array_equal(np.asarray(c)[rows], np.asarray(c)[representatives])
        for c in columns
    )
    if not same:
        order = np.argsort(hashes, kind="stable")
        return keep[order], weight[order]

    merged = np.zeros(len(uniques), dtype=np.float64)
    np.add.at(merged, inverse, weight)
    return keep[first], merged


def _rows_equal(X, a, b):
    """Whether rows ``a`` and ``b`` of ``X`` are equal, pair by pair."""
    if sp.issparse(X):
        X = sp.csr_array(X)
        return (X[a] - X[b]).count_nonzero() == 0
    return all(
        np.array_equal(X[a[s : s + _HASH_SLAB_ROWS]], X[b[s : s + _HASH_SLAB_ROWS]])
        for s in range(0, len(a), _HASH_SLAB_ROWS)
    )


def to_tensor(X, device, dtype=torch.float32):
    """Dense tensor on ``device`` from a dense or sparse matrix."""
    if sp.issparse(X):
        X = X.toarray()
    X = np.ascontiguousarray(X)
    if not X.flags.writeable:  # torch warns on read-only memory (e.g. memmaps)
        X = X.copy()
    return torch.as_tensor(X, dtype=dtype, device=device)


class TensorData:
    """The training (or validation) rows of one fit, held as tensors.

    ``X`` stays a scipy CSR matrix on the host only when its dense copy would
    be larger than 2 GiB; every other tensor lives on the training device.
    With ``rows``, the data are ``X[rows]`` (the compacted rows): ``X`` is
    kept whole and indexed through ``rows``, so the caller's float32 array
    is used in place rather than copied. ``batch(index)`` returns the batch
    dict of the one training loop; ``index`` counts the rows of the data.
    """

    def __init__(self, X, tensors, device, rows=None):
        self.device = device
        n_rows = X.shape[0] if rows is None else len(rows)
        dense_bytes = n_rows * X.shape[1] * 4
        if sp.issparse(X) and dense_bytes > _DENSIFY_LIMIT_BYTES:
            self.X = sp.csr_array(X, dtype=np.float32)
        else:
            self.X = to_tensor(X, device)
        self.rows = None
        if rows is not None:
            self.rows = torch.as_tensor(np.asarray(rows, dtype=np.int64))
            if isinstance(self.X, torch.Tensor):
                self.rows = self.rows.to(device)
        self.tensors = tensors
        self.n_samples = n_rows
        self.n_features = X.shape[1]

    def _X_rows(self, index):
        """Rows ``index`` of the data (through ``rows``) as a dense tensor."""
        if self.rows is not None:
            index = self.rows[index.to(self.rows.device)]
        if isinstance(self.X, torch.Tensor):
            return self.X[index]
        return to_tensor(self.X[index.cpu().numpy()], self.device)

    def batch(self, index):
        batch = {"X": self._X_rows(index), "index": index}
        for key, tensor in self.tensors.items():
            batch[key] = tensor[index]
        return batch

    def batches(self, perm, batch_size):
        """Yield the batch dicts of one epoch in the order of ``perm``.

        When ``X`` is a device tensor of moderate size, every tensor is
        gathered once per epoch and batches are contiguous views (one gather
        per tensor per epoch instead of one per batch).
        """
        n = len(perm)
        gather_once = (
            isinstance(self.X, torch.Tensor)
            and self.n_samples * self.n_features * self.X.element_size()
            <= _EPOCH_GATHER_LIMIT_BYTES
        )
        if not gather_once:
            for start in range(0, n, batch_size):
                yield self.batch(perm[start : start + batch_size])
            return
        epoch = {"X": self._X_rows(perm), "index": perm}
        for key, tensor in self.tensors.items():
            epoch[key] = tensor[perm]
        for start in range(0, n, batch_size):
            stop = start + batch_size
            yield {key: tensor[start:stop] for key, tensor in epoch.items()}

    def full(self):
        """All rows as one dict (a sparse X is left as is)."""
        X = self.X
        if self.rows is not None:
            X = X[self.rows] if isinstance(X, torch.Tensor) else X[self.rows.numpy()]
        return {"X": X, **self.tensors}
