"""Shared machinery of the bundled data set loaders.

Everything the four loaders have in common lives here: reading the compressed
files shipped in ``sklfair/datasets/data`` and the ``DESCR`` texts in
``sklfair/datasets/descr`` (package data, never the network), decoding coded
columns into pandas ``category`` columns, the ``age_band`` helper column, and
turning a cached, parsed frame into the scikit-learn style
:class:`~sklearn.utils.Bunch` (``as_frame``, ``return_X_y``).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = [
    "AGE_BAND_CATEGORIES",
    "AGE_BAND_CUT",
    "age_band",
    "build_bunch",
    "data_file",
    "decode",
    "read_csv",
    "read_descr",
]

_PACKAGE = "sklfair.datasets"

#: Age (in years) at which ``age_band`` switches from ``"<25"`` to ``">=25"``.
AGE_BAND_CUT = 25
#: The categories of the ``age_band`` column, in this order.
AGE_BAND_CATEGORIES = ("<25", ">=25")


def data_file(filename):
    """Traversable of a bundled data file (``sklfair/datasets/data/<filename>``)."""
    return resources.files(_PACKAGE).joinpath("data", filename)


def read_csv(filename, **kwargs):
    """Parse a bundled gzip-compressed text file with :func:`pandas.read_csv`.

    Only the package data is read: the file name is resolved inside the
    installed ``sklfair.datasets`` package.
    """
    with resources.as_file(data_file(filename)) as path:
        return pd.read_csv(path, compression="gzip", **kwargs)


def read_descr(filename):
    """Text of ``sklfair/datasets/descr/<filename>``."""
    return resources.files(_PACKAGE).joinpath("descr", filename).read_text("utf-8")


def decode(values, mapping, *, name):
    """Decode the codes in ``values`` into a categorical with readable labels.

    Parameters
    ----------
    values : pandas.Series
        The raw codes.
    mapping : dict
        Code -> label. A label of ``None`` marks a code documented as unknown
        (decoded to NaN). The categories follow the order of the labels in
        ``mapping``; labels that do not occur in the data are left out, so no
        group is empty.
    name : str
        Column name, used in the error message.

    Returns
    -------
    pandas.Categorical

    Raises
    ------
    ValueError
        When ``values`` holds a code that ``mapping`` does not know: the
        bundled file is not the one the loader was written for.
    """
    unknown = values[values.notna() & ~values.isin(list(mapping))]
    if len(unknown):
        raise ValueError(
            f"Column {name!r} holds undocumented codes "
            f"{sorted(set(unknown.tolist()))!r}; the bundled data file is corrupt."
        )
    labels = values.map({k: (np.nan if v is None else v) for k, v in mapping.items()})
    categories = [v for v in dict.fromkeys(mapping.values()) if v is not None]
    return pd.Categorical(labels, categories=categories).remove_unused_categories()


def age_band(age):
    """The ``age_band`` helper column: ``"<25"`` below 25 years, else ``">=25"``.

    Examples
    --------
    >>> import numpy as np
    >>> age_band(np.array([19, 24, 25, 70])).tolist()
    ['<25', '<25', '>=25', '>=25']
    """
    age = np.asarray(age, dtype=float)
    labels = np.where(age < AGE_BAND_CUT, *AGE_BAND_CATEGORIES).astype(object)
    labels[np.isnan(age)] = np.nan
    return pd.Categorical(labels, categories=list(AGE_BAND_CATEGORIES))


def _ordinal_array(data):
    """Float64 array of ``data``: categories as their codes, missing as NaN."""
    columns = []
    for name in data.columns:
        column = data[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy().astype(np.float64)
            codes[codes < 0] = np.nan
            columns.append(codes)
        else:
            columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.column_stack(columns)


def build_bunch(
    frame,
    *,
    feature_names,
    target_column,
    target_names,
    sensitive_columns,
    descr,
    as_frame,
    return_X_y,
):
    """Build a loader's return value from its cached, parsed ``frame``.

    Every object returned is a copy, so callers cannot change the cached frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        The full parsed frame (features, target and any extra columns), as
        cached by the loader. It is never returned itself.
    feature_names : list of str
        Columns that form ``data``.
    target_column : str
        Column that forms ``target``.
    target_names : list of str
        Meaning of each target code: ``target_names[i]`` describes ``target == i``.
    sensitive_columns : list of str
        Columns of ``frame`` that form ``sensitive``.
    descr : str
        File name of the ``DESCR`` text.
    as_frame, return_X_y : bool
        As in the loaders.
    """
    data = frame[feature_names].copy()
    target = frame[target_column].copy()
    if as_frame:
        full_frame = frame.copy()
        categories = None
    else:
        categories = {
            name: data[name].cat.categories.tolist()
            for name in feature_names
            if isinstance(data[name].dtype, pd.CategoricalDtype)
        }
        data = _ordinal_array(data)
        target = np.array(target, dtype=np.int64)  # writable, unlike a view
        full_frame = None
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=full_frame,
        feature_names=list(feature_names),
        target_names=np.asarray(target_names),
        sensitive=frame[list(sensitive_columns)].copy(),
        categories=categories,
        DESCR=read_descr(descr),
    )
