"""Proxies: the inputs that best predict the sensitive attribute.

:func:`proxy_report` measures, for every column of ``X``, how much it tells
about the sensitive attribute -- the cross-validated AUC of the attribute's
frequencies per value (per quantile bin for a numeric column) and their
mutual information -- and, over all columns together, the cross-validated
AUC of a gradient-boosting classifier. A reason code on a column that
predicts the attribute well may stand in for it.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import mutual_info_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import TargetEncoder
from sklearn.utils import check_random_state

from .._columns import column_positions
from .._feature_origins import input_names
from .._sensitive import check_sensitive_features, encode_groups

__all__ = ["proxy_report"]

JOINT = "(all columns)"


def proxy_report(
    X,
    sensitive_features,
    *,
    n_bins=10,
    cv=5,
    threshold=0.65,
    joint=True,
    random_state=None,
):
    """How well each input column predicts the sensitive attribute.

    For each column: the cross-validated AUC with which the column alone
    predicts the group (each row scored by its group's frequency among the
    other folds' rows with the same value, or in the same quantile bin for a
    numeric column: a cross-fitted :class:`~sklearn.preprocessing.TargetEncoder`),
    and the mutual information between the column (binned alike) and the
    group. With ``joint=True``, the first row gives the AUC of a
    :class:`~sklearn.ensemble.HistGradientBoostingClassifier` on all columns
    together: how recoverable the attribute is from the inputs at all, even
    when it is dropped from them.

    .. versionadded:: 0.1

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The model's inputs (numeric, categorical, object or bool columns).
    sensitive_features : array-like, Series, DataFrame, or column name(s)
        The sensitive attribute per row (several columns form
        intersectional groups), or the name(s) or position(s) of its
        column(s) in ``X``, which are then left out of the report.
    n_bins : int, default=10
        Quantile bins of a numeric column with more distinct values.
    cv : int, default=5
        Folds of the cross-fitting and of the joint classifier.
    threshold : float, default=0.65
        AUC from which a column is flagged as a proxy.
    joint : bool, default=True
        Add the all-columns row (fits ``cv`` gradient-boosting models).
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the joint classifier.

    Returns
    -------
    report : pandas.DataFrame
        One row per column, highest AUC first (after the all-columns row),
        with ``auc`` (one-vs-rest macro average for more than two groups),
        ``mutual_info`` (nats), ``mutual_info_share`` (the share of the
        attribute's entropy the column explains, from 0 to 1) and ``proxy``
        (``auc >= threshold``).

    See Also
    --------
    reason_parity : how often each reason is given per group.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklfair.explain import proxy_report
    >>> rng = np.random.RandomState(0)
    >>> sex = rng.choice(["f", "m"], 500)
    >>> X = pd.DataFrame({"height": rng.normal(170, 8, 500) + 10 * (sex == "m"),
    ...                   "income": rng.normal(3, 1, 500), "sex": sex})
    >>> report = proxy_report(X, "sex", joint=False, random_state=0)
    >>> report.index.tolist()
    ['height', 'income']
    >>> report["proxy"].tolist()
    [True, False]
    """
    if not isinstance(n_bins, numbers.Integral) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2; got {n_bins!r}.")
    if isinstance(X, pd.DataFrame):
        frame = X
    else:
        X = np.asarray(X)
        frame = pd.DataFrame(X, columns=input_names(X))
    if _names_columns(sensitive_features, X):
        positions = column_positions(X, sensitive_features)
        groups = frame.iloc[:, positions]
        frame = frame.drop(columns=frame.columns[positions])
    else:
        groups = sensitive_features
    labels = check_sensitive_features(groups, len(frame), max_groups=None, min_groups=2)
    codes, group_names = encode_groups(labels)
    rng = check_random_state(random_state)
    seed = int(rng.randint(2**31 - 1))
    folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
    entropy = mutual_info_score(codes, codes)

    rows = {}
    for column in frame.columns:
        binned = _bins(frame[column], n_bins)
        scores = _cross_fitted_frequencies(binned, codes, len(group_names), folds)
        mi = mutual_info_score(codes, binned)
        rows[str(column)] = {
            "auc": _auc(codes, scores, len(group_names)),
            "mutual_info": mi,
            "mutual_info_share": mi / entropy if entropy > 0 else 0.0,
        }
    report = pd.DataFrame.from_dict(rows, orient="index")
    report = report.sort_values("auc", ascending=False, kind="stable")
    if joint:
        model = HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=seed
        )
        proba = cross_val_predict(
            model, _categorical(frame), codes, cv=folds, method="predict_proba"
        )
        scores = proba[:, 1] if len(group_names) == 2 else proba
        top = pd.DataFrame(
            {
                "auc": [_auc(codes, scores, len(group_names))],
                "mutual_info": [np.nan],
                "mutual_info_share": [np.nan],
            },
            index=[JOINT],
        )
        report = pd.concat([top, report])
    report["proxy"] = report["auc"] >= threshold
    return report


def _cross_fitted_frequencies(binned, codes, n_groups, folds):
    """Each row's group frequencies among the other folds' rows of its bin."""
    target_type = "binary" if n_groups == 2 else "multiclass"
    binned = binned.reshape(-1, 1)
    scores = np.zeros((len(codes), 1 if n_groups == 2 else n_groups))
    for train, test in folds.split(binned, codes):
        encoder = TargetEncoder(target_type=target_type)
        encoder.fit(binned[train], codes[train])
        scores[test] = encoder.transform(binned[test])
    return scores


def _names_columns(sensitive_features, X):
    if isinstance(sensitive_features, str):
        return True
    if isinstance(sensitive_features, (list, tuple)) and sensitive_features:
        keys = list(sensitive_features)
        if isinstance(X, pd.DataFrame):
            return all(isinstance(k, str) and k in X.columns for k in keys)
        return False
    return False


def _bins(column, n_bins):
    """Integer codes: categories as they are, numbers in quantile bins."""
    values = column
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(
        values
    )
    if numeric and values.nunique() > n_bins:
        values = pd.qcut(values, n_bins, duplicates="drop")
    codes = pd.factorize(values, use_na_sentinel=False, sort=True)[0]
    return codes.astype(np.int64)


def _categorical(frame):
    """Object and bool columns as pandas categories (for the joint model)."""
    out = frame.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(
            dtype
        ):
            if not isinstance(dtype, pd.CategoricalDtype):
                out[column] = out[column].astype("category")
    return out


def _auc(codes, scores, n_groups):
    if n_groups == 2:
        return float(roc_auc_score(codes, np.ravel(scores)))
    scores = np.clip(np.asarray(scores, dtype=np.float64), 1e-12, None)
    scores = scores / scores.sum(axis=1, keepdims=True)
    return float(roc_auc_score(codes, scores, multi_class="ovr", average="macro"))
