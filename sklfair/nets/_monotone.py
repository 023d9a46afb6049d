"""Monotone constraints of the tabular nets: reading ``monotonic_cst``.

The parameter follows scikit-learn's convention
(:class:`~sklearn.ensemble.HistGradientBoostingClassifier`): a sequence of
-1/0/1 with one entry per input column, or a dict from column name to -1/0/1
checked against ``feature_names_in_``. :func:`check_monotonic_cst` turns
either into one integer per input column. The network that obeys the
constraints is :class:`~sklfair.nets._modules.MonotoneMLP`.

In a Pipeline the net sees transformed columns; :func:`monotonic_cst_for`
states constraints given on the original columns for the output columns of
the fitted preprocessing.
"""

from __future__ import annotations

import numpy as np

from .._feature_origins import feature_origins

__all__ = ["check_monotonic_cst", "monotonic_cst_for"]


def monotonic_cst_for(transformer, monotonic_cst):
    """Monotone constraints on original columns, for a transformer's outputs.

    A net at the end of a Pipeline sees the preprocessing's output columns,
    not the columns of ``X``. This maps constraints stated on the original
    columns to the output columns they become, following a fitted
    ``ColumnTransformer`` (or ``Pipeline`` of transformers) through
    ``get_feature_names_out``. A constrained column must become exactly one
    output column: monotonicity in a one-hot-encoded category has no meaning.

    .. versionadded:: 0.1

    Parameters
    ----------
    transformer : fitted transformer
        The preprocessing in front of the net, fitted on the training data.
    monotonic_cst : dict of str to {-1, 0, 1}
        Constraints by original column name.

    Returns
    -------
    monotonic_cst : dict of str to int
        Constraints by output column name: pass them as the net's
        ``monotonic_cst`` and call ``set_output(transform="pandas")`` on the
        preprocessing so that the net receives those names (or build a list
        with ``[cst.get(name, 0) for name in transformer.get_feature_names_out()]``).

    See Also
    --------
    TabularNetClassifier : its ``monotonic_cst`` parameter.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> from sklfair.nets import monotonic_cst_for
    >>> X = pd.DataFrame({"city": ["a", "b"], "income": [1.0, 3.0]})
    >>> pre = make_column_transformer(
    ...     (OneHotEncoder(), ["city"]), (StandardScaler(), ["income"])).fit(X)
    >>> monotonic_cst_for(pre, {"income": -1})
    {'standardscaler__income': -1}
    """
    if not isinstance(monotonic_cst, dict):
        raise TypeError(
            "monotonic_cst_for takes a dict from original column name to "
            f"-1/0/1; got {type(monotonic_cst).__name__}."
        )
    inputs = getattr(transformer, "feature_names_in_", None)
    if inputs is None:
        raise ValueError(
            f"{type(transformer).__name__} was not fitted on a DataFrame, so "
            "its input columns have no names to state constraints on."
        )
    names, origins = feature_origins(transformer, inputs)
    inputs = [str(c) for c in inputs]
    unknown = sorted(str(c) for c in monotonic_cst if str(c) not in inputs)
    if unknown:
        raise ValueError(
            f"monotonic_cst names columns the transformer was not fitted on: {unknown}."
        )
    result = {}
    for column, value in monotonic_cst.items():
        if value not in (-1, 0, 1):
            raise ValueError(
                f"monotonic_cst[{column!r}] must be -1, 0 or 1; got {value!r}."
            )
        outputs = names[origins == inputs.index(str(column))]
        if value == 0:
            continue
        if len(outputs) != 1:
            raise ValueError(
                f"Column {column!r} becomes {len(outputs)} transformed columns "
                f"({list(outputs)[:5]}); a monotone constraint needs a column "
                "that stays one numeric column (e.g. scaled, not one-hot "
                "encoded)."
            )
        result[str(outputs[0])] = int(value)
    return result


def check_monotonic_cst(estimator, monotonic_cst):
    """One constraint in {-1, 0, 1} per input column of a fitted estimator.

    Call it after the data have set ``n_features_in_`` (and
    ``feature_names_in_``, which a dict needs).

    Parameters
    ----------
    estimator : estimator
        Has ``n_features_in_`` (and ``feature_names_in_`` for a dict).
    monotonic_cst : array-like of int or dict of str to int
        ``1`` increasing, ``-1`` decreasing, ``0`` free; a dict names only
        the constrained columns.

    Returns
    -------
    monotonic_cst : ndarray of int8 of shape (n_features_in_,)

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> est = SimpleNamespace(n_features_in_=3,
    ...                       feature_names_in_=np.array(["a", "b", "c"]))
    >>> check_monotonic_cst(est, {"c": -1})
    array([ 0,  0, -1], dtype=int8)
    """
    name = type(estimator).__name__
    n_features = estimator.n_features_in_
    if isinstance(monotonic_cst, dict):
        names = getattr(estimator, "feature_names_in_", None)
        if names is None:
            raise ValueError(
                f"{name} was not fitted on data with feature names, so "
                "monotonic_cst cannot name columns: pass a list of -1/0/1 with "
                "one entry per column, or fit on a DataFrame (in a Pipeline, "
                'call set_output(transform="pandas") on the preprocessing).'
            )
        unknown = sorted(str(k) for k in set(monotonic_cst) - set(names))
        if unknown:
            shown = unknown[:5] + (["..."] if len(unknown) > 5 else [])
            raise ValueError(
                f"monotonic_cst names {len(unknown)} column(s) that {name} was "
                f"not fitted on: {shown}. Known columns: {list(names)[:10]}"
                f"{' ...' if len(names) > 10 else ''}."
            )
        cst = np.zeros(n_features, dtype=np.int8)
        for i, column in enumerate(names):
            if column in monotonic_cst:
                value = monotonic_cst[column]
                if value not in (-1, 0, 1):
                    raise ValueError(
                        f"monotonic_cst[{column!r}] must be -1, 0 or 1; got {value!r}."
                    )
                cst[i] = value
        return cst
    values = np.asarray(monotonic_cst)
    if values.dtype.kind not in "biuf":
        raise ValueError(
            f"monotonic_cst must hold -1, 0 or 1; got values of dtype {values.dtype}."
        )
    if values.ndim != 1:
        raise ValueError(
            f"monotonic_cst must be a 1-D list of -1/0/1 or a dict; got an "
            f"array of shape {values.shape}."
        )
    unexpected = np.setdiff1d(values, [-1, 0, 1])
    if unexpected.size:
        raise ValueError(
            f"monotonic_cst must hold only -1, 0 or 1; got {unexpected.tolist()}."
        )
    if values.shape[0] != n_features:
        raise ValueError(
            f"monotonic_cst has {values.shape[0]} entries but X has "
            f"{n_features} columns."
        )
    return values.astype(np.int8)
