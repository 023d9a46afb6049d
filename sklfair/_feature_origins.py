"""Which original column each transformed column comes from.

:func:`feature_origins` follows a fitted transformer -- a
:class:`~sklearn.compose.ColumnTransformer`, a
:class:`~sklearn.pipeline.Pipeline` of transformers, or any transformer with
``get_feature_names_out`` -- from its output columns back to its input
columns, so that what is said about transformed columns (attributions,
monotone constraints) can be said about the columns a user knows. Only public
scikit-learn API is used: ``transformers_``, ``output_indices_`` and
``get_feature_names_out``.

Inside a ``ColumnTransformer``, each sub-transformer's outputs are matched to
its own inputs: all of them to the one input when it has one input
(``OneHotEncoder`` on one column, a binned or spline-expanded column), one to
one when the output names are the input names (scalers, imputers, ordinal or
target encoders), and otherwise by name, an output ``"<input>_<suffix>"``
coming from ``<input>`` (``OneHotEncoder`` and ``KBinsDiscretizer`` on
several columns). An output built from several inputs (``PolynomialFeatures``
interactions, ``PCA``) has no single origin and is reported as ``-1``.
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

__all__ = ["feature_origins", "input_names"]


def input_names(X):
    """Column names of ``X``: a DataFrame's names, else ``x0, x1, ...``."""
    columns = getattr(X, "columns", None)
    if columns is not None:
        return np.asarray([str(c) for c in columns], dtype=object)
    return np.asarray([f"x{i}" for i in range(X.shape[1])], dtype=object)


def feature_origins(transformer, input_features):
    """Output names of a fitted transformer and each output's input column.

    Parameters
    ----------
    transformer : fitted transformer, ``"passthrough"`` or None
        A ``ColumnTransformer``, a ``Pipeline`` of transformers, or any
        transformer with ``get_feature_names_out``.
    input_features : array-like of str
        Names of the transformer's input columns.

    Returns
    -------
    output_names : ndarray of str
        ``get_feature_names_out`` of the transformer.
    origins : ndarray of int
        For each output column, the position of its input column in
        ``input_features``; ``-1`` when it comes from several inputs.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> X = pd.DataFrame({"city": ["a", "b", "c"], "income": [1.0, 2.0, 4.0]})
    >>> ct = make_column_transformer(
    ...     (OneHotEncoder(), ["city"]), (StandardScaler(), ["income"])).fit(X)
    >>> names, origins = feature_origins(ct, X.columns)
    >>> [(str(n), int(o)) for n, o in zip(names, origins)]
    [('onehotencoder__city_a', 0), ('onehotencoder__city_b', 0), \
('onehotencoder__city_c', 0), ('standardscaler__income', 1)]
    """
    input_features = np.asarray([str(c) for c in input_features], dtype=object)
    if transformer is None or (
        isinstance(transformer, str) and transformer == "passthrough"
    ):
        return input_features.copy(), np.arange(len(input_features))
    if isinstance(transformer, Pipeline):
        names, origins = input_features, np.arange(len(input_features))
        for _, step in transformer.steps:
            names, step_origins = feature_origins(step, names)
            origins = np.where(step_origins >= 0, origins[step_origins], -1)
        return names, origins
    if isinstance(transformer, ColumnTransformer):
        return _column_transformer_origins(transformer, input_features)
    return _leaf_origins(transformer, input_features)


def _column_transformer_origins(ct, input_features):
    names = np.asarray(ct.get_feature_names_out(input_features), dtype=object)
    origins = np.full(len(names), -1)
    positions = np.arange(len(input_features))
    for name, trans, columns in ct.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        out = ct.output_indices_[name]
        if out.stop - out.start == 0:
            continue
        selected = _select(positions, input_features, columns)
        _, sub = feature_origins(trans, input_features[selected])
        if len(sub) != out.stop - out.start:  # pragma: no cover - defensive
            raise ValueError(
                f"Cannot follow the columns of {name!r}: it has "
                f"{out.stop - out.start} outputs but names {len(sub)}."
            )
        origins[out] = np.where(sub >= 0, selected[sub], -1)
    return names, origins


def _select(positions, input_features, columns):
    """Positions of a ColumnTransformer's column selection (names, ints, mask)."""
    if callable(columns):  # pragma: no cover - transformers_ holds them resolved
        raise TypeError("unresolved column selector")
    if isinstance(columns, str):
        columns = [columns]
    elif np.isscalar(columns):
        columns = [columns]
    if isinstance(columns, slice):
        return positions[columns]
    columns = np.asarray(columns)
    if columns.dtype == bool:
        return positions[columns]
    if columns.dtype.kind in "iu":
        return positions[columns]
    lookup = {name: i for i, name in enumerate(input_features)}
    return np.asarray([lookup[str(c)] for c in columns], dtype=int)


def _leaf_origins(transformer, input_features):
    try:
        names = transformer.get_feature_names_out(input_features)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{type(transformer).__name__} does not name its output columns "
            "(get_feature_names_out failed), so they cannot be traced back to "
            f"the input columns: {exc}"
        ) from exc
    names = np.asarray([str(n) for n in names], dtype=object)
    if len(input_features) == 1:
        return names, np.zeros(len(names), dtype=int)
    if list(names) == list(input_features):
        return names, np.arange(len(names))
    # longest input name that the output name starts with, as "<input>_..."
    order = sorted(range(len(input_features)), key=lambda i: -len(input_features[i]))
    origins = np.full(len(names), -1)
    for k, out in enumerate(names):
        for i in order:
            prefix = input_features[i]
            if out == prefix or out.startswith(prefix + "_"):
                origins[k] = i
                break
    return names, origins
