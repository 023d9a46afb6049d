"""The one sensitive-attribute policy: groups from either source, and their rules.

This module turns the two ways of giving a sensitive attribute into group
labels, and is the one place that decides what happens when they are
missing, too few, too small or new:

- ``sensitive_columns=`` -- columns of ``X`` (selected and dropped by
  :mod:`sklfair._columns`: :func:`select_sensitive_columns`,
  :func:`drop_sensitive_columns`);
- ``sensitive_features=`` -- an array-like, Series or DataFrame given to
  ``fit``, a metric or a scorer (:func:`check_sensitive_features`).

:func:`resolve_sensitive` does both at once for a meta-estimator,
:func:`encode_groups` turns labels into the integer codes the networks use,
and :func:`fit_groups`, :func:`warn_no_sensitive_attribute` and
:func:`predict_group_codes` apply the policy below. Every meta-estimator
(:class:`~sklfair.reweighting.ReweighingClassifier`,
:class:`~sklfair.constrained.FairConstrainedClassifier` and
``Regressor``, :class:`~sklfair.distillation.DistilledClassifier` with a
constraint) goes through them, via :class:`sklfair._meta.FairMetaEstimator`.

The policy
----------
The same outcome in every meta-estimator (the user guide's table):

- **no sensitive attribute at all**: a
  :class:`~sklfair.exceptions.NoSensitiveAttributeWarning`; the inner
  estimator is fitted without the mitigation and ``groups_`` is None;
- **both** ``sensitive_columns`` **and** ``sensitive_features``, **a wrong
  length, NaN or None in the attribute at fit, a non-numeric column with
  more than** ``MAX_GROUPS`` **distinct values, one group only** (among the
  rows of positive weight): a
  :class:`~sklfair.exceptions.SensitiveAttributeError` (a ``ValueError``)
  naming the column and the problem;
- **a continuous column** (numeric, more than ``MAX_GROUPS`` distinct
  values, e.g. age in years) **given without saying how to bin it**: a
  :class:`~sklfair.exceptions.ContinuousSensitiveAttributeWarning` naming the
  cut points, and the column is cut into ``DEFAULT_BINS`` quantile bins found
  on the fit's rows (a meta-estimator keeps them in ``sensitive_bins_`` and
  cuts the rows it predicts with the same points). Bins given explicitly
  (``sensitive_bins=``: a number of quantile bins, or cut points per column)
  are applied without a warning, and a constraint on the attribute itself
  (:class:`~sklfair.constraints.Independence`) keeps its values unbinned;
- **a group with fewer than** ``MIN_GROUP_SIZE`` **rows**: a
  :class:`~sklfair.exceptions.SmallGroupWarning` naming the groups and their
  sizes; the fit goes on;
- **a group unseen at fit, or a missing value, at prediction**: an
  :class:`~sklfair.exceptions.UnseenGroupWarning`; the rows are predicted (a
  method with per-group decision rules uses its group-blind rule for them).

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

Bins
----
A binned column's values become its bins, right-closed intervals written
``"<=28"``, ``"(28, 37]"``, ``">37"`` (cut points printed with six
significant digits), as a categorical in the bins' order. The cut points of
``q`` quantile bins are values of the column: its ``1/q, ..., (q-1)/q``
quantiles (the smallest value with at least that share of the rows at or
below it; unweighted, over the rows given). Duplicates and a point at the
maximum are dropped, so a column with heavy ties gets fewer bins; when every
quantile is the maximum (most rows share it), the one cut point is the
largest value below it.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.utils.validation import _num_samples

from sklfair._columns import (
    as_frame,
    drop_sensitive_columns,
    select_sensitive_columns,
)
from sklfair._group_labels import (
    DEFAULT_BINS,
    _bin_frame,
    _groups_from_frame,
    encode_groups,
    plain_value,
)
from sklfair.exceptions import (
    NoSensitiveAttributeWarning,
    SensitiveAttributeError,
    SmallGroupWarning,
    UnseenGroupWarning,
)

__all__ = [
    "MAX_GROUPS",
    "MIN_GROUP_SIZE",
    "DEFAULT_BINS",
    "check_sensitive_features",
    "bin_sensitive_features",
    "select_sensitive_columns",
    "drop_sensitive_columns",
    "resolve_sensitive",
    "encode_groups",
    "fit_groups",
    "check_group_sizes",
    "warn_no_sensitive_attribute",
    "predict_group_codes",
]

#: Default largest number of distinct values allowed in one sensitive column.
MAX_GROUPS = 20

#: Groups with fewer rows (of positive weight) get a SmallGroupWarning at fit:
#: a rate estimated from 30 rows has a standard error of up to 0.09.
MIN_GROUP_SIZE = 30


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
    bins=None,
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
        Largest number of distinct values allowed in one column. A numeric
        column with more looks continuous (e.g. age in years): unless
        ``bins`` says how to cut it, it is cut into ``DEFAULT_BINS`` quantile
        bins with a :class:`~sklfair.exceptions.ContinuousSensitiveAttributeWarning`.
        Any other column with more is an error. None disables the check (and
        the automatic bins).
    min_groups : int, default=2
        Smallest number of groups allowed. Fairness needs at least two; pass
        ``min_groups=1`` where a single group is legitimate (e.g. one test
        fold).
    name : str, default="sensitive_features"
        How the input is called in error messages, and the name of the
        returned Series when the input has no column names.
    bins : int, dict, False or None, default=None
        How to cut numeric columns into bins (see the module docstring for
        the labels). None: only the continuous columns (more than
        ``max_groups`` distinct values), into ``DEFAULT_BINS`` quantile bins,
        with a warning. An int ``q``: every numeric column with more than
        ``q`` distinct values, into ``q`` quantile bins. A dict maps a column
        (its name; its position for an array) to a number of quantile bins
        or to increasing cut points (``[25, 60]``: ``<=25``, ``(25, 60]``,
        ``>60``); the other columns follow the rule of None. False: no bins.

    Returns
    -------
    groups : pandas.Series of shape (n_samples,)
        The group labels. Its index is the input's index for a Series or
        DataFrame and a ``RangeIndex`` otherwise.

    Raises
    ------
    ValueError
        On a wrong number of rows, a missing value (NaN or None), a column
        with more than ``max_groups`` distinct values that is not binned, or
        fewer than ``min_groups`` groups. The message names the column and
        the problem.

    Warns
    -----
    ContinuousSensitiveAttributeWarning
        When a continuous column is cut into bins nobody asked for.
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
    sklfair.exceptions.SensitiveAttributeError: sensitive_features has 2 rows, but X \
has 3 samples.
    """
    return _checked_groups(
        sensitive_features,
        n_samples,
        max_groups=max_groups,
        min_groups=min_groups,
        name=name,
        bins=bins,
    )[0]


def _checked_groups(
    sensitive_features, n_samples, *, max_groups, min_groups, name, bins
):
    """:func:`check_sensitive_features`, also returning the cut points used."""
    frame = as_frame(sensitive_features, name=name)
    if n_samples is not None and frame.shape[0] != n_samples:
        raise SensitiveAttributeError(
            f"{name} has {frame.shape[0]} rows, but X has {n_samples} samples."
        )
    frame, cut_points = _bin_frame(frame, bins, max_groups=max_groups, name=name)
    groups = _groups_from_frame(
        frame, max_groups=max_groups, min_groups=min_groups, name=name
    )
    return groups, cut_points


def bin_sensitive_features(sensitive_features, bins=DEFAULT_BINS):
    """Cut numeric sensitive features into bins, and return the group labels.

    The explicit way to turn a continuous attribute (age in years, income)
    into groups for the group metrics: ``q`` quantile bins, or the cut points
    you choose. Labels are right-closed intervals (``"<=28"``,
    ``"(28, 37]"``, ``">37"``) in a categorical that keeps the bins' order.

    Parameters
    ----------
    sensitive_features : array-like, Series or DataFrame of shape \
            (n_samples,) or (n_samples, n_columns)
        The attribute. Several columns form intersectional groups; each
        numeric column with more than ``bins`` distinct values is cut.
    bins : int, sequence of float or dict, default=4
        A number of quantile bins, increasing cut points (``[25, 60]``), or
        a dict of either per column.

    Returns
    -------
    groups : pandas.Series of shape (n_samples,)
        The group labels, as :func:`check_sensitive_features` returns them.

    See Also
    --------
    sklfair.metrics.hsic_dependence : A dependence measure that needs no bins.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.metrics import bin_sensitive_features
    >>> age = np.array([19, 23, 31, 35, 44, 52, 61, 70])
    >>> bin_sensitive_features(age, 2).tolist()
    ['<=35', '<=35', '<=35', '<=35', '>35', '>35', '>35', '>35']
    >>> bin_sensitive_features(age, [25, 60]).value_counts(sort=False).tolist()
    [2, 4, 2]
    """
    frame = as_frame(sensitive_features, name="sensitive_features")
    if isinstance(bins, bool) or not isinstance(bins, dict | numbers.Integral):
        bins = dict.fromkeys(frame.columns, bins)  # the same cut points for all
    return check_sensitive_features(frame, max_groups=None, min_groups=1, bins=bins)


# --------------------------------------------------------------------------
# Both ways at once
# --------------------------------------------------------------------------


#: What pandas infers for an object column of numbers (e.g. from a list).
_NUMERIC_OBJECTS = frozenset(
    {"integer", "floating", "mixed-integer-float", "decimal", "boolean"}
)


def _has_order(column):
    """Whether the values of ``column`` are ordered as numbers (or as the
    categories of an ordered categorical): what a constraint on a continuous
    attribute takes for the attribute's ranks."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        return dtype.ordered or (
            pd.api.types.is_numeric_dtype(categories.dtype)
            and categories.is_monotonic_increasing
        )
    if pd.api.types.is_numeric_dtype(dtype):
        return True
    return (
        pd.api.types.is_object_dtype(dtype)
        and pd.api.types.infer_dtype(column, skipna=True) in _NUMERIC_OBJECTS
    )


def _check_ordered_attribute(frame, *, source, owner):
    """Refuse, for a constraint on a continuous attribute, anything but one
    numeric (or ordered) column: the constraint ranks the attribute by its
    sorted values, which for nominal labels, text or combinations of several
    columns is no order at all.

    Raises
    ------
    SensitiveAttributeError
        Naming the column(s) and what to give instead.
    """
    names = ", ".join(repr(plain_value(c)) for c in frame.columns)
    what = (
        f"{owner}: a constraint on the dependence on a continuous attribute "
        "(Independence) ranks the attribute by its values, so it needs one "
        "numeric sensitive column (e.g. age in years)"
    )
    advice = (
        "For nominal groups or several columns, use a group constraint such "
        "as constraint='demographic_parity' instead."
    )
    if frame.shape[1] != 1:
        raise SensitiveAttributeError(
            f"{what}; but {source} gives {frame.shape[1]} columns ({names}), "
            f"whose combinations have no order. {advice}"
        )
    column = frame.iloc[:, 0]
    if _has_order(column):
        return
    if column.name != source:  # a named column, not an unnamed array
        source = f"{source} {names}"
    if isinstance(column.dtype, pd.CategoricalDtype):
        kind = "is an unordered categorical"
    elif pd.api.types.is_string_dtype(column.dtype):
        kind = f"has dtype {column.dtype} (as text, '100' sorts before '25')"
    else:
        kind = f"has dtype {column.dtype}"
    raise SensitiveAttributeError(
        f"{what}; but {source} {kind}, whose sorted labels are no order. "
        "Convert it to numbers (e.g. pd.to_numeric), or to an ordered "
        f"categorical if its values have an order. {advice}"
    )


def resolve_sensitive(
    X,
    *,
    sensitive_columns=None,
    sensitive_features=None,
    drop_sensitive=True,
    max_groups=MAX_GROUPS,
    min_groups=2,
    bins=None,
    return_bins=False,
    ordered=False,
    owner="sklfair",
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
    max_groups, min_groups, bins :
        Passed to :func:`check_sensitive_features`.
    return_bins : bool, default=False
        Also return the cut points of the columns that were binned.
    ordered : bool, default=False
        Require one sensitive column whose values have an order (numbers,
        or an ordered categorical): a constraint on a continuous attribute
        ranks it by its values. ``owner`` names the estimator in the error.
    owner : str, default="sklfair"

    Returns
    -------
    X_model : same type as X
        ``X``, without the sensitive columns when they were selected and
        ``drop_sensitive`` is True.
    groups : pandas.Series of shape (n_samples,) or None
        The group labels, indexed like ``X`` when it is a DataFrame; None when
        neither ``sensitive_columns`` nor ``sensitive_features`` was given.
    cut_points : dict
        Only with ``return_bins``: column -> ndarray of the cut points of
        each binned column (empty when none was).

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
        raise SensitiveAttributeError(
            "Both sensitive_columns and sensitive_features were given; give the "
            "sensitive attribute one way only: sensitive_columns= to read it from "
            "the columns of X, or sensitive_features= to pass it alongside X."
        )
    if sensitive_columns is None and sensitive_features is None:
        return (X, None, {}) if return_bins else (X, None)
    n_samples = _num_samples(X)
    if sensitive_columns is not None:
        frame = select_sensitive_columns(X, sensitive_columns)
        groups, cut_points = _checked_groups(
            frame,
            n_samples,
            max_groups=max_groups,
            min_groups=min_groups,
            name="sensitive_columns",
            bins=bins,
        )
        if ordered:
            _check_ordered_attribute(frame, source="sensitive_columns", owner=owner)
        if drop_sensitive:
            X = drop_sensitive_columns(X, sensitive_columns)
    else:
        groups, cut_points = _checked_groups(
            sensitive_features,
            n_samples,
            max_groups=max_groups,
            min_groups=min_groups,
            name="sensitive_features",
            bins=bins,
        )
        if ordered:
            _check_ordered_attribute(
                as_frame(sensitive_features, name="sensitive_features"),
                source="sensitive_features",
                owner=owner,
            )
        if isinstance(X, pd.DataFrame):
            groups = groups.set_axis(X.index)
    return (X, groups, cut_points) if return_bins else (X, groups)


# --------------------------------------------------------------------------
# Integer codes
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# The policy's rules at fit and at prediction
# --------------------------------------------------------------------------


def _shown(values, limit=8):
    values = [repr(plain_value(v)) for v in values]
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return ", ".join(values[:limit]) + more


def fit_groups(groups, sample_weight=None, *, owner, continuous=False):
    """Encode the groups of a fit and apply the policy's fit-time rules.

    Parameters
    ----------
    groups : pandas.Series of shape (n_samples,)
        Group labels from :func:`resolve_sensitive`.
    sample_weight : ndarray of shape (n_samples,), default=None
        Validated non-negative weights; rows of zero weight do not count.
    owner : str
        The estimator's name, for the messages.
    continuous : bool, default=False
        The labels are the values of a continuous attribute (for a constraint
        on the attribute itself): they need two distinct values among the
        rows of positive weight, and none is a group too small.

    Returns
    -------
    codes : ndarray of int64 of shape (n_samples,)
    labels : ndarray of shape (n_groups,)
        The label of each code (see :func:`encode_groups`).
    sizes : ndarray of int64 of shape (n_groups,)
        Rows of positive weight in each group.

    Raises
    ------
    SensitiveAttributeError
        When fewer than two groups have a row of positive weight.

    Warns
    -----
    SmallGroupWarning
        When a group has fewer than ``MIN_GROUP_SIZE`` rows of positive weight.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfair._sensitive import fit_groups
    >>> codes, labels, sizes = fit_groups(
    ...     pd.Series(["a"] * 40 + ["b"] * 35), owner="example")
    >>> labels.tolist(), sizes.tolist()
    (['a', 'b'], [40, 35])
    """
    codes, labels = encode_groups(groups)
    counted = None if sample_weight is None else (sample_weight > 0).astype(float)
    sizes = np.bincount(codes, weights=counted, minlength=len(labels))
    sizes = np.rint(sizes).astype(np.int64)
    check_group_sizes(
        labels,
        sizes,
        name=getattr(groups, "name", None),
        owner=owner,
        continuous=continuous,
        stacklevel=5,
    )
    return codes, labels, sizes


def check_group_sizes(labels, sizes, *, name, owner, continuous=False, stacklevel=4):
    """The policy's fit-time rules on the groups' sizes (see :func:`fit_groups`).

    For fits that count the rows of each group without holding them (a
    chunked fit counts them in a streaming pass).

    Parameters
    ----------
    labels : ndarray of shape (n_groups,)
        The group labels, in the order of their codes.
    sizes : ndarray of int of shape (n_groups,)
        Rows of positive weight in each group.
    name : str or None
        Name of the sensitive attribute, for the messages.
    owner : str
        The estimator's name, for the messages.
    continuous : bool, default=False
        As in :func:`fit_groups`.
    stacklevel : int, default=4
        Of the warning.

    Raises
    ------
    SensitiveAttributeError
        When fewer than two groups have a row of positive weight.

    Warns
    -----
    SmallGroupWarning
        When a group has fewer than ``MIN_GROUP_SIZE`` rows of positive weight.
    """
    present = sizes > 0
    of = f" of {name!r}" if name is not None else ""
    if present.sum() < 2 and continuous:
        raise SensitiveAttributeError(
            f"{owner}: the continuous attribute{of} takes one value only "
            f"({_shown(labels[present])}) among the rows with a positive sample "
            "weight; a dependence on it cannot be measured."
        )
    if present.sum() < 2:
        only = _shown(labels[present])
        raise SensitiveAttributeError(
            f"{owner}: only the group {only}{of} has rows with a positive sample "
            "weight; a fairness mitigation needs at least two groups."
        )
    small = present & (sizes < MIN_GROUP_SIZE)
    if small.any() and not continuous:
        listed = ", ".join(
            f"{label!r}: {size} rows"
            for label, size in zip(
                [plain_value(v) for v in labels[small]],
                sizes[small],
                strict=True,
            )
        )
        warnings.warn(
            f"{owner}: {int(small.sum())} group(s){of} have fewer than "
            f"{MIN_GROUP_SIZE} rows ({listed}); their rates, and any gap or bound "
            "involving them, are mostly sampling noise. Merge small groups or "
            "collect more data before making a claim about them.",
            SmallGroupWarning,
            stacklevel=stacklevel,
        )


def warn_no_sensitive_attribute(owner, consequence):
    """Warn that a meta-estimator got no sensitive attribute.

    Parameters
    ----------
    owner : str
        The estimator's name.
    consequence : str
        What is fitted instead, e.g. ``"the estimator is fitted without
        reweighing"``.
    """
    warnings.warn(
        f"{owner} got no sensitive attribute (neither sensitive_columns= nor "
        f"fit(..., sensitive_features=)), so there are no groups: {consequence}. "
        "Give sensitive_columns=... or fit(..., sensitive_features=...).",
        NoSensitiveAttributeWarning,
        stacklevel=4,
    )


def predict_group_codes(X, sensitive_columns, labels, *, owner, bins=None):
    """Codes of the fitted groups for the rows of ``X`` at prediction.

    Parameters
    ----------
    X : DataFrame, ndarray or sparse matrix
        The data, sensitive columns included.
    sensitive_columns : str, int, list, boolean mask or callable
        As at fit.
    labels : ndarray of shape (n_groups,)
        The fitted group labels (``groups_``), in the order of their codes.
    owner : str
        The estimator's name, for the message.
    bins : dict or None, default=None
        The cut points found at fit (``sensitive_bins_``), per column.

    Returns
    -------
    codes : ndarray of int64 of shape (n_samples,)
        The code of each row's group, -1 for a group not seen at fit or a
        missing value.

    Warns
    -----
    UnseenGroupWarning
        When a row's group was not seen at fit, or is missing.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklfair._sensitive import predict_group_codes
    >>> X = pd.DataFrame({"sex": ["f", "m"], "income": [1.0, 2.0]})
    >>> predict_group_codes(X, "sex", np.array(["f", "m"]), owner="example")
    array([0, 1])
    """
    frame = select_sensitive_columns(X, sensitive_columns)
    n_samples = _num_samples(X)
    missing = np.asarray(frame.isna().any(axis=1))
    codes = np.full(n_samples, -1, dtype=np.int64)
    if (~missing).any():
        groups = check_sensitive_features(
            frame.loc[~missing],
            max_groups=None,
            min_groups=1,
            name="sensitive_columns",
            bins=dict(bins) if bins else False,
        )
        known = pd.Index(np.asarray(labels, dtype=object))
        codes[~missing] = known.get_indexer(np.asarray(groups, dtype=object))
        unseen = pd.unique(np.asarray(groups, dtype=object)[codes[~missing] < 0])
    else:
        unseen = []
    if (codes < 0).any():
        parts = []
        if len(unseen):
            parts.append(f"group(s) not seen at fit: {_shown(list(unseen))}")
        if missing.any():
            parts.append(f"{int(missing.sum())} row(s) with a missing value")
        warnings.warn(
            f"{owner}: {int((codes < 0).sum())} row(s) at prediction have no "
            f"fitted group ({'; '.join(parts)}). They are predicted, but no "
            "fairness property measured at fit covers them.",
            UnseenGroupWarning,
            stacklevel=4,
        )
    return codes
