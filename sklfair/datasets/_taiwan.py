"""The Taiwan credit card default data set: :func:`load_taiwan_credit`.

Reads the bundled ``data/taiwan_credit_default.csv.gz`` ("default of credit
card clients", Yeh & Lien 2009: 30,000 card holders, Taiwan 2005), drops the
row identifier, decodes ``SEX``, ``EDUCATION`` and ``MARRIAGE`` and renames
the columns to snake_case.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import validate_params

from ._base import age_band, build_bunch, decode, read_csv

__all__ = ["load_taiwan_credit"]

_FILE = "taiwan_credit_default.csv.gz"
_RAW_TARGET = "default.payment.next.month"

_SEX = {1: "male", 2: "female"}
# 0, 5 and 6 occur in the data but are not documented by the source.
_EDUCATION = {
    1: "graduate school",
    2: "university",
    3: "high school",
    4: "others",
    0: None,
    5: None,
    6: None,
}
_MARRIAGE = {1: "married", 2: "single", 3: "others", 0: None}
_DECODED = {"SEX": _SEX, "EDUCATION": _EDUCATION, "MARRIAGE": _MARRIAGE}

_TARGET = "default"
_TARGET_NAMES = ["no default", "default"]
_SENSITIVE = ["sex", "age_band"]

FEATURE_NAMES = [
    "limit_bal",
    "sex",
    "education",
    "marriage",
    "age",
    *[f"pay_{i}" for i in (0, 2, 3, 4, 5, 6)],
    *[f"bill_amt{i}" for i in range(1, 7)],
    *[f"pay_amt{i}" for i in range(1, 7)],
    "age_band",
]


@lru_cache(maxsize=1)
def _load_frame():
    """Parse and decode the bundled file once per process (never returned)."""
    raw = read_csv(_FILE).drop(columns="ID")
    columns = {}
    for name in raw.columns:
        if name == _RAW_TARGET:
            continue
        if name in _DECODED:
            columns[name.lower()] = decode(raw[name], _DECODED[name], name=name)
        else:
            # Amounts are whole NT dollars, some written as floats in the file.
            values = pd.to_numeric(raw[name])
            if not (values == values.round()).all():
                raise ValueError(f"Column {name!r} holds non-integer values.")
            columns[name.lower()] = values.astype(np.int64)
    columns["age_band"] = age_band(raw["AGE"])
    if not raw[_RAW_TARGET].isin([0, 1]).all():
        raise ValueError("The Taiwan credit target holds codes other than 0 and 1.")
    columns[_TARGET] = raw[_RAW_TARGET].astype(np.int64)
    frame = pd.DataFrame(columns)
    return frame[[*FEATURE_NAMES, _TARGET]]


@validate_params(
    {"as_frame": ["boolean"], "return_X_y": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_taiwan_credit(*, as_frame=True, return_X_y=False):
    """Load the Taiwan "default of credit card clients" data (30,000 rows).

    30,000 credit card holders of a Taiwanese bank in 2005 with their credit
    limit, demographics and six months of repayment status, bill and payment
    amounts; the target says whether they defaulted on the next month's
    payment. The bundled copy is read offline; the parsed frame is cached per
    process and every call returns fresh copies.

    ==============  ==================================
    Samples         30,000
    Features        24 (``sex``, ``education``,
                    ``marriage`` and ``age_band``
                    categorical, 20 numeric)
    Target          ``default``: 1 default (6,636),
                    0 no default (23,364)
    Sensitive       ``sex``, ``age_band``
    ==============  ==================================

    Read more in ``DESCR``, which documents every column.

    .. versionadded:: 0.1

    Parameters
    ----------
    as_frame : bool, default=True
        If True, ``data`` is a pandas DataFrame (categorical columns with the
        ``category`` dtype, numeric columns ``int64``), ``target`` an ``int64``
        Series and ``frame`` the DataFrame of both. If False, ``data`` is a
        float64 NumPy array in which every categorical column is ordinally
        encoded by its category codes (NaN where missing), as
        :func:`sklearn.datasets.fetch_openml` does with
        ``parser="liac-arff"``; the codes are explained by the ``categories``
        entry of the Bunch, ``target`` is an ``int64`` array and ``frame`` is
        None.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : pandas.DataFrame of shape (30000, 24) or ndarray
            The features, including the sensitive columns ``sex`` and
            ``age_band`` (the sensitive attribute travels inside X, so that
            ``sensitive_columns="sex"`` works on it).
        target : pandas.Series of shape (30000,) or ndarray
            ``default``: 1 when the client defaulted on the next month's
            payment (the unfavourable outcome), 0 otherwise.
        frame : pandas.DataFrame of shape (30000, 25) or None
            ``data`` and ``target`` together; None when ``as_frame=False``.
        feature_names : list of str
            The column names of ``data``.
        target_names : ndarray of str
            ``["no default", "default"]``: ``target_names[i]`` is the meaning
            of ``target == i``.
        sensitive : pandas.DataFrame of shape (30000, 2)
            The protected attributes ``sex`` (``"male"``, ``"female"``) and
            ``age_band`` (``"<25"``, ``">=25"``), with the index of ``data``.
            Always a DataFrame of labels, also when ``as_frame=False``, to be
            passed as ``sensitive_features=``.
        categories : dict or None
            With ``as_frame=False``, maps each categorical column to its list
            of categories: code ``i`` stands for the ``i``-th entry. None when
            ``as_frame=True``.
        DESCR : str
            Description of the data set: source, licence, every column and the
            target coding.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` described above.

    See Also
    --------
    load_german_credit : Statlog German credit data, 1,000 rows.

    Notes
    -----
    ``education`` codes 0, 5 and 6 and ``marriage`` code 0 are not documented
    by the source and are decoded to NaN (missing). Dropping ``sex`` and
    ``age_band`` (``drop_sensitive=True``) still leaves the raw ``age`` column,
    and ``marriage`` correlates with age: unawareness is not fairness, and
    which columns a model may use is the user's decision.

    Examples
    --------
    >>> from sklfair.datasets import load_taiwan_credit
    >>> cards = load_taiwan_credit()
    >>> cards.data.shape
    (30000, 24)
    >>> int(cards.target.sum())
    6636
    >>> cards.data["sex"].value_counts().to_dict()
    {'female': 18112, 'male': 11888}
    >>> list(cards.sensitive.columns)
    ['sex', 'age_band']
    >>> int(cards.data["education"].isna().sum())
    345
    """
    return build_bunch(
        _load_frame(),
        feature_names=FEATURE_NAMES,
        target_column=_TARGET,
        target_names=_TARGET_NAMES,
        sensitive_columns=_SENSITIVE,
        descr="taiwan_credit.rst",
        as_frame=as_frame,
        return_X_y=return_X_y,
    )
