"""The Statlog German credit data set: :func:`load_german_credit`.

Reads the bundled ``data/german.data.gz`` (UCI, 1,000 applicants, 20 coded
attributes) and decodes the ``A..`` codes into words with the UCI
documentation of the data set.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import validate_params

from ._base import age_band, build_bunch, decode, read_csv

__all__ = ["load_german_credit"]

_FILE = "german.data.gz"

# Attribute 9 "personal status and sex" is split into ``personal_status`` and
# ``sex``.
_SEX = {"A91": "male", "A92": "female", "A93": "male", "A94": "male", "A95": "female"}
_PERSONAL_STATUS = {
    "A91": "divorced/separated",
    "A92": "divorced/separated/married",
    "A93": "single",
    "A94": "married/widowed",
    "A95": "single",
}

# (column name, codes -> words or None for a numeric attribute), in the order
# of the UCI attributes 1..20.
_ATTRIBUTES = [
    (
        "checking_account_status",
        {
            "A11": "below 0 DM",
            "A12": "0 to 200 DM",
            "A13": "200 DM or more or salary assignment",
            "A14": "no checking account",
        },
    ),
    ("duration_months", None),
    (
        "credit_history",
        {
            "A30": "no credits taken or all paid back duly",
            "A31": "all credits at this bank paid back duly",
            "A32": "existing credits paid back duly till now",
            "A33": "delay in paying off in the past",
            "A34": "critical account or other credits existing",
        },
    ),
    (
        "purpose",
        {
            "A40": "car (new)",
            "A41": "car (used)",
            "A42": "furniture/equipment",
            "A43": "radio/television",
            "A44": "domestic appliances",
            "A45": "repairs",
            "A46": "education",
            "A47": "vacation",
            "A48": "retraining",
            "A49": "business",
            "A410": "others",
        },
    ),
    ("credit_amount", None),
    (
        "savings",
        {
            "A61": "below 100 DM",
            "A62": "100 to 500 DM",
            "A63": "500 to 1000 DM",
            "A64": "1000 DM or more",
            "A65": "unknown or no savings account",
        },
    ),
    (
        "employment_since",
        {
            "A71": "unemployed",
            "A72": "below 1 year",
            "A73": "1 to 4 years",
            "A74": "4 to 7 years",
            "A75": "7 years or more",
        },
    ),
    ("installment_rate", None),
    ("personal_status", _PERSONAL_STATUS),
    (
        "other_debtors",
        {"A101": "none", "A102": "co-applicant", "A103": "guarantor"},
    ),
    ("residence_since", None),
    (
        "property",
        {
            "A121": "real estate",
            "A122": "building society savings or life insurance",
            "A123": "car or other",
            "A124": "unknown or no property",
        },
    ),
    ("age", None),
    (
        "other_installment_plans",
        {"A141": "bank", "A142": "stores", "A143": "none"},
    ),
    ("housing", {"A151": "rent", "A152": "own", "A153": "for free"}),
    ("existing_credits", None),
    (
        "job",
        {
            "A171": "unemployed or unskilled non-resident",
            "A172": "unskilled resident",
            "A173": "skilled employee or official",
            "A174": "management, self-employed or highly qualified",
        },
    ),
    ("people_liable", None),
    ("telephone", {"A191": "none", "A192": "yes, registered"}),
    ("foreign_worker", {"A201": "yes", "A202": "no"}),
]

_TARGET = "good_credit"
_TARGET_NAMES = ["bad", "good"]
_SENSITIVE = ["sex", "age_band"]


def _feature_names():
    names = []
    for name, _ in _ATTRIBUTES:
        names.append(name)
        if name == "personal_status":
            names.append("sex")
    return [*names, "age_band"]


FEATURE_NAMES = _feature_names()


@lru_cache(maxsize=1)
def _load_frame():
    """Parse and decode the bundled file once per process (never returned)."""
    raw = read_csv(
        _FILE,
        sep=" ",
        header=None,
        names=[name for name, _ in _ATTRIBUTES] + ["class"],
    )
    columns = {}
    for name, mapping in _ATTRIBUTES:
        if mapping is None:
            columns[name] = raw[name].astype(np.int64)
        else:
            columns[name] = decode(raw[name], mapping, name=name)
        if name == "personal_status":
            columns["sex"] = decode(raw[name], _SEX, name=name)
    columns["age_band"] = age_band(raw["age"])
    if not raw["class"].isin([1, 2]).all():
        raise ValueError("The German credit target holds codes other than 1 and 2.")
    columns[_TARGET] = (raw["class"] == 1).astype(np.int64)
    return pd.DataFrame(columns)


@validate_params(
    {"as_frame": ["boolean"], "return_X_y": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_german_credit(*, as_frame=True, return_X_y=False):
    """Load the Statlog German credit data set (classification, 1,000 rows).

    1,000 loan applicants described by 20 attributes (the UCI ``A..`` codes
    decoded into words), labelled as good (700) or bad (300) credit risks.
    The bundled copy is read offline; the parsed frame is cached per process
    and every call returns fresh copies.

    ==============  ==================================
    Samples         1,000
    Features        22 (13 categorical, 7 numeric,
                    ``sex`` and ``age_band``)
    Target          ``good_credit``: 1 good (700),
                    0 bad (300)
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

        data : pandas.DataFrame of shape (1000, 22) or ndarray
            The features, including the sensitive columns ``sex`` and
            ``age_band`` (the sensitive attribute travels inside X, so that
            ``sensitive_columns="sex"`` works on it).
        target : pandas.Series of shape (1000,) or ndarray
            ``good_credit``: 1 for a good credit risk (the favourable
            outcome), 0 for a bad one (UCI class 2).
        frame : pandas.DataFrame of shape (1000, 23) or None
            ``data`` and ``target`` together; None when ``as_frame=False``.
        feature_names : list of str
            The column names of ``data``.
        target_names : ndarray of str
            ``["bad", "good"]``: ``target_names[i]`` is the meaning of
            ``target == i``.
        sensitive : pandas.DataFrame of shape (1000, 2)
            The protected attributes ``sex`` (``"female"``, ``"male"``) and
            ``age_band`` (``"<25"``, ``">=25"``), with the index of ``data``.
            Always a DataFrame of labels, also when ``as_frame=False``, to be
            passed as ``sensitive_features=``.
        categories : dict or None
            With ``as_frame=False``, maps each categorical column to its list
            of categories: code ``i`` stands for the ``i``-th entry. None when
            ``as_frame=True`` (the DataFrame carries its categories).
        DESCR : str
            Description of the data set: source, licence, every column and the
            target coding.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` described above.

    See Also
    --------
    load_taiwan_credit : Credit card default data from Taiwan, 30,000 rows.

    Notes
    -----
    ``sex`` is derived from UCI attribute 9 "personal status and sex" (A91,
    A93, A94 male; A92, A95 female) and the rest of attribute 9 is kept as
    ``personal_status``. No applicant has code A95, so ``personal_status``
    determines ``sex`` exactly: it is a perfect proxy. Likewise dropping
    ``sex`` and ``age_band`` (``drop_sensitive=True``) still leaves the raw
    ``age`` column in X: unawareness is not fairness, and which columns a
    model may use is the user's decision.

    Examples
    --------
    >>> from sklfair.datasets import load_german_credit
    >>> credit = load_german_credit()
    >>> credit.data.shape
    (1000, 22)
    >>> credit.target.value_counts().sort_index().tolist()
    [300, 700]
    >>> list(credit.sensitive.columns)
    ['sex', 'age_band']
    >>> credit.data["purpose"].value_counts().index[0]
    'radio/television'
    >>> X, y = load_german_credit(as_frame=False, return_X_y=True)
    >>> X.dtype, X.shape, y[:5].tolist()
    (dtype('float64'), (1000, 22), [1, 0, 1, 1, 0])
    """
    return build_bunch(
        _load_frame(),
        feature_names=FEATURE_NAMES,
        target_column=_TARGET,
        target_names=_TARGET_NAMES,
        sensitive_columns=_SENSITIVE,
        descr="german_credit.rst",
        as_frame=as_frame,
        return_X_y=return_X_y,
    )
