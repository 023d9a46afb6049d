"""Group labels from sensitive columns: bins, intersections, integer codes.

The mechanics under the policy of :mod:`sklfair._sensitive`: cutting a
numeric column into quantile bins or at given cut points (``_bin_frame``,
with the policy's warning for a continuous column nobody said how to bin),
turning one or several columns into one label per row
(``_groups_from_frame``: intersectional labels such as ``"sex=F, age=<25"``),
and labels into the integer codes the networks and metrics use
(:func:`encode_groups`). :mod:`sklfair._sensitive` decides when each applies.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd

from sklfair.exceptions import (
    ContinuousSensitiveAttributeWarning,
    SensitiveAttributeError,
)

__all__ = ["DEFAULT_BINS", "encode_groups", "integer_codes", "plain_value"]

#: Quantile bins of a continuous column that the policy bins without being told.
DEFAULT_BINS = 4

_SEPARATOR = ", "


def plain_value(value):
    """A numpy scalar as the Python value (``1``, ``'f'``), for messages:
    ``repr`` then shows ``1`` rather than ``np.int64(1)``."""
    return value.item() if isinstance(value, np.generic) else value


def _is_numeric(column):
    return pd.api.types.is_numeric_dtype(column.dtype) and not (
        pd.api.types.is_bool_dtype(column.dtype)
    )


def _as_float(column):
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _quantile_points(values, q):
    """Cut points of ``q`` quantile bins: unique, and below the maximum (a
    point at the maximum would leave its upper bin empty). When every
    quantile is the maximum (most rows share it), the one cut point is the
    largest value below it: two bins rather than none."""
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.empty(0)
    points = np.unique(np.quantile(values, np.arange(1, q) / q, method="inverted_cdf"))
    top = values.max()
    points = points[points < top]
    if points.size == 0 and np.any(values < top):
        points = np.array([values[values < top].max()])
    return points


def _bin_labels(points):
    for digits in (6, 17):
        shown = [f"{p:.{digits}g}" for p in points]
        if len(set(shown)) == len(shown):
            break
    labels = [f"<={shown[0]}"]
    labels += [f"({a}, {b}]" for a, b in zip(shown[:-1], shown[1:], strict=True)]
    return labels + [f">{shown[-1]}"]


def _cut(column, points):
    """A numeric column as the categorical of its bins (NaN stays missing)."""
    values = _as_float(column)
    codes = np.searchsorted(points, values, side="left")
    codes[np.isnan(values)] = -1
    binned = pd.Categorical.from_codes(codes, categories=_bin_labels(points))
    return pd.Series(binned, index=column.index, name=column.name)


def _check_points(points, label):
    try:
        points = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        points = None
    if (
        points is None
        or points.ndim != 1  # a scalar (4.0, True) is neither a count nor points
        or points.size == 0
        or not np.all(np.isfinite(points))
    ):
        raise SensitiveAttributeError(
            f"sensitive_bins for {label} must be a number of quantile bins (an "
            "int >= 2) or finite, increasing cut points such as [25, 60]."
        )
    if np.any(np.diff(points) <= 0):
        raise SensitiveAttributeError(
            f"The cut points for {label} must increase strictly, got {points.tolist()}."
        )
    return points


def _bin_frame(frame, bins, *, max_groups, name):
    """Cut the numeric columns of ``frame`` that ``bins`` (or the policy) bins.

    Returns the frame (a copy when a column was cut) and a dict of the cut
    points of every column cut.
    """
    if bins is False:
        return frame, {}
    per_column = bins if isinstance(bins, dict) else {}
    unknown = [c for c in per_column if c not in set(frame.columns)]
    if unknown:
        raise SensitiveAttributeError(
            f"sensitive_bins names {unknown}, which are not among the sensitive "
            f"columns {list(frame.columns)}."
        )
    quantiles = (
        bins
        if isinstance(bins, numbers.Integral) and not isinstance(bins, bool)
        else None
    )
    if quantiles is not None and quantiles < 2:
        raise SensitiveAttributeError(
            f"sensitive_bins={quantiles}: at least 2 bins are needed."
        )
    cut_points, unasked = {}, []
    for position, column_name in enumerate(frame.columns):
        column = frame.iloc[:, position]
        label = name if column_name == name else f"column {column_name!r} of {name}"
        spec = None
        if column_name in per_column:
            spec = per_column[column_name]
            if not _is_numeric(column):
                raise SensitiveAttributeError(
                    f"sensitive_bins cuts numeric columns only; {label} is "
                    f"{column.dtype}."
                )
        elif _is_numeric(column):
            n_values = _n_distinct(column)
            if quantiles is not None:
                spec = quantiles if n_values > quantiles else None
            elif max_groups is not None and n_values > max_groups:
                spec = DEFAULT_BINS
                unasked.append((column_name, label, n_values))
        if spec is None:
            continue
        if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
            if spec < 2:
                raise SensitiveAttributeError(
                    f"sensitive_bins={spec} for {label}: at least 2 bins are needed."
                )
            points = _quantile_points(_as_float(column), int(spec))
        else:
            points = _check_points(spec, label)
        if points.size == 0:
            continue  # all values equal (or missing): nothing to cut
        if not cut_points:
            frame = frame.copy()
        frame.isetitem(position, _cut(column, points))
        cut_points[column_name] = points
    if unasked:
        described = "; ".join(
            f"{label} ({n_values} distinct values) into "
            f"{_bin_labels(cut_points[column_name])}"
            for column_name, label, n_values in unasked
            if column_name in cut_points
        )
        warnings.warn(
            f"A sensitive attribute looks continuous (more than max_groups="
            f"{max_groups} distinct values), so it was cut into {DEFAULT_BINS} "
            f"quantile bins: {described}. Say how to bin it with "
            "sensitive_bins= (a number of quantile bins, or cut points such as "
            "[25, 60]), or measure and bound the dependence on the attribute "
            "itself without bins (sklfair.metrics.hsic_dependence, "
            "sklfair.constraints.Independence).",
            ContinuousSensitiveAttributeWarning,
            stacklevel=5,
        )
    return frame, cut_points


# Integer values counted and coded at a time (see _small_range_counts).
_COUNT_ROWS = 2**13


def _small_range_counts(values):
    """``(low, counts)``: how many times each integer ``low + k`` occurs in
    ``values``, counted slab by slab (no hash table nor sorted copy of every
    row, as ``nunique`` and ``factorize`` make); None for values that are
    not 1-D integers (or booleans) of a small range."""
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "biu":
        return None
    if values.ndim != 1 or len(values) == 0:
        return None
    low, high = int(values.min()), int(values.max())
    if high > np.iinfo(np.int64).max or high - low > max(len(values), 2**16):
        return None  # sparse values (hashing costs less), or beyond int64
    counts = np.zeros(high - low + 1, dtype=np.int64)
    for start in range(0, len(values), _COUNT_ROWS):
        slab = values[start : start + _COUNT_ROWS].astype(np.int64) - low
        counts += np.bincount(slab, minlength=len(counts))
    return low, counts


def _n_distinct(column):
    """``column.nunique()``, counted without a hash table for integers of a
    small range."""
    counted = _small_range_counts(column.to_numpy())
    if counted is None:
        return column.nunique()
    return int(np.count_nonzero(counted[1]))


def integer_codes(values):
    """``np.unique(values, return_inverse=True)`` of 1-D integer (or boolean)
    values of a small range, counted and coded slab by slab through a lookup
    table: only the codes are made, not the sorted copy, sort order or hash
    table of every row that ``np.unique`` or ``pd.factorize`` hold. None for
    other values.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair._group_labels import integer_codes
    >>> uniques, codes = integer_codes(np.array([7, 3, 7]))
    >>> uniques.tolist(), codes.tolist()
    ([3, 7], [1, 0, 1])
    >>> integer_codes(np.array(["a", "b"])) is None
    True
    """
    counted = _small_range_counts(values)
    if counted is None:
        return None
    low, counts = counted
    present = counts > 0
    lookup = np.cumsum(present) - 1
    codes = np.empty(len(values), dtype=np.int64)
    for start in range(0, len(values), _COUNT_ROWS):
        slab = values[start : start + _COUNT_ROWS].astype(np.int64) - low
        codes[start : start + _COUNT_ROWS] = lookup[slab]
    return (np.flatnonzero(present) + low).astype(values.dtype), codes


def _column_codes(column):
    """Sorted integer codes and the sorted unique values of one column."""
    if isinstance(column.dtype, np.dtype):  # e.g. int64, not pandas' Int64
        coded = integer_codes(column.to_numpy())
        if coded is not None:  # what pd.factorize(column, sort=True) gives
            uniques, codes = coded
            return codes, pd.Index(uniques)
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.cat.remove_unused_categories()
        return np.asarray(column.cat.codes, dtype=np.int64), column.cat.categories
    try:
        codes, uniques = pd.factorize(column, sort=True)
    except TypeError:  # values of types that do not compare (e.g. 1 and "a")
        codes, uniques = pd.factorize(column, sort=False)
        order = np.argsort([f"{type(u).__name__}:{u}" for u in uniques], kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        codes, uniques = rank[codes], uniques[order]
    return np.asarray(codes, dtype=np.int64), uniques


def _escape(value):
    return str(value).replace("\\", "\\\\").replace(",", "\\,")


def _groups_from_frame(frame, *, max_groups, min_groups, name):
    columns = list(frame.columns)
    codes, uniques = [], []
    for position, column_name in enumerate(columns):
        column = frame.iloc[:, position]
        label = name if column_name == name else f"column {column_name!r} of {name}"
        missing = np.asarray(pd.isna(column))
        if missing.any():
            rows = np.flatnonzero(missing)
            shown = ", ".join(str(r) for r in rows[:5])
            more = f" and {rows.size - 5} more" if rows.size > 5 else ""
            raise SensitiveAttributeError(
                f"{label} has {rows.size} missing value(s) (NaN or None), at "
                f"row position(s) {shown}{more}. Every row needs a group: fill "
                "them, e.g. with an explicit 'unknown' group, or drop those rows."
            )
        column_codes, column_uniques = _column_codes(column)
        n_values = len(column_uniques)
        if max_groups is not None and n_values > max_groups:
            target = "values" if column_name == name else f"X[{column_name!r}]"
            if pd.api.types.is_numeric_dtype(column.dtype) and not (
                pd.api.types.is_bool_dtype(column.dtype)
            ):
                hint = (
                    "It looks continuous: bin it into a few groups first, e.g. "
                    "with sensitive_bins= (a number of quantile bins, or cut "
                    f"points) or pd.cut({target}, bins=[0, 25, 60, 120]) for an "
                    "age, or raise max_groups."
                )
            else:
                hint = "Merge rare values into fewer groups, or raise max_groups."
            raise SensitiveAttributeError(
                f"{label} has {n_values} distinct values, more than "
                f"max_groups={max_groups}. {hint}"
            )
        codes.append(column_codes)
        uniques.append(column_uniques)

    if len(columns) == 1:
        groups = frame.iloc[:, 0]
        if isinstance(groups.dtype, pd.CategoricalDtype):
            groups = groups.cat.remove_unused_categories()
        # a new Series (its name is set below), sharing the values
        groups = groups.copy(deep=False)
        n_groups = len(uniques[0])
        series_name = columns[0]
    else:
        stacked = np.column_stack(codes)
        combos, inverse = np.unique(stacked, axis=0, return_inverse=True)
        labels = [
            _SEPARATOR.join(
                f"{_escape(col)}={_escape(values[code])}"
                for col, values, code in zip(columns, uniques, combo, strict=True)
            )
            for combo in combos
        ]
        if len(set(labels)) != len(labels):
            raise SensitiveAttributeError(
                f"{name}: two different combinations of values in columns "
                f"{columns} print the same label (e.g. 1 and '1' in one column); "
                "make each column's values distinct as strings."
            )
        groups = pd.Series(
            pd.Categorical.from_codes(inverse.reshape(-1), categories=labels),
            index=frame.index,
        )
        n_groups = len(labels)
        series_name = _SEPARATOR.join(str(c) for c in columns)
    if n_groups < min_groups:
        found = ", ".join(repr(str(u)) for u in pd.unique(np.asarray(groups)))
        where = f"{name} {series_name!r}" if series_name != name else name
        raise SensitiveAttributeError(
            f"{where} has only {n_groups} group(s) ({found}); a fairness measure "
            f"needs at least {min_groups}. Check that the right column was "
            "chosen and that the data were not filtered to one group."
        )
    groups.name = series_name
    return groups


def encode_groups(groups):
    """Encode group labels as integer codes ``0 .. n_groups - 1``.

    Codes follow the sorted order of the labels: the categories' order for a
    categorical (unused categories dropped), otherwise the order of
    :func:`numpy.unique` (values of types that do not compare are ordered by
    type name, then text). So ``labels[codes]`` gives the groups back.

    Parameters
    ----------
    groups : array-like or Series of shape (n_samples,)
        Group labels, e.g. from :func:`check_sensitive_features`.

    Returns
    -------
    codes : ndarray of int64 of shape (n_samples,)
        The group code of each row.
    labels : ndarray of shape (n_groups,)
        The label of each code, sorted.

    Raises
    ------
    ValueError
        When ``groups`` is not one-dimensional or holds missing values.

    Examples
    --------
    >>> from sklfair._sensitive import encode_groups
    >>> codes, labels = encode_groups(["m", "f", "m"])
    >>> codes
    array([1, 0, 1])
    >>> labels
    array(['f', 'm'], dtype=object)
    """
    if isinstance(groups, pd.DataFrame):
        if groups.shape[1] != 1:
            raise SensitiveAttributeError(
                "encode_groups needs one label per row; combine several columns "
                "with check_sensitive_features first."
            )
        groups = groups.iloc[:, 0]
    if not isinstance(groups, pd.Series):
        array = groups if isinstance(groups, np.ndarray) else None
        if array is None:
            array = np.asarray(groups, dtype=object)
            groups = list(groups) if array.ndim == 1 else groups
        if array.ndim != 1:
            raise SensitiveAttributeError(
                f"encode_groups needs a 1D array of labels, got shape {array.shape}."
            )
        groups = pd.Series(groups)
    if np.asarray(pd.isna(groups)).any():
        raise SensitiveAttributeError(
            "encode_groups: the group labels contain missing values."
        )
    codes, uniques = _column_codes(groups)
    return codes, np.asarray(uniques)
