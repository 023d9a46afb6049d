"""Selecting and dropping the sensitive columns of ``X``.

``sensitive_columns=`` names columns of ``X`` by name, integer position, a list
of them, a boolean mask, or a callable ``X -> groups``.
:func:`select_sensitive_columns` returns them as a DataFrame and
:func:`drop_sensitive_columns` returns ``X`` without them, in the same
container type. Columns of a numpy array or sparse matrix are named by their
integer position, as ``pandas.DataFrame(X)`` would name them. Integer
selectors are always positions and strings are always names, as in
:class:`~sklearn.compose.ColumnTransformer`.

Turning the selected columns into groups, and the rules about them, live in
:mod:`sklfair._sensitive`.
"""

from __future__ import annotations

import difflib
import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import _num_samples

from sklfair.exceptions import SensitiveAttributeError

__all__ = [
    "as_frame",
    "column_positions",
    "select_sensitive_columns",
    "drop_sensitive_columns",
]


#: what pandas infers for an object array of plain values only (no rows)
_FLAT = frozenset(
    "string bytes integer floating mixed-integer-float decimal complex boolean "
    "categorical datetime64 datetime date timedelta64 timedelta time period "
    "interval empty".split()
)


def as_frame(values, *, name):
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
                raise SensitiveAttributeError(
                    f"{name} must be rectangular (one row per sample): {exc}"
                ) from None
        # only an object array can hold nested rows (a numeric one cannot);
        # pandas tells plain strings or numbers apart without a Python loop
        if (
            array.ndim == 1
            and array.dtype == object
            and pd.api.types.infer_dtype(array, skipna=True) not in _FLAT
            and any(isinstance(v, list | tuple | np.ndarray) for v in array)
        ):
            raise SensitiveAttributeError(
                f"{name} must be rectangular: its rows have different lengths."
            )
        if array.ndim == 1:
            frame = pd.Series(array).to_frame(name=name)
        elif array.ndim == 2:
            frame = pd.DataFrame(
                [list(row) for row in values] if array.dtype == object else array
            )
        else:
            raise SensitiveAttributeError(
                f"{name} must be 1D or 2D, got an array of shape {array.shape}."
            )
    if frame.shape[0] == 0:
        raise SensitiveAttributeError(f"{name} is empty: it needs one value per row.")
    if frame.shape[1] == 0:
        raise SensitiveAttributeError(f"{name} has no columns.")
    return frame


# --------------------------------------------------------------------------
# sensitive_columns=: selecting and dropping columns of X
# --------------------------------------------------------------------------


def _n_features(X):
    shape = getattr(X, "shape", None)
    if shape is None:
        X = np.asarray(X, dtype=object)
        shape = X.shape
    if len(shape) != 2:
        raise SensitiveAttributeError(
            f"X must be 2D (n_samples, n_features) to select sensitive columns, "
            f"got shape {tuple(shape)}."
        )
    return shape[1]


def _describe_columns(columns, limit=20):
    shown = ", ".join(repr(c) for c in columns[:limit])
    if len(columns) > limit:
        shown += f", ... ({len(columns) - limit} more)"
    return f"[{shown}]"


def column_positions(X, sensitive_columns):
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
                raise SensitiveAttributeError(
                    f"sensitive_columns: index {key} is out of range for X with "
                    f"{n_features} columns."
                )
            return int(key) % n_features
        if isinstance(key, str):
            if names is None:
                raise SensitiveAttributeError(
                    f"sensitive_columns: column {key!r} is given by name, but X "
                    f"({type(X).__name__}) has no column names; use integer "
                    "positions, or pass a DataFrame."
                )
            matches = [i for i, col in enumerate(names) if col == key]
            if not matches:
                close = difflib.get_close_matches(key, [str(c) for c in names], n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise SensitiveAttributeError(
                    f"sensitive_columns: column {key!r} is not in X.{hint} "
                    f"Available columns: {_describe_columns(names)}."
                )
            if len(matches) > 1:
                raise SensitiveAttributeError(
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
            raise SensitiveAttributeError(
                "sensitive_columns is empty: select at least one column."
            )
        if all(isinstance(k, bool | np.bool_) for k in keys):
            if len(keys) != n_features:
                raise SensitiveAttributeError(
                    f"sensitive_columns: the boolean mask has {len(keys)} entries, "
                    f"but X has {n_features} columns."
                )
            positions = [i for i, k in enumerate(keys) if k]
            if not positions:
                raise SensitiveAttributeError(
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


def _columnsas_frame(X, positions):
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
    sklfair.exceptions.SensitiveAttributeError: sensitive_columns: column 'sexe' \
is not in X. Did you mean 'sex'? Available columns: ['income', 'sex'].
    """
    if callable(sensitive_columns):
        return _call_selector(X, sensitive_columns)
    return _columnsas_frame(X, column_positions(X, sensitive_columns))


def _call_selector(X, selector):
    n_samples = _num_samples(X)
    result = selector(X)
    default = getattr(selector, "__name__", "")
    default = default if default.isidentifier() else "groups"
    frame = as_frame(result, name=default)
    if frame.shape[0] != n_samples:
        raise SensitiveAttributeError(
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
    positions = column_positions(X, sensitive_columns)
    n_features = _n_features(X)
    keep = [i for i in range(n_features) if i not in set(positions)]
    if not keep:
        raise SensitiveAttributeError(
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
