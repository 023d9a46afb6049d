"""The ProPublica COMPAS recidivism data set: :func:`load_compas`.

Reads the bundled ``data/compas-scores-two-years.csv.gz`` (ProPublica's
compas-analysis release, Broward County, 7,214 defendants) and applies
ProPublica's filtering, which leaves 6,172 rows.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import validate_params

from ._base import build_bunch, decode, read_csv

__all__ = ["load_compas"]

_FILE = "compas-scores-two-years.csv.gz"

_SEX = {"Male": "Male", "Female": "Female"}
_RACE = {
    name: name
    for name in [
        "African-American",
        "Asian",
        "Caucasian",
        "Hispanic",
        "Native American",
        "Other",
    ]
}
_AGE_CAT = {name: name for name in ["Less than 25", "25 - 45", "Greater than 45"]}
_CHARGE_DEGREE = {"F": "felony", "M": "misdemeanor"}
_SCORE_TEXT = {"Low": "Low", "Medium": "Medium", "High": "High"}
_DECODED = {
    "sex": _SEX,
    "age_cat": _AGE_CAT,
    "race": _RACE,
    "c_charge_degree": _CHARGE_DEGREE,
    "score_text": _SCORE_TEXT,
}

FEATURE_NAMES = [
    "sex",
    "age",
    "age_cat",
    "race",
    "juv_fel_count",
    "juv_misd_count",
    "juv_other_count",
    "priors_count",
    "c_charge_degree",
]
# COMPAS's own outputs: in ``frame`` only, never in ``data``.
_SCORES = ["decile_score", "score_text"]
_TARGET = "two_year_recid"
_TARGET_NAMES = ["no recidivism", "recidivism"]
_SENSITIVE = ["sex", "race", "age_cat"]


def _propublica_filter(raw):
    """Rows kept by ProPublica's analysis (``Compas Analysis.ipynb``).

    As R's ``filter``, a missing value in a condition drops the row.
    """
    days = raw["days_b_screening_arrest"]
    return (
        days.between(-30, 30)
        & (raw["is_recid"] != -1)
        & (raw["c_charge_degree"] != "O")
        & raw["score_text"].notna()
        & (raw["score_text"] != "N/A")
    )


@lru_cache(maxsize=1)
def _load_frame():
    """Parse, filter and decode the bundled file once per process."""
    # ``decile_score`` and ``priors_count`` appear twice in the file (the
    # second copies become ``*.1``); only the first ones are used.
    raw = read_csv(_FILE, keep_default_na=False, na_values=[""])
    raw = raw[_propublica_filter(raw)].reset_index(drop=True)
    columns = {}
    for name in [*FEATURE_NAMES, *_SCORES]:
        if name in _DECODED:
            columns[name] = decode(raw[name], _DECODED[name], name=name)
        else:
            columns[name] = raw[name].astype(np.int64)
    if not raw[_TARGET].isin([0, 1]).all():
        raise ValueError("The COMPAS target holds codes other than 0 and 1.")
    columns[_TARGET] = raw[_TARGET].astype(np.int64)
    return pd.DataFrame(columns)


@validate_params(
    {"as_frame": ["boolean"], "return_X_y": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_compas(*, as_frame=True, return_X_y=False):
    """Load ProPublica's COMPAS two-year recidivism data (6,172 rows).

    Defendants screened with the COMPAS risk tool in Broward County, Florida
    (2013-2014), filtered as ProPublica did in "How We Analyzed the COMPAS
    Recidivism Algorithm": ``days_b_screening_arrest`` within [-30, 30],
    ``is_recid != -1``, ``c_charge_degree != "O"`` and ``score_text != "N/A"``.
    The target says whether the defendant re-offended within two years. The
    bundled copy is read offline; the parsed frame is cached per process and
    every call returns fresh copies.

    ==============  ==================================
    Samples         6,172
    Features        9 (``sex``, ``age_cat``,
                    ``race``, ``c_charge_degree``
                    categorical, 5 numeric)
    Target          ``two_year_recid``: 1 re-offended
                    within two years (2,809), 0 not
    Sensitive       ``sex``, ``race``, ``age_cat``
    ==============  ==================================

    Read more in ``DESCR``, which documents every column.

    .. versionadded:: 0.1

    Parameters
    ----------
    as_frame : bool, default=True
        If True, ``data`` is a pandas DataFrame (categorical columns with the
        ``category`` dtype, numeric columns ``int64``), ``target`` an ``int64``
        Series and ``frame`` the DataFrame of the features, COMPAS's own
        ``decile_score`` and ``score_text``, and the target. If False,
        ``data`` is a float64 NumPy array in which every categorical column is
        ordinally encoded by its category codes, as
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

        data : pandas.DataFrame of shape (6172, 9) or ndarray
            The usual defendant features, including the sensitive columns
            ``sex``, ``race`` and ``age_cat`` (the sensitive attribute travels
            inside X, so that ``sensitive_columns="race"`` works on it).
        target : pandas.Series of shape (6172,) or ndarray
            ``two_year_recid``: 1 when the defendant re-offended within two
            years (the unfavourable outcome), 0 otherwise.
        frame : pandas.DataFrame of shape (6172, 12) or None
            ``data``, COMPAS's ``decile_score`` (1-10) and ``score_text``
            (``"Low"``, ``"Medium"``, ``"High"``), and ``target``; None when
            ``as_frame=False``. The scores are the tool under audit, not
            features: they are kept out of ``data``.
        feature_names : list of str
            The column names of ``data``.
        target_names : ndarray of str
            ``["no recidivism", "recidivism"]``: ``target_names[i]`` is the
            meaning of ``target == i``.
        sensitive : pandas.DataFrame of shape (6172, 3)
            The protected attributes ``sex`` (``"Male"``, ``"Female"``),
            ``race`` and ``age_cat`` (``"Less than 25"``, ``"25 - 45"``,
            ``"Greater than 45"``), with the index of ``data``. Always a
            DataFrame of labels, also when ``as_frame=False``, to be passed as
            ``sensitive_features=``.
        categories : dict or None
            With ``as_frame=False``, maps each categorical column to its list
            of categories: code ``i`` stands for the ``i``-th entry. None when
            ``as_frame=True``.
        DESCR : str
            Description of the data set: source, licence, every column and the
            target coding.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` described above.

    Notes
    -----
    ``age_cat`` is COMPAS's own age band (cuts at 25 and 45), so no
    ``age_band`` column is added. Dropping ``sex``, ``race`` and ``age_cat``
    (``drop_sensitive=True``) still leaves the raw ``age`` column:
    unawareness is not fairness, and which columns a model may use is the
    user's decision.

    Examples
    --------
    >>> from sklfair.datasets import load_compas
    >>> compas = load_compas()
    >>> compas.data.shape
    (6172, 9)
    >>> list(compas.sensitive.columns)
    ['sex', 'race', 'age_cat']
    >>> compas.data["race"].value_counts().head(2).to_dict()
    {'African-American': 3175, 'Caucasian': 2103}
    >>> list(compas.frame.columns[-3:])
    ['decile_score', 'score_text', 'two_year_recid']
    """
    return build_bunch(
        _load_frame(),
        feature_names=FEATURE_NAMES,
        target_column=_TARGET,
        target_names=_TARGET_NAMES,
        sensitive_columns=_SENSITIVE,
        descr="compas.rst",
        as_frame=as_frame,
        return_X_y=return_X_y,
    )
