"""Fairness metrics for a continuous sensitive attribute, without bins.

An attribute such as age in years is not a handful of groups: these metrics
measure how the predictions move *along* it.

- :func:`mean_prediction_slope`: the least-squares slope of the prediction
  on the attribute -- how much the mean score (or the selection rate, for
  0/1 decisions) changes per unit of the attribute;
- :func:`prediction_correlation`: Pearson's (linear) or Spearman's (rank)
  correlation between the prediction and the attribute;
- :func:`hsic_dependence`: a kernel dependence measure in [0, 1] that sees
  any shape of dependence, not only a trend (zero exactly when the mean
  prediction, or for class decisions their distribution, does not move with
  the attribute); :class:`sklfair.constraints.Independence` bounds it in
  training, with the same definition (:mod:`sklfair._dependence`);
- :func:`hgr_correlation`: the Hirschfeld-Gebelein-Rényi maximal correlation,
  estimated on quantile bins.

To compare groups of the attribute instead (selection rate of the youngest
quarter against the oldest), cut it into bins explicitly with
:func:`bin_sensitive_features` and use the group metrics.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_consistent_length

from .._dependence import DEFAULT_BANDWIDTH, kernel_dependence
from .._group_labels import _quantile_points
from .._sensitive import bin_sensitive_features

__all__ = [
    "mean_prediction_slope",
    "prediction_correlation",
    "hsic_dependence",
    "hgr_correlation",
    "bin_sensitive_features",
]


def _attribute(sensitive_features, n_samples):
    """The attribute as a float64 vector, with clear errors."""
    if isinstance(sensitive_features, pd.DataFrame):
        if sensitive_features.shape[1] != 1:
            raise ValueError(
                "A continuous attribute is one column; got "
                f"{sensitive_features.shape[1]} columns."
            )
        sensitive_features = sensitive_features.iloc[:, 0]
    values = np.asarray(sensitive_features)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"A continuous attribute is one column; got shape {values.shape}."
        )
    try:
        values = values.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "sensitive_features must be numeric for a continuous measure (e.g. "
            "age in years); for group labels use the group metrics."
        ) from None
    if not np.all(np.isfinite(values)):
        raise ValueError("sensitive_features has missing or infinite values.")
    if values.shape[0] != n_samples:
        raise ValueError(
            f"sensitive_features has {values.shape[0]} rows, but y_pred has "
            f"{n_samples}."
        )
    return values


def _attribute_and_weights(sensitive_features, sample_weight, n_samples):
    """The attribute and the weights, checked together: the attribute must
    take two values among the rows of positive weight."""
    attribute = _attribute(sensitive_features, n_samples)
    weight = _weights(sample_weight, n_samples)
    if np.unique(attribute[weight > 0]).size < 2:
        among = "" if sample_weight is None else " among the rows of positive weight"
        raise ValueError(
            f"sensitive_features takes a single value{among}: a dependence on "
            "it cannot be measured."
        )
    return attribute, weight


def _weights(sample_weight, n_samples):
    if sample_weight is None:
        return np.ones(n_samples)
    weight = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    check_consistent_length(weight, np.empty(n_samples))
    if np.any(weight < 0) or not np.all(np.isfinite(weight)) or weight.sum() <= 0:
        raise ValueError("sample_weight must be finite, non-negative, not all 0.")
    return weight


def _finite(values):
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("y_pred has missing or infinite values.")
    return values


def _check_no_missing(array):
    if array.dtype == object and np.any(pd.isna(array)):
        raise ValueError("y_pred has missing values (None or NaN).")


def _prediction_matrix(y_pred):
    """Predictions as numbers: one column, or one indicator column per class.

    Floats are numbers (scores, regression predictions, even when all their
    values are whole), and so are booleans and two-valued numbers (0/1
    decisions); integers with more than two values and other labels
    (strings) are class decisions, one indicator column per class.
    """
    array = np.asarray(y_pred)
    if array.ndim == 2 and array.shape[1] > 1:
        return _finite(array)
    array = array.reshape(-1) if array.ndim == 2 else array
    if array.ndim != 1:
        raise ValueError(f"y_pred must be 1D or 2D, got shape {array.shape}.")
    _check_no_missing(array)
    if array.dtype.kind in "fb" or pd.api.types.infer_dtype(array) == "boolean":
        return _finite(array)[:, None]
    kind = type_of_target(array, input_name="y_pred")
    if kind == "multiclass" or (
        kind == "binary" and not np.issubdtype(array.dtype, np.number)
    ):
        _, codes = np.unique(array.astype(str), return_inverse=True)
        return np.eye(codes.max() + 1)[codes]
    return _finite(array)[:, None]


def _one_column(y_pred, func_name):
    values = _prediction_matrix(y_pred)
    if values.shape[1] != 1:
        raise ValueError(
            f"{func_name} needs one number per row (a score, a 0/1 decision or a "
            "regression prediction), got multi-class predictions (integers with "
            "more than two values, or labels, are read as classes). Use "
            "hsic_dependence or hgr_correlation, which take class decisions, or "
            "pass numbers as floats."
        )
    return values[:, 0]


def _weighted_pearson(x, y, weight):
    weight = weight / weight.sum()
    x = x - weight @ x
    y = y - weight @ y
    denominator = np.sqrt((weight @ x**2) * (weight @ y**2))
    return float((weight @ (x * y)) / denominator) if denominator > 0 else 0.0


def _weighted_ranks(values, weight):
    """Weighted mid-ranks: the share of weight below each value plus half its own."""
    levels, codes = np.unique(values, return_inverse=True)
    share = np.bincount(codes, weights=weight, minlength=levels.size)
    share = share / share.sum()
    return (np.cumsum(share) - share / 2.0)[codes]


@validate_params(
    {
        "y_pred": ["array-like"],
        "sensitive_features": ["array-like"],
        "sample_weight": ["array-like", None],
        "per": [Interval(numbers.Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def mean_prediction_slope(y_pred, *, sensitive_features, sample_weight=None, per=1.0):
    """Change of the mean prediction per ``per`` units of a continuous attribute.

    The slope of the (weighted) least-squares line of ``y_pred`` on the
    attribute, times ``per``: for 0/1 decisions the change of the selection
    rate, for scores the change of the mean score, for every ``per`` units
    (e.g. ``per=10`` for a decade of age). It measures a trend only: a
    prediction that is high at both ends of the attribute and low in the
    middle can have a slope of 0 (:func:`hsic_dependence` sees it).

    .. versionadded:: 0.2

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
        Scores, 0/1 (or boolean) decisions or regression predictions. Floats
        are always numbers; integers with more than two values are read as
        class labels and refused (pass them as floats to use them as
        numbers).
    sensitive_features : array-like of shape (n_samples,)
        The continuous attribute (numbers).
    sample_weight : array-like of shape (n_samples,), default=None
    per : float, default=1.0
        The change of the attribute the slope is given for.

    Returns
    -------
    float

    Examples
    --------
    >>> from sklfair.metrics import mean_prediction_slope
    >>> age = [20, 30, 40, 50, 60]
    >>> approved = [0, 0, 1, 1, 1]
    >>> round(mean_prediction_slope(approved, sensitive_features=age, per=10), 3)
    0.3
    """
    y = _one_column(y_pred, "mean_prediction_slope")
    attribute, weight = _attribute_and_weights(
        sensitive_features, sample_weight, y.shape[0]
    )
    weight = weight / weight.sum()
    centred = attribute - weight @ attribute
    return float(per * (weight @ (centred * y)) / (weight @ centred**2))


@validate_params(
    {
        "y_pred": ["array-like"],
        "sensitive_features": ["array-like"],
        "method": [StrOptions({"pearson", "spearman"})],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def prediction_correlation(
    y_pred, *, sensitive_features, method="pearson", sample_weight=None
):
    """Correlation between the prediction and a continuous attribute.

    Pearson's correlation measures a linear trend; Spearman's, the
    correlation of the ranks (mid-ranks for ties, weighted mid-ranks with
    ``sample_weight``), any monotone trend. Both are in [-1, 1]: the sign
    says whether the prediction rises or falls with the attribute.

    .. versionadded:: 0.2

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
        Scores, 0/1 (or boolean) decisions or regression predictions. Floats
        are always numbers; integers with more than two values are read as
        class labels and refused (pass them as floats to use them as
        numbers).
    sensitive_features : array-like of shape (n_samples,)
        The continuous attribute (numbers).
    method : {"pearson", "spearman"}, default="pearson"
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float
        0 when the prediction is constant.

    Examples
    --------
    >>> from sklfair.metrics import prediction_correlation
    >>> age = [20, 30, 40, 50, 60]
    >>> score = [0.1, 0.2, 0.25, 0.5, 0.9]
    >>> round(prediction_correlation(score, sensitive_features=age), 3)
    0.936
    >>> prediction_correlation(score, sensitive_features=age, method="spearman")
    1.0
    """
    y = _one_column(y_pred, "prediction_correlation")
    attribute, weight = _attribute_and_weights(
        sensitive_features, sample_weight, y.shape[0]
    )
    if method == "spearman":
        if sample_weight is None:
            y, attribute = rankdata(y), rankdata(attribute)
        else:
            y, attribute = (
                _weighted_ranks(y, weight),
                _weighted_ranks(attribute, weight),
            )
    return _weighted_pearson(y, attribute, weight)


@validate_params(
    {
        "y_pred": ["array-like"],
        "sensitive_features": ["array-like"],
        "sample_weight": ["array-like", None],
        "bandwidth": [Interval(numbers.Real, 0, None, closed="neither")],
    },
    prefer_skip_nested_validation=True,
)
def hsic_dependence(
    y_pred, *, sensitive_features, sample_weight=None, bandwidth=DEFAULT_BANDWIDTH
):
    """Kernel dependence (normalised HSIC) of predictions on a continuous attribute.

    The Hilbert-Schmidt independence criterion (Gretton et al., 2005)
    between the predictions (linear kernel: one indicator column per class
    for class decisions, the numbers themselves otherwise) and the
    attribute's ranks (Gaussian kernel of width ``bandwidth``), normalised
    to [0, 1] as a centred kernel alignment. It is 0 exactly when the mean
    prediction -- for class decisions, the share of every class -- is the
    same all along the attribute, whatever the shape of the dependence
    (demographic parity for a continuous attribute), and grows with the
    share of the predictions' variance that the attribute explains. It
    depends on the attribute only through its ranks, so age in years or in
    months gives the same value. On a sample it is positive even for
    independent variables (of order ``1 / n_samples``).

    :class:`sklfair.constraints.Independence` bounds the same quantity in
    training. See :mod:`sklfair._dependence` for the formula.

    .. versionadded:: 0.2

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,) or (n_samples, n_classes)
        Class decisions (binary or multi-class labels), scores, regression
        predictions, or a matrix of class probabilities. Floats, booleans
        and two-valued numbers are taken as numbers; integers with more than
        two values and other labels as classes (one indicator column each).
    sensitive_features : array-like of shape (n_samples,)
        The continuous attribute (numbers).
    sample_weight : array-like of shape (n_samples,), default=None
    bandwidth : float, default=0.25
        Width of the Gaussian kernel on the attribute's ranks (which lie in
        (0, 1)): smaller values see faster changes along the attribute.

    Returns
    -------
    float in [0, 1]

    References
    ----------
    A. Gretton, O. Bousquet, A. Smola and B. Schölkopf, "Measuring
    statistical dependence with Hilbert-Schmidt norms", ALT 2005.
    C. Cortes, M. Mohri and A. Rostamizadeh, "Algorithms for learning
    kernels based on centered alignment", JMLR 13, 2012.
    A. Pérez-Suay et al., "Fair kernel learning", ECML PKDD 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.metrics import hsic_dependence
    >>> age = np.arange(20, 70)
    >>> middle_aged = (abs(age - 45) < 12).astype(int)  # no trend, a bump
    >>> round(hsic_dependence(middle_aged, sensitive_features=age), 3)
    0.343
    >>> round(hsic_dependence(age % 2, sensitive_features=age), 3)
    0.0
    """
    values = _prediction_matrix(y_pred)
    attribute, weight = _attribute_and_weights(
        sensitive_features, sample_weight, values.shape[0]
    )
    _, codes = np.unique(attribute, return_inverse=True)
    return kernel_dependence(values, codes, weight, bandwidth=bandwidth)


def _bin_codes(values, bins):
    """Codes of at most ``bins`` quantile bins, cut as
    :func:`~sklfair.metrics.bin_sensitive_features` cuts a column (distinct
    values when fewer)."""
    levels, codes = np.unique(values, return_inverse=True)
    if levels.size <= bins:
        return codes
    return np.searchsorted(_quantile_points(values, bins), values, side="left")


@validate_params(
    {
        "y_pred": ["array-like"],
        "sensitive_features": ["array-like"],
        "bins": [Interval(numbers.Integral, 2, None, closed="left")],
        "sample_weight": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def hgr_correlation(y_pred, *, sensitive_features, bins=10, sample_weight=None):
    """Hirschfeld-Gebelein-Rényi maximal correlation, estimated on quantile bins.

    The largest Pearson correlation between any function of the prediction
    and any function of the attribute (Rényi, 1959): 0 for independent
    variables, 1 when one determines a function of the other. It is
    estimated on the contingency table of the two variables cut into
    ``bins`` quantile bins, as :func:`bin_sensitive_features` cuts them
    (class decisions, and numbers with at most ``bins`` distinct values,
    keep their values), where it is exactly the
    second singular value of ``P(a, b) / sqrt(P(a) P(b))`` (Witsenhausen,
    1975). The estimate is biased upwards on small samples: for independent
    variables it is of order ``sqrt((bins - 1) ** 2 / n_samples)`` at most
    (the square root of the table's mean square contingency).

    .. versionadded:: 0.2

    Parameters
    ----------
    y_pred : array-like of shape (n_samples,)
        Class decisions, scores or regression predictions.
    sensitive_features : array-like of shape (n_samples,)
        The continuous attribute (numbers).
    bins : int, default=10
        Quantile bins of each continuous variable.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float in [0, 1]

    References
    ----------
    A. Rényi, "On measures of dependence", Acta Math. Hungarica 10, 1959.
    H. S. Witsenhausen, "On sequences of pairs of dependent random
    variables", SIAM J. Appl. Math. 28, 1975.
    J. Mary, C. Calauzènes and N. El Karoui, "Fairness-aware learning for
    continuous attributes and treatments", ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.metrics import hgr_correlation
    >>> age = np.arange(20, 70)
    >>> middle_aged = (abs(age - 45) < 12).astype(int)
    >>> round(hgr_correlation(middle_aged, sensitive_features=age), 3)
    1.0
    """
    array = np.asarray(y_pred)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"hgr_correlation needs one prediction per row, got shape {array.shape}."
        )
    attribute, weight = _attribute_and_weights(
        sensitive_features, sample_weight, array.shape[0]
    )
    _check_no_missing(array)
    if not np.all(weight > 0):
        # rows of weight 0 take no part, not even in placing the bins
        kept = weight > 0
        array, attribute, weight = array[kept], attribute[kept], weight[kept]
    if np.issubdtype(array.dtype, np.number):
        prediction = _bin_codes(_finite(array), bins)
    else:
        _, prediction = np.unique(array.astype(str), return_inverse=True)
    level = _bin_codes(attribute, bins)
    rows, columns = prediction.max() + 1, level.max() + 1
    table = np.bincount(
        prediction * columns + level, weights=weight, minlength=rows * columns
    ).reshape(rows, columns)
    table /= table.sum()
    p_row, p_column = table.sum(axis=1), table.sum(axis=0)
    keep_row, keep_column = p_row > 0, p_column > 0
    table = table[keep_row][:, keep_column]
    scaled = table / np.sqrt(np.outer(p_row[keep_row], p_column[keep_column]))
    singular = np.linalg.svd(scaled, compute_uv=False)
    return float(np.clip(singular[1], 0.0, 1.0)) if singular.size > 1 else 0.0
