"""Selecting, validating and encoding sensitive features.

This module is the one place that turns the two ways of giving a sensitive
attribute (see ``DESIGN.md``) into group labels:

- ``sensitive_columns=`` -- columns of ``X`` chosen by name, integer position,
  a list of them, a boolean mask, or a callable ``X -> groups``
  (:func:`select_sensitive_columns`, :func:`drop_sensitive_columns`);
- ``sensitive_features=`` -- an array-like, Series or DataFrame given to
  ``fit``, a metric or a scorer (:func:`check_sensitive_features`).

:func:`resolve_sensitive` does both at once for a meta-estimator, and
:func:`encode_groups` turns labels into the integer codes the networks use.

Group labels
------------
One column keeps its raw values as labels (``"female"``, ``"male"``; a
categorical column keeps its categories' order and drops unused categories).
Several columns form *intersectional* groups, one label per combination of
values that occurs, written ``"<column>=<value>"`` and joined by ``", "``::

    "sex=female, age_band=<25"

in the order the columns were given. Such a result is an (unordered) pandas
categorical whose categories are sorted column by column: by the first
column's order (its categories' order for a categorical column, the values'
natural order otherwise), then the second's, and so on. Backslashes and
commas inside values are escaped with a backslash, so two different
combinations never share a label. The returned Series is named after the
column (several names are joined by ``", "``).

Columns of a numpy array or sparse matrix are named by their integer position,
as ``pandas.DataFrame(X)`` would name them. Integer selectors are always
positions and strings are always names, as in
:class:`~sklearn.compose.ColumnTransformer`.
"""

from __future__ import annotations

import difflib
import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import _num_samples

__all__ = [
    "MAX_GROUPS",
    "check_sensitive_features",
    "select_sensitive_columns",
    "drop_sensitive_columns",
    "resolve_sensitive",
    "encode_groups",
]

#: Default largest number of distinct values allowed in one sensitive column.
MAX_GROUPS = 20

_SEPARATOR = ", "


# --------------------------------------------------------------------------
# sensitive_features=: validation and intersectional labels
# --------------------------------------------------------------------------


def check_sensitive_features(
    sensitive_features,
    n_samples=None,
    *,
    max_groups=MAX_GROUPS,
    min_groups=2,
    name="sensitive_features",
):
    """Validate sensitive features and return one group label per row.

    Follows fairlearn's ``_validate_and_reformat_input``: the input is checked
    for length and dimension, and several columns are merged into one group
    key (see the module docstring for the label format).

    Parameters
    ----------
    sensitive_features : array-like, Series or DataFrame of shape \
            (n_samples,) or (n_samples, n_columns)
        Group membership of each row. Several columns form intersectional
        groups. Any hashable, non-missing values are allowed; bool and float
        columns with few distinct values are fine.
    n_samples : int, default=None
        Expected number of rows (usually ``_num_samples(X)``). Not checked
        when None.
    max_groups : int or None, default=20
        Largest number of distinct values allowed in one column. A column with
        more looks continuous (e.g. age in years): bin it first, for example
        with :func:`pandas.cut`. None disables the check.
    min_groups : int, default=2
        Smallest number of groups allowed. Fairness needs at least two; pass
        ``min_groups=1`` where a single group is legitimate (e.g. one test
        fold).
    name : str, default="sensitive_features"
        How the input is called in error messages, and the name of the
        returned Series when the input has no column names.

    Returns
    -------
    groups : pandas.Series of shape (n_samples,)
        The group labels. Its index is the input's index for a Series or
        DataFrame and a ``RangeIndex`` otherwise.

    Raises
    ------
    ValueError
        On a wrong number of rows, a missing value (NaN or None), a column
        with more than ``max_groups`` distinct values, or fewer than
        ``min_groups`` groups. The message names the column and the problem.
    TypeError
        When ``sensitive_features`` is a string, a scalar or a sparse matrix.

    See Also
    --------
    resolve_sensitive : Groups from either ``sensitive_columns`` or
        ``sensitive_features``.
    encode_groups : Integer codes for the labels.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfair._sensitive import check_sensitive_features
    >>> check_sensitive_features(["female", "male", "male"]).tolist()
    ['female', 'male', 'male']
    >>> A = pd.DataFrame({"sex": ["female", "male", "male"],
    ...                   "age_band": ["<25", "<25", ">=25"]})
    >>> groups = check_sensitive_features(A, n_samples=3)
    >>> groups.name
    'sex, age_band'
    >>> groups.tolist()
    ['sex=female, age_band=<25', 'sex=male, age_band=<25', 'sex=male, age_band=>=25']
    >>> check_sensitive_features([1, 2], n_samples=3)
    Traceback (most recent call last):
    ...
    ValueError: sensitive_features has 2 rows, but X has 3 samples.
    """
    frame = _as_frame(sensitive_features, name=name)
    if n_samples is not None and frame.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {frame.shape[0]} rows, but X has {n_samples} samples."
        )
    return _groups_from_frame(
        frame, max_groups=max_groups, min_groups=min_groups, name=name
    )


def _as_frame(values, *, name):
    """Any supported input as a DataFrame with at least one row and column."""
    if isinstance(values, str | bytes) or np.isscalar(values):
        raise TypeError(
            f"{name} must be array-like with one value per row, got "
            f"{values!r}. To pick columns of X by name, use sensitive_columns= "
            "instead."
        )
    if sp.issparse(values):
        raise TypeError(
            f"{name} must be dense (array-like, Series or DataFrame), got a "
            "sparse matrix."
        )
    if isinstance(values, pd.DataFrame):
        frame = values
    elif isinstance(values, pd.Series):
        frame = values.to_frame(name=name if values.name is None else values.name)
    elif isinstance(values, pd.Index | pd.Categorical):
        frame = pd.Series(values).to_frame(name=getattr(values, "name", None) or name)
    else:
        if not hasattr(values, "__len__") and not hasattr(values, "__array__"):
            raise TypeError(
                f"{name} must be array-like, a Series or a DataFrame, got "
                f"{type(values).__name__}."
            )
        if isinstance(values, np.ndarray):
            array = values
        else:
            try:
                array = np.asarray(values, dtype=object)
            except ValueError as exc:  # ragged nested lists
                raise ValueError(
                    f"{name} must be rectangular (one row per sample): {exc}"
                ) from None
        if array.ndim == 1 and any(
            isinstance(v, list | tuple | np.ndarray) for v in array
        ):
            raise ValueError(
                f"{name} must be rectangular: its rows have different lengths."
            )
        if array.ndim == 1:
            frame = pd.Series(list(values) if array.dtype == object else array)
            frame = frame.to_frame(name=name)
        elif array.ndim == 2:
            frame = pd.DataFrame(
                [list(row) for row in values] if array.dtype == object else array
            )
        else:
            raise ValueError(
                f"{name} must be 1D or 2D, got an array of shape {array.shape}."
            )
    if frame.shape[0] == 0:
        raise ValueError(f"{name} is empty: it needs one value per row.")
    if frame.shape[1] == 0:
        raise ValueError(f"{name} has no columns.")
    return frame


def _column_codes(column):
    """Sorted integer codes and the sorted unique values of one column."""
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
            raise ValueError(
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
                    f"pd.cut({target}, bins=[0, 25, 60, 120]) for an age, or raise "
                    "max_groups."
                )
            else:
                hint = "Merge rare values into fewer groups, or raise max_groups."
            raise ValueError(
                f"{label} has {n_values} distinct values, more than "
                f"max_groups={max_groups}. {hint}"
            )
        codes.append(column_codes)
        uniques.append(column_uniques)

    if len(columns) == 1:
        groups = frame.iloc[:, 0]
        if isinstance(groups.dtype, pd.CategoricalDtype):
            groups = groups.cat.remove_unused_categories()
        groups = groups.copy()
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
            raise ValueError(
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
        raise ValueError(
            f"{where} has only {n_groups} group(s) ({found}); a fairness measure "
            f"needs at least {min_groups}. Check that the right column was "
            "chosen and that the data were not filtered to one group."
        )
    groups.name = series_name
    return groups


# --------------------------------------------------------------------------
# sensitive_columns=: selecting and dropping columns of X
# --------------------------------------------------------------------------


def _n_features(X):
    shape = getattr(X, "shape", None)
    if shape is None:
        X = np.asarray(X, dtype=object)
        shape = X.shape
    if len(shape) != 2:
        raise ValueError(
            f"X must be 2D (n_samples, n_features) to select sensitive columns, "
            f"got shape {tuple(shape)}."
        )
    return shape[1]


def _describe_columns(columns, limit=20):
    shown = ", ".join(repr(c) for c in columns[:limit])
    if len(columns) > limit:
        shown += f", ... ({len(columns) - limit} more)"
    return f"[{shown}]"


def _column_positions(X, sensitive_columns):
    """Positions (list of int, in the given order, no duplicates) of a selector."""
    n_features = _n_features(X)
    names = list(X.columns) if isinstance(X, pd.DataFrame) else None

    def position_of(key):
        if isinstance(key, bool | np.bool_):
            raise TypeError(
                "sensitive_columns: a single boolean is not a selector; give a "
                "boolean mask with one entry per column of X."
            )
        if isinstance(key, numbers.Integral):
            if not -n_features <= key < n_features:
                raise ValueError(
                    f"sensitive_columns: index {key} is out of range for X with "
                    f"{n_features} columns."
                )
            return int(key) % n_features
        if isinstance(key, str):
            if names is None:
                raise ValueError(
                    f"sensitive_columns: column {key!r} is given by name, but X "
                    f"({type(X).__name__}) has no column names; use integer "
                    "positions, or pass a DataFrame."
                )
            matches = [i for i, col in enumerate(names) if col == key]
            if not matches:
                close = difflib.get_close_matches(key, [str(c) for c in names], n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"sensitive_columns: column {key!r} is not in X.{hint} "
                    f"Available columns: {_describe_columns(names)}."
                )
            if len(matches) > 1:
                raise ValueError(
                    f"sensitive_columns: X has {len(matches)} columns named {key!r}."
                )
            return matches[0]
        raise TypeError(
            "sensitive_columns entries must be column names (str) or integer "
            f"positions, got {key!r} of type {type(key).__name__}."
        )

    if isinstance(sensitive_columns, str | numbers.Integral | np.bool_ | bool):
        return [position_of(sensitive_columns)]
    if isinstance(sensitive_columns, list | tuple | np.ndarray | pd.Index | pd.Series):
        keys = list(np.asarray(sensitive_columns, dtype=object).reshape(-1))
        if len(keys) == 0:
            raise ValueError("sensitive_columns is empty: select at least one column.")
        if all(isinstance(k, bool | np.bool_) for k in keys):
            if len(keys) != n_features:
                raise ValueError(
                    f"sensitive_columns: the boolean mask has {len(keys)} entries, "
                    f"but X has {n_features} columns."
                )
            positions = [i for i, k in enumerate(keys) if k]
            if not positions:
                raise ValueError(
                    "sensitive_columns: the boolean mask selects no column."
                )
            return positions
        positions = []
        for key in keys:
            position = position_of(key)
            if position not in positions:
                positions.append(position)
        return positions
    raise TypeError(
        "sensitive_columns must be a column name, an integer position, a list of "
        "them, a boolean mask or a callable X -> groups, got "
        f"{type(sensitive_columns).__name__}."
    )


def _columns_as_frame(X, positions):
    if isinstance(X, pd.DataFrame):
        return X.iloc[:, positions]
    if sp.issparse(X):
        X = X if X.format in ("csr", "csc") else X.tocsc()
        values = X[:, positions].toarray()
    elif isinstance(X, np.ndarray):
        values = X[:, positions]
    else:  # list of rows: let pandas infer each column's dtype
        return pd.DataFrame([list(row) for row in X]).iloc[:, positions]
    return pd.DataFrame(values, columns=positions)


def select_sensitive_columns(X, sensitive_columns):
    """Return the sensitive columns of ``X`` as a DataFrame.

    Parameters
    ----------
    X : DataFrame, ndarray, sparse matrix or list of rows of shape \
            (n_samples, n_features)
        The data holding the sensitive columns.
    sensitive_columns : str, int, list, boolean mask or callable
        A column name (DataFrame only), an integer position (negative counts
        from the end), a list of names or positions, a boolean mask with one
        entry per column, or a callable ``X -> groups`` returning an array,
        Series or DataFrame with one row per sample.

    Returns
    -------
    columns : pandas.DataFrame of shape (n_samples, n_selected)
        The selected columns, in the order given. Columns of an array are
        named by their position. The index is ``X.index`` for a DataFrame.

    Raises
    ------
    ValueError
        For a name that is not a column of ``X`` (the message lists the
        available ones), a position out of range, a mask of the wrong length,
        an empty selection, or a callable whose result has the wrong length.
    TypeError
        For a selector of another type.

    See Also
    --------
    drop_sensitive_columns : ``X`` without those columns.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklfair._sensitive import select_sensitive_columns
    >>> X = pd.DataFrame({"income": [10, 20, 30], "sex": ["f", "m", "f"]})
    >>> select_sensitive_columns(X, "sex")
      sex
    0   f
    1   m
    2   f
    >>> select_sensitive_columns(np.array([[1, 0], [2, 1], [3, 1]]), [1])
       1
    0  0
    1  1
    2  1
    >>> select_sensitive_columns(X, "sexe")
    Traceback (most recent call last):
    ...
    ValueError: sensitive_columns: column 'sexe' is not in X. Did you mean 'sex'? \
Available columns: ['income', 'sex'].
    """
    if callable(sensitive_columns):
        return _call_selector(X, sensitive_columns)
    return _columns_as_frame(X, _column_positions(X, sensitive_columns))


def _call_selector(X, selector):
    n_samples = _num_samples(X)
    result = selector(X)
    default = getattr(selector, "__name__", "")
    default = default if default.isidentifier() else "groups"
    frame = _as_frame(result, name=default)
    if frame.shape[0] != n_samples:
        raise ValueError(
            f"sensitive_columns: the callable {default!r} returned "
            f"{frame.shape[0]} rows, but X has {n_samples} samples."
        )
    if isinstance(X, pd.DataFrame):
        frame = frame.set_axis(X.index, axis=0)
    return frame


def drop_sensitive_columns(X, sensitive_columns):
    """Return ``X`` without its sensitive columns, in the same container type.

    A DataFrame stays a DataFrame (with the remaining column names), an
    ndarray an ndarray, a sparse matrix a sparse matrix of the same format and
    a list of rows a list of rows. A callable selector drops nothing: ``X`` is
    returned as it is.

    Parameters
    ----------
    X : DataFrame, ndarray, sparse matrix or list of rows of shape \
            (n_samples, n_features)
        The data.
    sensitive_columns : str, int, list, boolean mask or callable
        As in :func:`select_sensitive_columns`.

    Returns
    -------
    X_model : same type as X, of shape (n_samples, n_features - n_selected)
        The data the inner estimator should see.

    Raises
    ------
    ValueError
        When every column of ``X`` would be dropped, or for a bad selector (as
        in :func:`select_sensitive_columns`).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklfair._sensitive import drop_sensitive_columns
    >>> X = pd.DataFrame({"income": [10, 20], "sex": ["f", "m"], "age": [30, 40]})
    >>> list(drop_sensitive_columns(X, ["sex"]).columns)
    ['income', 'age']
    >>> drop_sensitive_columns(np.arange(6).reshape(2, 3), [True, False, True])
    array([[1],
           [4]])
    """
    if callable(sensitive_columns):
        return X
    positions = _column_positions(X, sensitive_columns)
    n_features = _n_features(X)
    keep = [i for i in range(n_features) if i not in set(positions)]
    if not keep:
        raise ValueError(
            f"Dropping the sensitive columns {_selected_names(X, positions)} would "
            "leave X with no columns. Keep them with drop_sensitive=False, or add "
            "the model's features to X."
        )
    if isinstance(X, pd.DataFrame):
        return X.iloc[:, keep]
    if sp.issparse(X):
        fmt = X.format
        Xk = X if fmt in ("csr", "csc") else X.tocsc()
        return Xk[:, keep].asformat(fmt)
    if isinstance(X, np.ndarray):
        return X[:, keep]
    return [[row[i] for i in keep] for row in X]


def _selected_names(X, positions):
    if isinstance(X, pd.DataFrame):
        return _describe_columns([X.columns[i] for i in positions])
    return _describe_columns(positions)


# --------------------------------------------------------------------------
# Both ways at once
# --------------------------------------------------------------------------


def resolve_sensitive(
    X,
    *,
    sensitive_columns=None,
    sensitive_features=None,
    drop_sensitive=True,
    max_groups=MAX_GROUPS,
    min_groups=2,
):
    """Return the model's input and the group labels, from either source.

    Parameters
    ----------
    X : DataFrame, ndarray, sparse matrix or list of rows
        The data.
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        Sensitive columns of ``X`` (see :func:`select_sensitive_columns`).
    sensitive_features : array-like, Series or DataFrame, default=None
        Group labels given alongside ``X`` (see
        :func:`check_sensitive_features`).
    drop_sensitive : bool, default=True
        Whether to remove ``sensitive_columns`` from ``X_model``. Ignored for
        ``sensitive_features`` and for a callable selector.
    max_groups, min_groups : int
        Passed to :func:`check_sensitive_features`.

    Returns
    -------
    X_model : same type as X
        ``X``, without the sensitive columns when they were selected and
        ``drop_sensitive`` is True.
    groups : pandas.Series of shape (n_samples,) or None
        The group labels, indexed like ``X`` when it is a DataFrame; None when
        neither ``sensitive_columns`` nor ``sensitive_features`` was given.

    Raises
    ------
    ValueError
        When both ways are given, or for any problem that
        :func:`select_sensitive_columns` or :func:`check_sensitive_features`
        reports.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfair._sensitive import resolve_sensitive
    >>> X = pd.DataFrame({"income": [10, 20, 30], "sex": ["f", "m", "f"]})
    >>> X_model, groups = resolve_sensitive(X, sensitive_columns="sex")
    >>> list(X_model.columns), groups.tolist()
    (['income'], ['f', 'm', 'f'])
    >>> X_model, groups = resolve_sensitive(X, sensitive_features=[0, 1, 1])
    >>> list(X_model.columns), groups.tolist()
    (['income', 'sex'], [0, 1, 1])
    >>> resolve_sensitive(X)[1] is None
    True
    """
    if sensitive_columns is not None and sensitive_features is not None:
        raise ValueError(
            "Both sensitive_columns and sensitive_features were given; give the "
            "sensitive attribute one way only: sensitive_columns= to read it from "
            "the columns of X, or sensitive_features= to pass it alongside X."
        )
    if sensitive_columns is None and sensitive_features is None:
        return X, None
    n_samples = _num_samples(X)
    if sensitive_columns is not None:
        frame = select_sensitive_columns(X, sensitive_columns)
        groups = check_sensitive_features(
            frame,
            n_samples,
            max_groups=max_groups,
            min_groups=min_groups,
            name="sensitive_columns",
        )
        if drop_sensitive:
            X = drop_sensitive_columns(X, sensitive_columns)
        return X, groups
    groups = check_sensitive_features(
        sensitive_features, n_samples, max_groups=max_groups, min_groups=min_groups
    )
    if isinstance(X, pd.DataFrame):
        groups = groups.set_axis(X.index)
    return X, groups


# --------------------------------------------------------------------------
# Integer codes
# --------------------------------------------------------------------------


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
            raise ValueError(
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
            raise ValueError(
                f"encode_groups needs a 1D array of labels, got shape {array.shape}."
            )
        groups = pd.Series(groups)
    if np.asarray(pd.isna(groups)).any():
        raise ValueError("encode_groups: the group labels contain missing values.")
    codes, uniques = _column_codes(groups)
    return codes, np.asarray(uniques)
