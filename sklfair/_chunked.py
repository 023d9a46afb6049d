"""Fair fits over chunks: the streaming plumbing the meta-estimators share.

A meta-estimator's ``fit_chunks`` reads its chunks more than once, one chunk
in memory at a time, under the one sensitive-attribute policy of
:mod:`sklfair._sensitive`:

- :func:`check_chunk_source` refuses what cannot be read twice (a
  generator: the counting pass would exhaust it);
- :func:`check_held_out` checks held-out chunks before training (their
  columns and groups), so that a mistake in them is not found only by the
  pass that measures the gaps after hours of training;
- :func:`read_chunk` turns one raw chunk into the inner estimator's input,
  its targets, weights and group labels (the sensitive columns selected,
  binned with fixed cut points and dropped as in ``fit``);
- :func:`scan_chunks` is the counting pass: the groups and classes seen, the
  rows of positive weight per group (the policy's size rules), the weighted
  count of every (group, class) cell and, on request, a uniform sample of the
  training rows; :class:`ChunkScan` holds what it found and gives every later
  chunk's rows their fit-time group codes;
- :func:`stream_rates` sums a fitted model's group rates over chunks (no
  row kept), for the claim on the training chunks and the gap on held-out
  chunks.

A chunk is what :class:`~sklfair.nets.ParquetChunks` yields, an ``(X, y)`` or
``(X, y, sample_weight)`` tuple, or a dict with keys ``"X"``, ``"y"`` and
optionally ``"sample_weight"`` and ``"sensitive_features"`` (the group labels
of its rows, when they are not columns of ``X``).
"""

from __future__ import annotations

import collections.abc
import os
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    column_or_1d,
    validate_data,
)

from sklfair._sensitive import (
    MAX_GROUPS,
    check_group_sizes,
    encode_groups,
    resolve_sensitive,
)
from sklfair.exceptions import (
    ContinuousSensitiveAttributeWarning,
    SensitiveAttributeError,
    UnseenGroupWarning,
)
from sklfair.nets._chunks import rewind

__all__ = [
    "Chunk",
    "ChunkScan",
    "check_chunk_source",
    "check_held_out",
    "iter_chunks",
    "read_chunk",
    "scan_chunks",
    "stream_rates",
]


def check_chunk_source(chunks, owner, why, *, once=False, source=None):
    """Refuse what is not a chunk source, and, unless it is read ``once``, a
    one-shot iterator (``why`` says which passes read it); start the fit's
    passes over a :class:`~sklfair.nets.ParquetChunks` from the first.
    ``source`` names the parameter in the messages (None: the training
    chunks)."""
    if not (
        callable(chunks) or isinstance(chunks, collections.abc.Iterable)
    ) or isinstance(chunks, (str, bytes, os.PathLike)):
        what = "" if source is None else f" {source}="
        raise TypeError(
            f"{owner}.fit_chunks takes{what} an iterable of (X, y[, sample_weight]) "
            "chunks, a callable returning such an iterator, or a ParquetChunks; "
            f"got {type(chunks).__name__}. For a parquet path use "
            "ParquetChunks(path, target=...)."
        )
    rewind(chunks)
    if not once and isinstance(chunks, collections.abc.Iterator):
        raise ValueError(
            f"{owner}.fit_chunks reads the chunks more than once ({why}), but got "
            f"a one-shot iterator ({type(chunks).__name__}), which can be read "
            "once. Pass a list, a ParquetChunks, or a callable that returns a "
            "fresh iterator (e.g. lambda: my_generator(...))."
        )


def iter_chunks(chunks):
    """The raw chunks of one pass over ``chunks``."""
    return iter(chunks() if callable(chunks) else chunks)


class Chunk(NamedTuple):
    """One chunk as the meta-estimators see it (see :func:`read_chunk`)."""

    X: object
    X_model: object
    y: np.ndarray
    sample_weight: np.ndarray | None
    groups: pd.Series | None
    #: Cut points of the binned sensitive columns.
    cut_points: dict


def _explicit_points(bins):
    """Columns whose cut points ``sensitive_bins`` gives (not quantiles)."""
    if not isinstance(bins, dict):
        return set()
    return {
        column
        for column, spec in bins.items()
        if not isinstance(spec, (int, np.integer))
    }


def _chunk_name(position, source):
    """How the messages name a chunk: ``Chunk 3`` (of the training chunks)
    or ``validation_chunks, chunk 3``."""
    return f"Chunk {position}" if source is None else f"{source}, chunk {position}"


def read_chunk(estimator, chunk, position, *, bins=None, groups=True, source=None):
    """One raw chunk as input, targets, weights and group labels.

    Parameters
    ----------
    estimator : FairMetaEstimator
        Its ``sensitive_columns``, ``drop_sensitive`` and ``sensitive_bins``
        apply.
    chunk : tuple or dict
    position : int
        The chunk's position in the pass, for the messages.
    bins : dict or None
        The cut points of binned columns (``sensitive_bins_`` once known);
        None: the estimator's ``sensitive_bins``, which must give the cut
        points of a column to bin (quantiles need every row at once).
    groups : bool, default=True
        Whether to read the group labels (else the columns are only dropped).
    source : str or None, default=None
        The parameter the chunk comes from, e.g. ``"validation_chunks"``,
        named in the messages; None: the training chunks.
    """
    from sklfair.nets._chunks import unpack_chunk

    X, y, sample_weight = unpack_chunk(
        _user_chunk(chunk, position),
        position if source is None else f"{position} of {source}",
    )
    features = (
        chunk.get("sensitive_features")
        if isinstance(chunk, collections.abc.Mapping)
        else None
    )
    owner = type(estimator).__name__
    try:
        if _num_samples(X) != _num_samples(y):
            raise ValueError(
                f"X has {_num_samples(X)} rows but y has {_num_samples(y)}."
            )
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight,
                y,
                dtype=np.float64,
                ensure_non_negative=True,
                allow_all_zero_weights=True,
            )
        if not groups:
            return Chunk(X, estimator._drop_sensitive(X), y, sample_weight, None, {})
        asked = getattr(estimator, "sensitive_bins", None) if bins is None else bins
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ContinuousSensitiveAttributeWarning)
            X_model, labels, cut_points = resolve_sensitive(
                X,
                sensitive_columns=estimator.sensitive_columns,
                sensitive_features=features,
                drop_sensitive=estimator.drop_sensitive,
                max_groups=MAX_GROUPS,
                min_groups=1,
                bins=asked,
                return_bins=True,
            )
        quantiles = sorted(set(cut_points) - _explicit_points(asked))
        if quantiles:
            raise SensitiveAttributeError(
                f"{owner}.fit_chunks reads one chunk at a time, so it cannot cut "
                f"the continuous sensitive column(s) {quantiles} into quantile "
                "bins (the quantiles of every row are not known); give their cut "
                f"points, e.g. sensitive_bins={{{quantiles[0]!r}: [25, 60]}}."
            )
        for warning in caught:  # other warnings pass through unchanged
            if not issubclass(warning.category, ContinuousSensitiveAttributeWarning):
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
    except ValueError as exc:
        raise type(exc)(f"{_chunk_name(position, source)}: {exc}") from exc
    if labels is None:
        raise SensitiveAttributeError(
            f"{owner}.fit_chunks needs the groups of every chunk: give "
            "sensitive_columns= naming columns of the chunks' X, or chunks as "
            "dicts with a 'sensitive_features' key."
        )
    return Chunk(X, X_model, y, sample_weight, labels, cut_points)


def _user_chunk(chunk, position):
    """A user's dict chunk without its group labels (for ``unpack_chunk``)."""
    if isinstance(chunk, collections.abc.Mapping) and "sensitive_features" in chunk:
        return {k: v for k, v in chunk.items() if k != "sensitive_features"}
    return chunk


def _width(X):
    return X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None


class ChunkScan:
    """What the counting pass found (see :func:`scan_chunks`).

    Attributes
    ----------
    labels : ndarray of shape (n_groups,)
        The group labels, sorted as :func:`~sklfair._sensitive.encode_groups`
        sorts them (the codes of an in-memory fit on the same rows).
    name : str or None
        Name of the sensitive attribute.
    sizes : ndarray of int of shape (n_groups,)
        Rows of positive weight in each group.
    classes : ndarray of shape (n_classes,)
        The class labels, sorted.
    counts : ndarray of shape (n_groups, n_classes)
        Weighted count of every (group, class) cell.
    n_rows : int
        Rows read.
    n_chunks : int
        Chunks read.
    head : array-like
        The first two rows of the first chunk's ``X`` (they fix the
        features).
    sample : dict or None
        A uniform sample of the rows of positive weight: ``"X_in"`` (as
        given), ``"X"`` (the inner estimator's input), ``"y"``,
        ``"sample_weight"`` and ``"codes"``.
    cut_points : dict
        Cut points of the binned sensitive columns.
    """

    def codes_of(self, groups, position, *, strict=True):
        """The fit-time codes of a chunk's group labels (-1: unseen)."""
        codes = self._index.get_indexer(np.asarray(groups, dtype=object))
        if strict and (codes < 0).any():
            unseen = pd.unique(np.asarray(groups, dtype=object)[codes < 0])
            raise SensitiveAttributeError(
                f"Chunk {position} has group(s) {unseen[:5].tolist()} that the "
                "counting pass did not see: the chunks changed between passes. "
                "Pass a source that yields the same rows on every pass."
            )
        return codes


def scan_chunks(
    estimator,
    chunks,
    *,
    classes=None,
    sample_size=0,
    random_state=None,
    bins=None,
    groups=True,
):
    """The counting pass over ``chunks`` (see the module docstring).

    Parameters
    ----------
    estimator : FairMetaEstimator
    chunks : re-iterable chunk source
    classes : array-like or None
        The class labels; None: those seen.
    sample_size : int, default=0
        Size of the uniform sample of rows of positive weight to keep.
    random_state : int, RandomState or None
        Seeds the sample.
    bins : dict or None
        See :func:`read_chunk`.
    groups : bool, default=True
        Whether the fit uses groups (else ``labels`` is None and the
        sample's ``"codes"`` too).

    Returns
    -------
    scan : ChunkScan
    """
    owner = type(estimator).__name__
    rng = check_random_state(random_state)
    uniques, seen_classes, cells = [], {}, collections.Counter()
    sizes = collections.Counter()
    n_rows, head, width, reservoir, name = 0, None, None, None, None
    cut_points = {}
    for position, raw in enumerate(iter_chunks(chunks)):
        chunk = read_chunk(estimator, raw, position, bins=bins, groups=groups)
        del raw
        try:  # here, not when a sample of the rows reaches the network
            _check_no_missing(chunk.X_model)
        except ValueError as exc:
            raise ValueError(f"Chunk {position}: {exc}") from exc
        if not groups:  # one group: the rows' counts only
            chunk = chunk._replace(groups=pd.Series(np.zeros(len(chunk.y), int)))
        if head is None:
            head, width = _safe_indexing(chunk.X, slice(0, 2)), _width(chunk.X)
            name, cut_points = chunk.groups.name, chunk.cut_points
        elif _width(chunk.X) != width:
            raise ValueError(
                f"Chunk {position} has {_width(chunk.X)} columns; the first chunk "
                f"has {width}."
            )
        n = len(chunk.y)
        n_rows += n
        weight = np.ones(n) if chunk.sample_weight is None else chunk.sample_weight
        local_groups = chunk.groups.drop_duplicates()
        uniques.append(local_groups)
        group_codes, group_labels = encode_groups(chunk.groups)
        class_labels, class_codes = np.unique(chunk.y, return_inverse=True)
        positive = weight > 0
        cell = group_codes * len(class_labels) + class_codes
        mass = np.bincount(
            cell, weights=weight, minlength=len(group_labels) * len(class_labels)
        )
        rows = np.bincount(group_codes[positive], minlength=len(group_labels))
        for g, label in enumerate(group_labels):
            sizes[label] += int(rows[g])
            for k, value in enumerate(class_labels):
                seen_classes.setdefault(value, None)
                amount = mass[g * len(class_labels) + k]
                if amount:
                    cells[label, value] += float(amount)
        if sample_size:
            reservoir = _reservoir(reservoir, chunk, positive, sample_size, rng)
    if head is None:
        raise ValueError(f"{owner}.fit_chunks: the chunks yielded no chunk.")
    _, labels = encode_groups(pd.concat(uniques, ignore_index=True).drop_duplicates())
    size_of = np.array([sizes[label] for label in labels], dtype=np.int64)
    if groups:
        check_group_sizes(labels, size_of, name=name, owner=owner, stacklevel=5)
    found = np.unique(np.asarray(list(seen_classes)))
    if classes is None:
        classes = found
    else:
        classes = np.asarray(classes)
        missing = np.setdiff1d(found, classes)
        if missing.size:
            raise ValueError(
                f"The chunks have the class label(s) {missing[:5].tolist()}, which "
                f"are not in classes={classes.tolist()}."
            )
    counts = np.array(
        [[cells.get((g, c), 0.0) for c in classes] for g in labels], dtype=np.float64
    )
    scan = ChunkScan()
    scan.labels, scan.name, scan.sizes = labels, name, size_of
    scan.classes, scan.counts, scan.n_rows = classes, counts, n_rows
    scan.n_chunks = position + 1
    scan.head, scan.cut_points = head, cut_points
    scan._index = pd.Index(np.asarray(labels, dtype=object))
    scan.sample = None
    if reservoir is not None:
        X, y, w, labels_of_rows, _ = reservoir
        scan.sample = {
            "X_in": X,
            "X": estimator._drop_sensitive(X),
            "y": y,
            "sample_weight": w,
            "codes": scan.codes_of(labels_of_rows, "sample") if groups else None,
        }
    if not groups:
        scan.labels = scan.sizes = None
    return scan


def _reservoir(reservoir, chunk, positive, size, rng):
    """Keep the ``size`` rows of smallest random key among those seen."""
    rows = np.flatnonzero(positive)
    keys = rng.random_sample(len(rows))
    if reservoir is not None and len(reservoir[4]) >= size:
        below = keys < reservoir[4].max()
        rows, keys = rows[below], keys[below]
    weight = (
        np.ones(len(chunk.y)) if chunk.sample_weight is None else chunk.sample_weight
    )
    part = (
        _safe_indexing(chunk.X, rows),
        chunk.y[rows],
        weight[rows],
        np.asarray(chunk.groups, dtype=object)[rows],
        keys,
    )
    if reservoir is not None:
        part = tuple(_stack(a, b) for a, b in zip(reservoir, part, strict=True))
    keys = part[4]
    if len(keys) > size:
        keep = np.sort(np.argpartition(keys, size - 1)[:size])
        part = tuple(_safe_indexing(a, keep) for a in part)
    if isinstance(part[0], pd.DataFrame):
        part = (part[0].reset_index(drop=True), *part[1:])
    return part


def _stack(a, b):
    if isinstance(a, pd.DataFrame):
        return pd.concat([a, b], ignore_index=True)
    if sp.issparse(a):
        return sp.vstack([a, b], format="csr")
    return np.concatenate([a, b])


def check_held_out(estimator, chunks, scan, *, source="validation_chunks"):
    """Check held-out chunks before training, as far as one cheap look allows.

    The pass that measures the gaps on held-out chunks comes after the
    training, so a mistake in them (a chunk that is no ``(X, y)``, a wrong
    or missing column, the sensitive column missing or with missing values,
    ``X`` and ``y`` of different lengths, no row of a fitted group) would
    otherwise be found only then. What is read here is already in memory or
    small: every chunk of a list or tuple (in memory already), only the
    first chunk of a :class:`~sklfair.nets.ParquetChunks` or a callable
    (read again by the measuring pass, which still checks every chunk), and
    nothing of a one-shot iterator (it would have to be held through the
    training).

    Parameters
    ----------
    estimator : FairMetaEstimator
        After the counting pass of the training chunks (its
        ``feature_names_in_`` and ``n_features_in_`` are set).
    chunks : chunk source
    scan : ChunkScan
        The counting pass of the training chunks.
    source : str, default="validation_chunks"
        The parameter named in the messages.
    """
    if isinstance(chunks, collections.abc.Iterator):
        return
    if isinstance(chunks, (list, tuple)):
        raws = chunks
    else:  # one chunk of a reader or a callable, read again later
        raws = [next(iter_chunks(chunks), None)]
        rewind(chunks)
        if raws[0] is None:
            raise ValueError(
                f"{type(estimator).__name__}.fit_chunks: {source} yielded no chunk."
            )
    known = False
    for position, raw in enumerate(raws):
        chunk = read_chunk(estimator, raw, position, source=source)
        try:
            validate_data(
                estimator,
                _safe_indexing(chunk.X, slice(0, 2)),
                reset=False,
                accept_sparse=estimator._accept_sparse(),
                dtype=None,
                ensure_all_finite=False,
            )
            _check_no_missing(chunk.X_model)
        except ValueError as exc:
            raise type(exc)(f"{_chunk_name(position, source)}: {exc}") from exc
        known = known or bool((scan.codes_of(chunk.groups, 0, strict=False) >= 0).any())
    if raws is chunks and not known:
        raise ValueError(
            f"{type(estimator).__name__}.fit_chunks: {source} have no row of a "
            f"group seen in the training chunks ({list(scan.labels)[:5]}), so "
            "no gap can be measured on them."
        )


def _check_no_missing(X):
    """Refuse missing values in a chunk's model input, naming the columns
    (the sklfair nets, the only ones that train on chunks, refuse them)."""
    advice = (
        "the network cannot take them: impute them (e.g. in the transform of "
        "a ParquetChunks) or drop those rows."
    )
    if isinstance(X, pd.DataFrame):
        counts = X.isna().sum()
        bad = counts[counts > 0]
        if len(bad):
            raise ValueError(
                f"X has missing values (NaN or None) in column(s) "
                f"{bad.index[:5].tolist()} ({int(bad.sum())} in all); {advice}"
            )
        return
    values = X.data if sp.issparse(X) else np.asarray(X)
    if values.dtype.kind in "fc" and np.isnan(values).any():
        raise ValueError(f"X has missing values (NaN); {advice}")


def stream_rates(
    estimator, chunks, constraints, predict, *, labels, classes, source=None
):
    """Each constraint's rate sums over ``chunks`` for a fitted model.

    Reads every chunk once: the model's decisions on it (one-hot, in the
    order of ``classes``; ``predict`` maps the inner estimator's input to
    class labels) and its rows' group codes (rows of a group unseen
    at fit are left out, with an
    :class:`~sklfair.exceptions.UnseenGroupWarning`), then adds the
    numerators and denominators of ``constraint.rates``. ``source`` names
    the chunks' parameter in the messages (None: the training chunks).

    Returns
    -------
    sums : list of (numerator, denominator)
        Per constraint, arrays of shape ``(n_events, n_groups)``.
    n_rows : int
        Rows read.
    """
    index = pd.Index(np.asarray(labels, dtype=object))
    owner = type(estimator).__name__
    what = "the chunks" if source is None else source
    sums, n_rows, unseen = None, 0, 0
    for position, raw in enumerate(iter_chunks(chunks)):
        chunk = read_chunk(estimator, raw, position, source=source)
        del raw
        codes = index.get_indexer(np.asarray(chunk.groups, dtype=object))
        y_codes = np.searchsorted(classes, chunk.y)
        known = codes >= 0
        known &= (y_codes < len(classes)) & (
            classes[np.minimum(y_codes, len(classes) - 1)] == chunk.y
        )
        unseen += int((~known).sum())
        if not known.any():
            continue
        try:
            predicted = np.searchsorted(classes, predict(chunk.X_model))
        except ValueError as exc:  # e.g. a column missing, renamed or with NaN
            raise type(exc)(f"{_chunk_name(position, source)}: {exc}") from exc
        decisions = np.eye(len(classes))[predicted[known]]
        weight = None if chunk.sample_weight is None else chunk.sample_weight[known]
        part = [
            constraint.rates(
                y_codes[known], decisions, codes[known], weight, n_groups=len(labels)
            )
            for constraint in constraints
        ]
        n_rows += int(known.sum())
        if sums is None:
            sums = [(np.array(num), np.array(den)) for num, den in part]
        else:
            for (num, den), (n, d) in zip(sums, part, strict=True):
                num += n
                den += d
    if unseen:
        warnings.warn(
            f"{owner}: {unseen} row(s) of {what} have a group or class not "
            f"seen at fit; the gaps measured on {what} leave them out.",
            UnseenGroupWarning,
            stacklevel=3,
        )
    if sums is None:
        raise ValueError(
            f"{owner}: {what} have no row of a fitted group and class (the "
            f"groups are {list(labels)[:5]}, the classes "
            f"{list(classes)})."
        )
    return sums, n_rows
