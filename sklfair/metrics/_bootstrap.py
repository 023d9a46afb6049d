"""A vectorized, stratified bootstrap of per-group weighted sums.

Every rate and group mean that :mod:`sklfair.metrics` puts an interval on is a
ratio of two sums over a group's rows (``sum w v / sum w``). Resampling the
rows of each group with replacement (keeping each group's size: a stratified
bootstrap) therefore only changes how many times each row is counted, and the
resampled sums are ``counts @ row_values``. Rows with the same values are
interchangeable, so they are merged into *atoms* first: an unweighted binary
rate has two atoms per group (the 0s and the 1s), and one resample of a group
is then a single multinomial draw of the atoms' counts -- no row is ever
materialised, whatever the number of rows. Groups with many distinct atoms
(continuous values or weights) draw row indices instead, in chunks, and count
them with :func:`numpy.bincount`. The same counts, for statistics that are
not sums of rows (a Gini coefficient, a KS statistic), come one chunk of
resamples at a time from :func:`resample_row_counts`.

Nothing here knows about labels, models or metrics.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = ["as_generator", "resample_group_sums", "resample_row_counts"]

# Groups with at most this many distinct rows are resampled by multinomial
# draws of the atoms' counts; others by drawing row indices.
_MAX_ATOMS = 64
# Largest number of drawn indices held at once on the index path.
_CHUNK_ELEMENTS = 1 << 21


def as_generator(random_state):
    """A :class:`numpy.random.Generator` from a scikit-learn ``random_state``.

    None gives fresh entropy; an int seeds the generator; a
    :class:`~numpy.random.RandomState` seeds it from its next draw (so a
    seeded RandomState still gives reproducible results); a Generator is
    used as it is.
    """
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise ValueError(
        "random_state must be None, an int, a numpy RandomState or Generator, "
        f"got {random_state!r}."
    )


def _atoms(codes, values, n_groups):
    """Distinct (group, values) rows and how many rows each stands for.

    Hashes (:func:`pandas.factorize`) one column at a time into a key that
    stays below the number of rows, instead of sorting whole rows.
    """
    key = np.asarray(codes, dtype=np.int64)
    for j in range(values.shape[1]):
        column_codes, uniques = pd.factorize(values[:, j])
        key, _ = pd.factorize(key * len(uniques) + column_codes)
    counts = np.bincount(key)
    first = np.empty(counts.size, dtype=np.int64)
    first[key[::-1]] = np.arange(key.size - 1, -1, -1)
    return np.asarray(codes, dtype=np.int64)[first], values[first], counts


def _multinomial_sums(atom_codes, atom_values, atom_counts, groups, n_boot, rng):
    """Resampled sums of the given groups, by multinomial counts of their atoms."""
    n_values = atom_values.shape[1]
    sizes, pvals, padded = [], [], []
    width = max(int(np.sum(atom_codes == g)) for g in groups)
    for g in groups:
        mine = atom_codes == g
        counts = atom_counts[mine].astype(np.float64)
        n = counts.sum()
        p = np.zeros(width)
        p[: counts.size] = counts / n
        v = np.zeros((width, n_values))
        v[: counts.size] = atom_values[mine]
        sizes.append(int(n))
        pvals.append(p)
        padded.append(v)
    draws = rng.multinomial(
        np.asarray(sizes), np.asarray(pvals), size=(n_boot, len(groups))
    )
    return np.einsum("bga,gaq->bgq", draws, np.asarray(padded), optimize=True)


def _row_count_chunks(n_rows, n_boot, rng):
    """``(start, stop, counts)``: how often each of ``n_rows`` rows is drawn in
    resamples ``start:stop`` (with replacement, ``n_rows`` draws each), a
    chunk of resamples at a time."""
    chunk = max(1, _CHUNK_ELEMENTS // n_rows)
    for start in range(0, n_boot, chunk):
        stop = min(start + chunk, n_boot)
        size = stop - start
        index = rng.integers(0, n_rows, size=(size, n_rows))
        index += (np.arange(size) * n_rows)[:, None]
        counts = np.bincount(index.ravel(), minlength=size * n_rows)
        yield start, stop, counts.reshape(size, n_rows)


def _index_sums(values, n_boot, rng):
    """Resampled sums of one group's rows, by drawing row indices in chunks."""
    out = np.empty((n_boot, values.shape[1]))
    for start, stop, counts in _row_count_chunks(values.shape[0], n_boot, rng):
        out[start:stop] = counts @ values
    return out


def resample_row_counts(codes, n_groups, n_boot, rng, *, chunk_rows=_CHUNK_ELEMENTS):
    """Stratified resamples as row counts, a chunk of resamples at a time.

    For statistics that are not sums over rows (ranks, maxima), a resample
    is given by how many times it draws each row: passed as (a factor of)
    ``sample_weight``, the counts make a weighted statistic the statistic
    of the resampled rows. Each group keeps its number of rows, drawn with
    replacement from its own rows, as in :func:`resample_group_sums`.

    Parameters
    ----------
    codes : ndarray of int of shape (n_rows,)
        The group of each row, in ``[0, n_groups)``.
    n_groups : int
        Number of groups.
    n_boot : int
        Number of resamples.
    rng : numpy.random.Generator
    chunk_rows : int
        Largest number of counts (resamples times rows) yielded at once.

    Yields
    ------
    start, stop : int
        The resamples of this chunk.
    counts : ndarray of int of shape (stop - start, n_rows)
        How many times each row is drawn in each of these resamples.
    """
    codes = np.asarray(codes, dtype=np.int64)
    n_rows = codes.size
    members = [np.flatnonzero(codes == g) for g in range(n_groups)]
    chunk = max(1, chunk_rows // max(n_rows, 1))
    for start in range(0, n_boot, chunk):
        stop = min(start + chunk, n_boot)
        counts = np.zeros((stop - start, n_rows), dtype=np.int64)
        for rows in members:
            if rows.size:
                for low, high, part in _row_count_chunks(rows.size, stop - start, rng):
                    counts[low:high, rows] = part
        yield start, stop, counts


def resample_group_sums(codes, values, n_groups, n_boot, rng):
    """Sums of ``values`` over each group's rows, in stratified resamples.

    Parameters
    ----------
    codes : ndarray of int of shape (n_rows,)
        The group of each row, in ``[0, n_groups)``.
    values : ndarray of float of shape (n_rows, n_values)
        What to sum, per row (e.g. ``[w, w * v]``).
    n_groups : int
        Number of groups; a group with no row gets sums of 0.
    n_boot : int
        Number of resamples.
    rng : numpy.random.Generator

    Returns
    -------
    sums : ndarray of shape (n_boot, n_groups, n_values)
        In each resample, every group has as many rows as in the data, drawn
        with replacement from its own rows.
    """
    values = np.asarray(values, dtype=np.float64)
    sums = np.zeros((n_boot, n_groups, values.shape[1]))
    if values.shape[0] == 0:
        return sums
    atom_codes, atom_values, atom_counts = _atoms(codes, values, n_groups)
    n_atoms = np.bincount(atom_codes, minlength=n_groups)
    few = [g for g in range(n_groups) if 0 < n_atoms[g] <= _MAX_ATOMS]
    many = [g for g in range(n_groups) if n_atoms[g] > _MAX_ATOMS]
    if few:
        sums[:, few] = _multinomial_sums(
            atom_codes, atom_values, atom_counts, few, n_boot, rng
        )
    for g in many:
        sums[:, g] = _index_sums(values[codes == g], n_boot, rng)
    return sums
