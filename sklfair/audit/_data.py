"""The audit's data: a bundled data set or a CSV file, read and checked.

:func:`load_audit_data` returns an :class:`AuditData` (features with the
sensitive columns inside, a binary target, the attributes to report and the
one to mitigate) or raises :class:`~sklfair.exceptions.AuditError` with a
one-line message: a missing column, a file that cannot be read, a CSV that
cannot be parsed (named with its line), a target that is not binary, a
sensitive attribute that cannot define groups.

A CSV is parsed twice: once by Python's :mod:`csv` module in strict mode,
record by record, to find structural faults that pandas reads silently (a
quote that is never closed, or closed in the middle of a field, folds lines
into one record and leaves later fields empty), then by :func:`pandas.read_csv`
for the values.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sklfair._sensitive import check_sensitive_features
from sklfair.exceptions import AuditError

from ._messages import one_line

__all__ = ["BAD_LABELS", "DATASETS", "AuditData", "load_audit_data"]

#: Bundled data sets: loader name, sensitive attributes reported by default,
#: attribute the mitigations aim at by default, and a one-line description.
DATASETS = {
    "taiwan": (
        "load_taiwan_credit",
        ["sex", "age_band"],
        "age_band",
        "Taiwan credit card default (30,000 clients; 1 = default next month)",
    ),
    "german": (
        "load_german_credit",
        ["sex", "age_band"],
        "age_band",
        "Statlog German credit (1,000 applicants; 1 = good credit risk)",
    ),
    "adult": (
        "load_adult",
        ["sex", "race"],
        "sex",
        "Adult census income (32,561 people; 1 = income over 50K)",
    ),
    "compas": (
        "load_compas",
        ["race", "sex"],
        "race",
        "ProPublica COMPAS (6,172 defendants; 1 = re-offended within two years)",
    ),
}

#: The label of the unfavourable outcome of each bundled data set -- a
#: default, a decline, a re-offence -- which the credit section treats as
#: "bad" (its probability is the PD, and a predicted bad is a decline).
#: German credit codes 1 as a good risk, so its bad label is 0.
BAD_LABELS = {"taiwan": 1, "german": 0, "adult": 0, "compas": 1}

# Compressed CSV files read by suffix, as pandas reads them.
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


@dataclass
class AuditData:
    """A binary classification data set with its sensitive attributes.

    Attributes
    ----------
    X : pandas.DataFrame
        Every column, the sensitive ones included (they travel inside X and
        are dropped before any model sees it).
    y : pandas.Series
        The binary target, as given.
    sensitive : list of str
        The sensitive attributes reported, columns of ``X``.
    mitigate : str
        The attribute the mitigations aim at, one of ``sensitive``.
    name : str
        A short name of the data set (``"taiwan"``, or the CSV's file name).
    description : str
        One line saying what the data and the target are.
    pos_label : object
        The positive label (the greater of the two, scikit-learn's
        convention): selection rates and the AUC are about it.
    bad_label : object, default=None
        The label of the unfavourable outcome (a default): the credit
        section's probability of default is the probability of this label,
        and a row predicted with it is declined. None means ``pos_label``.
    """

    X: pd.DataFrame
    y: pd.Series
    sensitive: list
    mitigate: str
    name: str
    description: str
    pos_label: object
    bad_label: object = None

    def __post_init__(self):
        if self.bad_label is None:
            self.bad_label = self.pos_label


def _open_text(path):
    opener = _OPENERS.get(path.suffix.lower(), open)
    return opener(path, "rt", encoding="utf-8-sig", newline="")


def _check_csv_records(path):
    """Raise :class:`AuditError` naming the line of a CSV's first fault.

    Every record must sit on one line and have as many fields as the header;
    blank lines are skipped, as pandas skips them.
    """
    where = f"cannot parse {str(path)!r} as CSV"
    with _open_text(path) as handle:
        reader = csv.reader(handle, strict=True)
        width, end = None, 0
        while True:
            start = end + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "unexpected end of data" in str(exc):
                    raise AuditError(
                        f"{where}: line {start}: a quoted field is never closed "
                        "(the quote runs to the end of the file)"
                    ) from None
                if "expected after" in str(exc):
                    raise AuditError(
                        f"{where}: line {reader.line_num}: a quote closes in the "
                        "middle of a field (text follows the closing quote)"
                    ) from None
                raise AuditError(f"{where}: line {reader.line_num}: {exc}") from None
            end = reader.line_num
            if not record:
                continue
            if end > start:
                raise AuditError(
                    f"{where}: lines {start}-{end} are one record: a quote opened "
                    f"on line {start} closes on line {end} (a stray or unclosed "
                    "quote?); the audit reads one record per line"
                )
            if width is None:
                width = len(record)
            elif len(record) != width:
                raise AuditError(
                    f"{where}: line {start} has {len(record)} fields, the header "
                    f"has {width}"
                )


def _read_csv(path):
    path = Path(path)
    if not path.is_file():
        reason = "it is a folder" if path.is_dir() else "no such file"
        raise AuditError(f"cannot read {str(path)!r}: {reason}")
    try:
        _check_csv_records(path)
        frame = pd.read_csv(path)
    except UnicodeDecodeError:
        raise AuditError(
            f"cannot read {str(path)!r} as CSV: it is not UTF-8 text (the audit "
            "reads plain, .gz, .bz2 and .xz CSV files)"
        ) from None
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise AuditError(f"cannot read {str(path)!r} as CSV: {one_line(exc)}") from None
    except pd.errors.ParserError as exc:
        raise AuditError(
            f"cannot parse {str(path)!r} as CSV: {one_line(exc)}"
        ) from None
    except pd.errors.EmptyDataError:
        raise AuditError(
            f"cannot read {str(path)!r} as CSV: the file is empty"
        ) from None
    if frame.shape[0] == 0 or frame.shape[1] < 2:
        raise AuditError(
            f"{str(path)!r} has {frame.shape[0]} rows and {frame.shape[1]} columns; "
            "the audit needs a target and at least one feature"
        )
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(
            column
        ):
            frame[name] = column.astype("category")
    return frame


def _describe(names, limit=12):
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} columns)" if len(names) > limit else "")


def _check_column(frame, name, role):
    if name not in frame.columns:
        raise AuditError(
            f"{role} column {name!r} is not in the data; columns are "
            f"{_describe(frame.columns)}"
        )


def _match_label(text, labels, target):
    """The label of ``labels`` that ``text`` names (compared as text)."""
    for label in labels:
        if str(label) == str(text):
            return label
    shown = ", ".join(repr(str(v)) for v in labels)
    raise AuditError(
        f"--bad-label {str(text)!r} is not a value of the target {target!r} ({shown})"
    )


def load_audit_data(
    dataset=None,
    *,
    csv=None,
    target=None,
    sensitive=None,
    mitigate=None,
    bad_label=None,
):
    """Load and check the data of an audit.

    Parameters
    ----------
    dataset : {"taiwan", "german", "adult", "compas"}, default=None
        A bundled data set. None with ``csv=None`` means ``"taiwan"``.
    csv : str or path, default=None
        A CSV file with a header row instead (give ``target`` and
        ``sensitive``): UTF-8 text, plain or compressed (``.gz``, ``.bz2``,
        ``.xz``), one record per line. Non-numeric columns are treated as
        categories.
    target : str, default=None
        The target column of the CSV; it must hold exactly two values.
    sensitive : list of str, default=None
        Sensitive attributes, columns of the data; by default the bundled
        data set's (see :data:`DATASETS`). Each must have between 2 and 20
        groups and no missing value: bin a continuous one (age) first.
    mitigate : str, default=None
        The attribute the mitigations aim at; the data set's default, or the
        first of ``sensitive``.
    bad_label : object, default=None
        The CSV target's unfavourable outcome (a default), given as the value
        or its text; None means the positive label (the greater one). A
        bundled data set knows its own (:data:`BAD_LABELS`).

    Returns
    -------
    AuditData

    Raises
    ------
    AuditError
        For a missing column, a file that cannot be read, a CSV that cannot
        be parsed (the message names the line), a target that is not binary,
        an unusable sensitive attribute, or inconsistent arguments.

    Examples
    --------
    >>> from sklfair.audit import load_audit_data
    >>> data = load_audit_data("german")
    >>> data.X.shape, data.sensitive, data.mitigate
    ((1000, 22), ['sex', 'age_band'], 'age_band')
    >>> data.pos_label, data.bad_label  # 1 = good risk: a bad risk is 0
    (1, 0)
    >>> load_audit_data("german", sensitive=["gender"])
    Traceback (most recent call last):
    ...
    sklfair.exceptions.AuditError: sensitive column 'gender' is not in the data; ...
    """
    if csv is not None and dataset is not None:
        raise AuditError("give either --dataset or --csv, not both")
    if csv is None and target is not None:
        raise AuditError("--target is for --csv; a bundled data set has its target")
    if csv is None and bad_label is not None:
        raise AuditError(
            "--bad-label is for --csv; a bundled data set knows its bad outcome"
        )
    if csv is not None:
        if target is None:
            raise AuditError("--csv needs --target COL (the binary target column)")
        if not sensitive:
            raise AuditError("--csv needs --sensitive COL [COL ...]")
        frame = _read_csv(csv)
        _check_column(frame, target, "target")
        y = frame[target]
        X = frame.drop(columns=[target])
        name = Path(csv).name
        description = f"{name} ({len(frame)} rows; target {target!r})"
        default_sensitive, default_mitigate = None, None
    else:
        dataset = "taiwan" if dataset is None else dataset
        if dataset not in DATASETS:
            raise AuditError(
                f"unknown data set {dataset!r}; choose from {sorted(DATASETS)}"
            )
        loader, default_sensitive, default_mitigate, description = DATASETS[dataset]
        from sklfair import datasets

        bunch = getattr(datasets, loader)()
        X, y, name = bunch.data, bunch.target, dataset

    sensitive = list(dict.fromkeys(sensitive or default_sensitive))
    for column in sensitive:
        if csv is not None and column == target:
            raise AuditError(f"{column!r} is the target; it cannot be sensitive")
        _check_column(X, column, "sensitive")
    if mitigate is None:
        mitigate = default_mitigate if default_mitigate in sensitive else sensitive[0]
    if mitigate not in sensitive:
        raise AuditError(
            f"--mitigate {mitigate!r} is not one of the sensitive attributes "
            f"{sensitive}"
        )

    if y.isna().any():
        raise AuditError(
            f"the target {y.name!r} has {int(y.isna().sum())} missing values; "
            "drop those rows first"
        )
    labels = pd.unique(y)
    if len(labels) != 2:
        shown = ", ".join(repr(v) for v in labels[:5].tolist())
        raise AuditError(
            f"the target {y.name!r} must be binary, but it has {len(labels)} "
            f"distinct values ({shown}{', ...' if len(labels) > 5 else ''})"
        )
    if isinstance(y.dtype, pd.CategoricalDtype):
        y = y.astype(str)
    pos_label = sorted(labels.tolist(), key=lambda v: (str(type(v)), v))[-1]
    if csv is None:
        bad_label = BAD_LABELS[dataset]
    elif bad_label is not None:
        bad_label = _match_label(bad_label, pd.unique(y).tolist(), y.name)
    if len(X) < 20 or y.value_counts().min() < 5:
        raise AuditError(
            f"too little data: {len(X)} rows, {int(y.value_counts().min())} of the "
            "rarer class; the audit needs at least 20 rows and 5 of each class"
        )
    for column in sensitive:
        try:
            # the audit refuses a continuous column (no silent quartiles in a
            # report for a committee): the error asks to bin it first
            check_sensitive_features(X[column], name=column, bins=False)
        except (ValueError, TypeError) as exc:
            raise AuditError(str(exc).splitlines()[0]) from None
    if not [c for c in X.columns if c not in sensitive]:
        raise AuditError("no feature is left once the sensitive columns are removed")
    return AuditData(
        X=X.reset_index(drop=True),
        y=y.reset_index(drop=True),
        sensitive=sensitive,
        mitigate=mitigate,
        name=name,
        description=description,
        pos_label=_plain(pos_label),
        bad_label=None if bad_label is None else _plain(bad_label),
    )


def _plain(label):
    """A numpy scalar label as the Python value (``1``, not ``np.int64(1)``)."""
    return label.item() if hasattr(label, "item") else label
