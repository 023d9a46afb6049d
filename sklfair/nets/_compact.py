"""Compacting the training rows of a fit: an index into ``X``, nothing copied.

Rows with zero weight are dropped and identical rows (same features, target,
group and soft target) are merged into one row carrying the sum of their
weights. This is an exact rewrite of the weighted loss, so integer weight
``k`` is the same training set as ``k`` repeated rows, bit for bit, and
zero-weight rows never take a batch slot. The result is an index into the
rows of ``X`` in a canonical order (by row hash), so two data sets holding
the same weighted rows give identical training tensors whatever their order.

Rows are grouped by a fast 64-bit hash of their bytes and compared
exactly before they merge. Different rows can share a hash (one-hot data
often do: their words hold few distinct bit patterns); such runs are split
by the rows' content, ordered by their bytes, so the order stays canonical.

Memory: besides ``X`` and the per-row columns (read in slabs, never
copied) compaction holds two arrays of one number per row (the hashes, the
sort order, sorted in place), freed on return (the order becomes the
result); merging duplicates takes a few more, and rows whose hashes
collide a copy of their bytes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._data import as_positions

__all__ = ["compact_rows"]

# Rows hashed (or compared) at a time.
_HASH_SLAB_ROWS = 8192


def _row_hashes(X):
    """64-bit hash of every row of a dense or sparse matrix (exact bytes)."""
    if sp.issparse(X):
        # a copy: canonicalising a CSR matrix changes its arrays in place,
        # and they may be the caller's
        X = sp.csr_array(X, copy=True)
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
    # with equal bytes get equal hashes. Unequal rows can collide (a word
    # with few nonzero bits, as one-hot data have, keeps little of its
    # entropy); compact_rows compares the rows and splits such runs.
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


def _column_hash(column):
    """64-bit hash of every row of a 1-D or 2-D per-row array (the hash of
    pandas' ``hash_pandas_object`` over its columns, as since the first
    release: the canonical order, hence the training batches, stay as they
    were)."""
    column = np.asarray(column)
    frame = pd.DataFrame(column.reshape(len(column), -1), copy=False)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _mix_column_hash(hashes, column, keep):
    """Mix the hash of every row of a per-row ``column`` (of the rows
    ``keep``; all when None) into ``hashes``, in place, slab by slab: the
    hashing's temporaries hold one slab, not a few arrays of every row."""
    for start in range(0, len(hashes), _HASH_SLAB_ROWS):
        stop = start + _HASH_SLAB_ROWS
        part = column[start:stop] if keep is None else column[keep[start:stop]]
        out = hashes[start:stop]
        out *= np.uint64(1000003)
        out ^= _column_hash(part)


def _run_starts(hashes, order):
    """Whether each position of the sorted ``hashes[order]`` starts a run of
    equal hashes, compared slab by slab (no sorted copy of the hashes)."""
    first = np.empty(len(order), dtype=bool)
    first[:1] = True
    for start in range(1, len(order), _HASH_SLAB_ROWS):
        stop = start + _HASH_SLAB_ROWS
        slab = hashes[order[start - 1 : stop]]  # with the row before the slab
        np.not_equal(slab[1:], slab[:-1], out=first[start:stop])
    return first


def _order_runs(order, first):
    """Sort the positions within every run of equal hashes, in place: the
    order a stable sort gives. Runs of one row are left alone; the others
    are sorted a slab of them at a time."""
    starts = np.flatnonzero(first)
    lengths = np.diff(np.append(starts, len(order)))
    several = np.flatnonzero(lengths > 1)
    for chunk in range(0, len(several), _HASH_SLAB_ROWS):
        runs = several[chunk : chunk + _HASH_SLAB_ROWS]
        size = lengths[runs]
        run = np.repeat(np.arange(len(runs)), size)
        # the positions in ``order`` of the rows of these runs
        offset = np.cumsum(size) - size
        where = np.arange(size.sum()) + np.repeat(starts[runs] - offset, size)
        rows = order[where]
        order[where] = rows[np.lexsort((rows, run))]


def compact_rows(X, columns, sample_weight, *, squares=False):
    """Drop zero-weight rows and merge identical rows, summing their weights.

    Nothing of ``X`` is copied: the result is an index into its rows.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    columns : list of ndarray
        Per-row arrays that must also be equal for rows to merge (target,
        group codes, soft targets); 1-D or 2-D with ``n_samples`` rows.
    sample_weight : ndarray of shape (n_samples,) or None
        None: every row has weight 1 (no array of ones is made).
    squares : bool, default=False
        Also return the summed squared weights of the merged rows, which a
        statistic of the original rows needs (Kish's effective size: merged
        rows are frequency weights, not sampling weights).

    Returns
    -------
    rows : ndarray of int32 (int64 when ``X`` has 2**31 rows or more)
        The rows to train on, one per group of identical rows, in a canonical
        order (sorted by row hash) so that two data sets holding the same
        weighted rows give identical tensors whatever their original order.
    sample_weight : ndarray of float64 or None
        The summed weight of each of ``rows``; None when every row has
        weight 1 (``sample_weight`` was None and no rows merged).
    squared_weight : ndarray of float64 or None
        Only with ``squares=True``: the summed squared weight of each of
        ``rows``; None when no rows merged (the squares of the weights).
    """
    keep = None
    if sample_weight is not None:
        positive = sample_weight > 0
        keep = None if positive.all() else np.flatnonzero(positive)
        del positive
        if keep is not None and len(keep) == 0:
            return (keep, sample_weight[keep]) + ((None,) if squares else ())

    # row hashes do not depend on the other rows: hash X whole (no copy of
    # the kept rows), then keep the kept rows' hashes
    hashes = _row_hashes(X)
    if keep is not None:
        hashes = hashes[keep]
    for c in columns:
        _mix_column_hash(hashes, np.asarray(c), keep)
    # the order of a stable sort: the first row of each run of equal hashes
    # is the first occurrence, and the weights of a run add up in the rows'
    # order. Sorted in place (a stable sort's buffer takes half as much
    # again as the order), then the rows of each run put back in order.
    order = np.argsort(hashes)
    first = _run_starts(hashes, order)  # the first row of each run
    del hashes
    if not first.all():
        _order_runs(order, first)

    def original(index):  # positions among the kept rows -> rows of X
        return as_positions(index if keep is None else keep[index], X.shape[0])

    if sample_weight is None:
        weight = None
    else:
        weight = sample_weight if keep is None else sample_weight[keep]
    unmerged = () if not squares else (None,)
    if first.all():  # no duplicates: only the canonical order
        weight = None if weight is None else weight[order]
        return (original(order), weight) + unmerged
    starts = np.flatnonzero(first)
    if weight is None:
        weight = np.ones(len(order))
    # Guard against hash collisions: merged rows must really be equal. Only
    # the rows that would merge into their run's first row are compared.
    run = np.repeat(starts, np.diff(np.append(starts, len(order))))
    later = np.flatnonzero(~first)
    rows, representatives = original(order[later]), original(order[run[later]])
    equal = _rows_equal_each(X, rows, representatives)
    for c in columns:
        c = np.asarray(c)
        same = c[rows] == c[representatives]
        equal &= same.reshape(len(rows), -1).all(axis=1)
    del rows, representatives
    if not equal.all():
        # rows of different content share a hash: their runs are split by
        # content (the rest stays as it is)
        colliding = np.isin(run, run[later[~equal]])
        _split_runs(X, columns, order, first, run, colliding, original)
        starts = np.flatnonzero(first)
    del first, run, later, equal
    ordered = weight[order]
    merged = np.add.reduceat(ordered, starts)
    if not squares:
        return original(order[starts]), merged
    return original(order[starts]), merged, np.add.reduceat(ordered**2, starts)


def _rows_equal_each(X, a, b):
    """Whether row ``a[i]`` of ``X`` equals row ``b[i]``, for every ``i``."""
    if sp.issparse(X):
        X = sp.csr_array(X)
    equal = np.empty(len(a), dtype=bool)
    for s in range(0, len(a), _HASH_SLAB_ROWS):
        part = slice(s, s + _HASH_SLAB_ROWS)
        if sp.issparse(X):
            differ = (X[a[part]] != X[b[part]]).sum(axis=1)
            equal[part] = np.asarray(differ).ravel() == 0
        else:
            equal[part] = (X[a[part]] == X[b[part]]).all(axis=1)
    return equal


def _content_keys(X, columns, rows):
    """The bytes of each of ``rows`` of ``X`` and of the per-row
    ``columns``, one comparable (void) value a row: equal keys, equal rows."""
    if sp.issparse(X):
        dense = sp.csr_array(X)[rows].toarray()
    else:
        dense = np.asarray(X[rows])
    parts = [dense] + [np.asarray(c)[rows] for c in columns]
    parts = [
        np.ascontiguousarray(part.reshape(len(rows), -1)).view(np.uint8)
        for part in parts
    ]
    keys = np.ascontiguousarray(np.concatenate(parts, axis=1))
    return keys.view(np.dtype((np.void, keys.shape[1]))).ravel()


def _split_runs(X, columns, order, first, run, colliding, original):
    """Split the runs of equal hashes marked ``colliding`` (positions in the
    sorted order) by the rows' content, in place: within such a run the
    rows go by their bytes (a canonical order), then by position, and each
    distinct content starts a run of its own in ``first``."""
    where = np.flatnonzero(colliding)
    _, content = np.unique(
        _content_keys(X, columns, original(order[where])), return_inverse=True
    )
    content = content.ravel()
    # by run, then content; ties (equal rows) keep their order: by position
    by = np.lexsort((content, run[where]))
    order[where] = order[where][by]
    run_of, content = run[where][by], content[by]
    first[where[1:]] = (run_of[1:] != run_of[:-1]) | (content[1:] != content[:-1])
