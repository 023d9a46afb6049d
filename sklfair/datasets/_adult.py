"""The Adult census income data set: :func:`load_adult`.

Reads the bundled ``data/adult.data.gz`` (training split, 32,561 rows) and
``data/adult.test.gz`` (test split, 16,281 rows; its first junk line is
skipped and the trailing ``.`` of its labels stripped), with ``?`` read as
missing.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import StrOptions, validate_params

from ._base import age_band, build_bunch, read_csv

__all__ = ["load_adult"]

_TRAIN_FILE = "adult.data.gz"
_TEST_FILE = "adult.test.gz"

# The column names of the data README (adult.names), in snake_case.
_RAW_NAMES = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]
_CATEGORICAL = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native_country",
]
_LABELS = {"<=50K": 0, ">50K": 1}

_TARGET = "income_over_50k"
_TARGET_NAMES = ["<=50K", ">50K"]
_SENSITIVE = ["sex", "race", "age_band"]

FEATURE_NAMES = [name for name in _RAW_NAMES if name != "income"] + ["age_band"]


def _read_split(filename, skiprows):
    return read_csv(
        filename,
        header=None,
        names=_RAW_NAMES,
        skipinitialspace=True,
        na_values=["?"],
        keep_default_na=False,
        skiprows=skiprows,
    )


@lru_cache(maxsize=1)
def _load_frame():
    """Parse both splits once per process; return ``(frame, n_train)``.

    The frame holds the training rows followed by the test rows. It is never
    returned to a caller.
    """
    train = _read_split(_TRAIN_FILE, skiprows=0)
    test = _read_split(_TEST_FILE, skiprows=1)  # "|1x3 Cross validator"
    test["income"] = test["income"].str.removesuffix(".")
    raw = pd.concat([train, test], ignore_index=True)

    labels = raw["income"]
    if not labels.isin(list(_LABELS)).all():
        bad = sorted(set(labels[~labels.isin(list(_LABELS))].tolist()))
        raise ValueError(f"Unexpected Adult income labels {bad!r}.")
    columns = {}
    for name in _RAW_NAMES[:-1]:
        if name not in _CATEGORICAL:
            columns[name] = raw[name].astype(np.int64)
        elif name == "education":
            # Categories in the order of the education level (education_num).
            levels = raw.groupby("education")["education_num"].first()
            columns[name] = pd.Categorical(
                raw[name], categories=levels.sort_values().index.tolist()
            )
        else:
            columns[name] = pd.Categorical(
                raw[name], categories=sorted(raw[name].dropna().unique())
            )
    columns["age_band"] = age_band(raw["age"])
    columns[_TARGET] = labels.map(_LABELS).astype(np.int64)
    return pd.DataFrame(columns), len(train)


@validate_params(
    {
        "subset": [StrOptions({"train", "test", "all"})],
        "as_frame": ["boolean"],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_adult(*, subset="train", as_frame=True, return_X_y=False):
    """Load the Adult census income data set (classification).

    Adults from the 1994 US census with their demographics, education and
    work; the target says whether their yearly income exceeds 50,000 dollars.
    The bundled copy keeps the original train/test split. It is read offline;
    the parsed frame is cached per process and every call returns fresh
    copies.

    ==============  ==================================
    Samples         32,561 (train), 16,281 (test),
                    48,842 (all)
    Features        15 (8 categorical and
                    ``age_band``, 6 numeric)
    Target          ``income_over_50k``: 1 >50K,
                    0 <=50K (train: 7,841 ones;
                    test: 3,846 ones)
    Sensitive       ``sex``, ``race``, ``age_band``
    ==============  ==================================

    Read more in ``DESCR``, which documents every column.

    .. versionadded:: 0.1

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to load: ``adult.data`` (``"train"``), ``adult.test``
        (``"test"``) or both, training rows first (``"all"``). Each split has
        the same categories in its categorical columns, and a fresh
        ``RangeIndex``.
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

        data : pandas.DataFrame of shape (n_samples, 15) or ndarray
            The features, including the sensitive columns ``sex``, ``race``
            and ``age_band`` (the sensitive attribute travels inside X, so
            that ``sensitive_columns="sex"`` works on it). Missing values
            (``?`` in the files) are NaN.
        target : pandas.Series of shape (n_samples,) or ndarray
            ``income_over_50k``: 1 for an income above 50K (the favourable
            outcome), 0 otherwise.
        frame : pandas.DataFrame of shape (n_samples, 16) or None
            ``data`` and ``target`` together; None when ``as_frame=False``.
        feature_names : list of str
            The column names of ``data``.
        target_names : ndarray of str
            ``["<=50K", ">50K"]``: ``target_names[i]`` is the meaning of
            ``target == i``.
        sensitive : pandas.DataFrame of shape (n_samples, 3)
            The protected attributes ``sex`` (``"Female"``, ``"Male"``),
            ``race`` and ``age_band`` (``"<25"``, ``">=25"``), with the index
            of ``data``. Always a DataFrame of labels, also when
            ``as_frame=False``, to be passed as ``sensitive_features=``.
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
    sklearn.datasets.fetch_openml : The same data (``"adult"``), downloaded.

    Notes
    -----
    Dropping ``sex``, ``race`` and ``age_band`` (``drop_sensitive=True``)
    still leaves the raw ``age`` column, and ``relationship`` (``"Husband"``,
    ``"Wife"``) encodes sex for most rows: unawareness is not fairness, and
    which columns a model may use is the user's decision. ``fnlwgt`` is the
    census sampling weight, not a property of the person.

    Examples
    --------
    >>> from sklfair.datasets import load_adult
    >>> adult = load_adult()
    >>> adult.data.shape
    (32561, 15)
    >>> int(adult.target.sum())
    7841
    >>> list(adult.sensitive.columns)
    ['sex', 'race', 'age_band']
    >>> X_test, y_test = load_adult(subset="test", return_X_y=True)
    >>> X_test.shape
    (16281, 15)
    >>> int(X_test["workclass"].isna().sum())
    963
    """
    frame, n_train = _load_frame()
    if subset == "train":
        frame = frame.iloc[:n_train]
    elif subset == "test":
        frame = frame.iloc[n_train:].reset_index(drop=True)
    return build_bunch(
        frame,
        feature_names=FEATURE_NAMES,
        target_column=_TARGET,
        target_names=_TARGET_NAMES,
        sensitive_columns=_SENSITIVE,
        descr="adult.rst",
        as_frame=as_frame,
        return_X_y=return_X_y,
    )
