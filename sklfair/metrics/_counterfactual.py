"""Counterfactual flip rate: how often a prediction changes with the sensitive value.

A sensitivity analysis for models that *see* the sensitive attribute: every
row is re-scored with its sensitive value replaced, all other features held
fixed, and the share of rows whose prediction changes is reported. A model
that never uses the attribute (e.g. a meta-estimator that drops it) scores 0.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

__all__ = ["counterfactual_flip_rate"]


def _bad_value(value, name, dtype):
    raise ValueError(
        f"{value!r} is not a valid value for column {name!r} of dtype {dtype}; "
        "with a categorical column, use one of its categories."
    )


def _get_column(X, column):
    """The column as a Series and a setter returning a copy of X with new values."""
    if isinstance(X, pd.DataFrame):
        if column in X.columns:
            position = X.columns.get_loc(column)
            if not isinstance(position, numbers.Integral):
                raise ValueError(f"X has several columns named {column!r}.")
        elif isinstance(column, numbers.Integral) and not isinstance(column, bool):
            if not -X.shape[1] <= column < X.shape[1]:
                raise ValueError(
                    f"column index {column} is out of range for X with "
                    f"{X.shape[1]} columns."
                )
            position = int(column) % X.shape[1]
        else:
            raise ValueError(
                f"column {column!r} is not in X. Available columns: "
                f"{list(X.columns)[:20]}."
            )
        values = X.iloc[:, position]

        def setter(new_values):
            new = pd.Series(new_values, index=X.index, name=values.name)
            dtype = values.dtype
            if isinstance(dtype, pd.CategoricalDtype):
                unknown = ~new.isin(dtype.categories) & new.notna()
                if unknown.any():
                    _bad_value(new[unknown].iloc[0], values.name, dtype)
            try:
                cast = new.astype(dtype)
            except (TypeError, ValueError):
                _bad_value(new[new.notna()].iloc[0], values.name, dtype)
            X_new = X.copy()
            X_new.isetitem(position, cast)
            return X_new

        return values.reset_index(drop=True), setter

    if sp.issparse(X):
        raise TypeError(
            "counterfactual_flip_rate needs dense X (a DataFrame or an array), "
            "got a sparse matrix."
        )
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"X must be 2D, got an array of shape {array.shape}.")
    if not isinstance(column, numbers.Integral) or isinstance(column, bool):
        raise ValueError(
            f"X is an array: give column as an integer position, got {column!r}."
        )
    if not -array.shape[1] <= column < array.shape[1]:
        raise ValueError(
            f"column index {column} is out of range for X with "
            f"{array.shape[1]} columns."
        )
    values = pd.Series(array[:, column])

    def setter(new_values):
        X_new = array.copy()
        X_new[:, column] = np.asarray(new_values, dtype=object).astype(array.dtype)
        return X_new

    return values, setter


def _changed(y_new, y_old):
    changed = np.asarray(y_new) != np.asarray(y_old)
    return changed.reshape(changed.shape[0], -1).any(axis=1)


def counterfactual_flip_rate(estimator, X, column, *, mapping=None):
    """Share of predictions that change when the sensitive column is swapped.

    Rule:

    - without ``mapping``, every row is re-scored once with each *other*
      value observed in the column, and a row counts as flipped when its
      prediction changes for at least one of them. For a binary column this
      is the plain swap of the two values;
    - with ``mapping`` (``{old: new}``), rows whose value is a key are
      re-scored once with the mapped value; the rate is over those rows only
      (e.g. ``{"male": "female"}`` asks how many men's decisions would change).

    Rows with a missing value in the column are left out. All other features
    are held fixed, so the rate measures the direct use of the attribute, not
    its proxies.

    .. versionadded:: 0.1

    Parameters
    ----------
    estimator : fitted estimator
        Anything with ``predict`` that takes ``X`` with the sensitive column
        in it (a pipeline or a meta-estimator that drops the column is fine:
        it then scores 0).
    X : DataFrame or array-like of shape (n_samples, n_features)
        The rows to re-score. DataFrame columns may be categorical (the
        replacement values must be categories of the column).
    column : str or int
        The sensitive column: a name, or an integer position (for arrays,
        and for DataFrames whose column names do not include it).
    mapping : dict, default=None
        Explicit replacements ``{old_value: new_value}``.

    Returns
    -------
    float
        The flip rate, in [0, 1].

    Raises
    ------
    ValueError
        For a column that does not exist, a column with fewer than two
        observed values (without ``mapping``), a mapping none of whose keys
        occur, or a replacement value the column cannot hold.
    TypeError
        For a sparse ``X`` or a ``mapping`` that is not a dict.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklfair.metrics import counterfactual_flip_rate
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    >>> y = np.array([0, 0, 1, 1])              # depends on column 0 only
    >>> tree = DecisionTreeClassifier(random_state=0).fit(X, y)
    >>> counterfactual_flip_rate(tree, X, 0)
    1.0
    >>> counterfactual_flip_rate(tree, X, 1)
    0.0
    >>> counterfactual_flip_rate(tree, X, 0, mapping={1: 0})
    1.0
    """
    check_is_fitted(estimator)
    if mapping is not None and not isinstance(mapping, dict):
        raise TypeError(
            f"mapping must be a dict {{old: new}}, got {type(mapping).__name__}."
        )
    values, setter = _get_column(X, column)
    present = values.notna().to_numpy()
    if not present.any():
        raise ValueError(f"column {column!r} holds only missing values.")
    as_object = values.astype(object).to_numpy()
    y_old = estimator.predict(X)

    if mapping is not None:
        in_mapping = present & values.isin(list(mapping)).to_numpy()
        if not in_mapping.any():
            raise ValueError(
                f"none of the mapping's keys {list(mapping)[:10]} occur in "
                f"column {column!r}."
            )
        new_values = as_object.copy()
        new_values[in_mapping] = [mapping[v] for v in as_object[in_mapping]]
        flipped = _changed(estimator.predict(setter(new_values)), y_old) & in_mapping
        return float(flipped.sum() / in_mapping.sum())

    observed = pd.unique(values[present])
    if len(observed) < 2:
        raise ValueError(
            f"column {column!r} holds a single value ({observed[0]!r}); there is "
            "no other value to swap it with."
        )
    flipped = np.zeros(len(values), dtype=bool)
    for value in observed:
        new_values = as_object.copy()
        others = present & (as_object != value)
        new_values[others] = value
        flipped |= _changed(estimator.predict(setter(new_values)), y_old) & others
    return float(flipped.sum() / present.sum())
