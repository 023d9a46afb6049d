"""The fairness audit behind ``python -m sklfair audit``.

One call, :func:`run_audit`, takes a binary classification data set with its
sensitive attributes, splits it (stratified by the target), fits a baseline
and every mitigation sklfair offers, measures them all on the held-out rows
and writes an HTML report with plots:

- :func:`load_audit_data` -- a bundled data set (:mod:`sklfair.datasets`) or a
  CSV file, checked (:class:`AuditError` with a one-line message on bad
  input);
- :func:`make_preprocessor` -- the shared preprocessing: one-hot encoding for
  categorical columns, mean imputation and standard scaling for numeric ones;
  the sensitive columns are never model inputs;
- :func:`make_contenders` -- the models compared: logistic regression and a
  :class:`~sklfair.nets.TabularNetClassifier` (baselines),
  :class:`~sklfair.reweighting.ReweighingClassifier`,
  :class:`~sklfair.constrained.FairConstrainedClassifier` (Lagrangian at two
  bounds, and group thresholds), a gradient-boosting teacher and two
  :class:`~sklfair.distillation.DistilledClassifier` students (plain and
  fair);
- :func:`evaluate` -- the comparison table (accuracy, AUC, demographic parity
  and equalized odds differences per sensitive attribute, fit seconds);
- :func:`write_report` -- ``report.html`` with the table, the
  accuracy--fairness Pareto plot and each model's group-metric plots (PNG
  files beside it), plus ``results.csv`` and ``predictions.csv``.

Mitigations are aimed at one attribute (``mitigate``); every sensitive
attribute is reported. Torch is imported only by the modules that train
networks; matplotlib only when the report is written.
"""

from __future__ import annotations

import contextlib
import html
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from sklfair._sensitive import check_sensitive_features
from sklfair.metrics import demographic_parity_difference, equalized_odds_difference

__all__ = [
    "AuditData",
    "AuditError",
    "AuditResult",
    "Contender",
    "DATASETS",
    "evaluate",
    "load_audit_data",
    "make_contenders",
    "make_preprocessor",
    "run_audit",
    "write_report",
]

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

#: Share of the rows held out for measurement.
TEST_SIZE = 0.3

#: The two bounds of the Lagrangian contenders (largest allowed gap).
LAGRANGIAN_BOUNDS = (0.05, 0.02)

#: Bound of the fair distilled student.
STUDENT_BOUND = 0.02

#: Fairness constraints the audit can aim at (``--constraint``).
CONSTRAINTS = ("demographic_parity", "equalized_odds", "equal_opportunity")

#: Training budgets: the default run and the fast ``quick`` one (for tests).
BUDGETS = {
    "full": {
        "net_epochs": 20,
        "batch_size": 256,
        "student_epochs": 20,
        "hgb_iter": 200,
        "lr_iter": 1000,
    },
    "quick": {
        "net_epochs": 15,
        "batch_size": 64,
        "student_epochs": 15,
        "hgb_iter": 40,
        "lr_iter": 300,
    },
}

# Categorical columns of a CSV with more distinct values than this are
# rare-category-merged by the one-hot encoder.
_MAX_CATEGORIES = 30


class AuditError(ValueError):
    """Bad audit input; the message is one line, fit for a command line."""


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


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
    """

    X: pd.DataFrame
    y: pd.Series
    sensitive: list
    mitigate: str
    name: str
    description: str
    pos_label: object


def _read_csv(path):
    path = Path(path)
    if not path.is_file():
        reason = "it is a folder" if path.is_dir() else "no such file"
        raise AuditError(f"cannot read {str(path)!r}: {reason}")
    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise AuditError(
            f"cannot read {str(path)!r} as CSV: {_one_line(exc)}"
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


def load_audit_data(
    dataset=None, *, csv=None, target=None, sensitive=None, mitigate=None
):
    """Load and check the data of an audit.

    Parameters
    ----------
    dataset : {"taiwan", "german", "adult", "compas"}, default=None
        A bundled data set. None with ``csv=None`` means ``"taiwan"``.
    csv : str or path, default=None
        A CSV file with a header row instead (give ``target`` and
        ``sensitive``). Non-numeric columns are treated as categories.
    target : str, default=None
        The target column of the CSV; it must hold exactly two values.
    sensitive : list of str, default=None
        Sensitive attributes, columns of the data; by default the bundled
        data set's (see :data:`DATASETS`). Each must have between 2 and 20
        groups and no missing value: bin a continuous one (age) first.
    mitigate : str, default=None
        The attribute the mitigations aim at; the data set's default, or the
        first of ``sensitive``.

    Returns
    -------
    AuditData

    Raises
    ------
    AuditError
        For a missing column, an unreadable file, a target that is not
        binary, an unusable sensitive attribute, or inconsistent arguments.

    Examples
    --------
    >>> from sklfair.audit import load_audit_data
    >>> data = load_audit_data("german")
    >>> data.X.shape, data.sensitive, data.mitigate
    ((1000, 22), ['sex', 'age_band'], 'age_band')
    >>> load_audit_data("german", sensitive=["gender"])
    Traceback (most recent call last):
    ...
    sklfair.audit.AuditError: sensitive column 'gender' is not in the data; ...
    """
    if csv is not None and dataset is not None:
        raise AuditError("give either --dataset or --csv, not both")
    if csv is None and target is not None:
        raise AuditError("--target is for --csv; a bundled data set has its target")
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
    if len(X) < 20 or y.value_counts().min() < 5:
        raise AuditError(
            f"too little data: {len(X)} rows, {int(y.value_counts().min())} of the "
            "rarer class; the audit needs at least 20 rows and 5 of each class"
        )
    for column in sensitive:
        try:
            check_sensitive_features(X[column], name=column)
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
        pos_label=pos_label.item() if hasattr(pos_label, "item") else pos_label,
    )


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


def make_preprocessor(X, sensitive):
    """The preprocessing shared by every model: sensitive columns never enter.

    Categorical (non-numeric) columns are one-hot encoded (missing values
    are a category of their own; unknown categories at prediction time are
    ignored); numeric columns are mean-imputed and standardised. Columns are
    picked by name, so the sensitive ones are dropped whether or not a
    meta-estimator removed them first.

    Parameters
    ----------
    X : pandas.DataFrame
        The data (only its column names and dtypes are used).
    sensitive : list of str
        Columns left out.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Unfitted; dense float output.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfair.audit import make_preprocessor
    >>> X = pd.DataFrame({"income": [1.0, 2.0, None],
    ...                   "housing": pd.Categorical(["own", "rent", "own"]),
    ...                   "sex": ["f", "m", "f"]})
    >>> make_preprocessor(X, ["sex"]).fit_transform(X).shape
    (3, 3)
    """
    features = [c for c in X.columns if c not in set(sensitive)]
    numeric = [
        c
        for c in features
        if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
    ]
    categorical = [c for c in features if c not in set(numeric)]
    transformers = []
    if categorical:
        transformers.append(
            (
                "categories",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=_MAX_CATEGORIES,
                    sparse_output=False,
                ),
                categorical,
            )
        )
    if numeric:
        transformers.append(
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), numeric)
        )
    return ColumnTransformer(transformers, remainder="drop")


@dataclass
class Contender:
    """One model of the audit.

    Attributes
    ----------
    name : str
        Its row in the table.
    kind : str
        ``"baseline"``, ``"pre-processing"``, ``"in-processing"``,
        ``"post-processing"`` or ``"distillation"``.
    make : callable
        ``make(fitted) -> estimator``: builds the unfitted estimator, given the
        dict of contenders fitted so far (a distilled student uses the fitted
        teacher).
    note : str
        What it is, in a few words (shown in the report).
    """

    name: str
    kind: str
    make: object
    note: str = ""


def _try_import(module, name):
    """``module.name``, or None when that part of sklfair is not installed."""
    import importlib

    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def make_contenders(
    data, *, constraint="demographic_parity", device="auto", seed=0, quick=False
):
    """The models an audit compares, in table order.

    Parameters
    ----------
    data : AuditData
        The data (for the column names and the attribute to mitigate).
    constraint : {"demographic_parity", "equalized_odds", \
            "equal_opportunity"}, default="demographic_parity"
        The fairness constraint of the in-processing and distilled
        contenders.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the networks train.
    seed : int, default=0
        Seeds every model.
    quick : bool, default=False
        Small training budgets (:data:`BUDGETS`), for tests and smoke runs.

    Returns
    -------
    contenders : list of Contender
    missing : list of str
        The contenders left out because their part of sklfair is missing,
        with the reason.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    from sklfair.nets import TabularNetClassifier

    budget = BUDGETS["quick" if quick else "full"]
    preprocessor = make_preprocessor(data.X, data.sensitive)
    target = [data.mitigate]
    short = {
        "demographic_parity": "DP",
        "equalized_odds": "EO",
        "equal_opportunity": "EOpp",
    }[constraint]

    def net(hidden_units=(64, 64), epochs=budget["net_epochs"]):
        return TabularNetClassifier(
            hidden_units=hidden_units,
            max_epochs=epochs,
            batch_size=budget["batch_size"],
            device=device,
            random_state=seed,
        )

    def pipeline(estimator):
        return Pipeline([("preprocess", clone(preprocessor)), ("model", estimator)])

    contenders = [
        Contender(
            "logistic regression",
            "baseline",
            lambda fitted: pipeline(
                LogisticRegression(max_iter=budget["lr_iter"], random_state=seed)
            ),
            "sklearn LogisticRegression, sensitive columns not inputs",
        ),
        Contender(
            "network",
            "baseline",
            lambda fitted: pipeline(net()),
            "TabularNetClassifier (64, 64), sensitive columns not inputs",
        ),
    ]
    missing = []

    ReweighingClassifier = _try_import("sklfair.reweighting", "ReweighingClassifier")
    if ReweighingClassifier is None:
        missing.append("reweighing: sklfair.reweighting is not available")
    else:
        contenders.append(
            Contender(
                "reweighing",
                "pre-processing",
                lambda fitted: ReweighingClassifier(
                    pipeline(net()), sensitive_columns=target
                ),
                f"ReweighingClassifier(network), weights by {data.mitigate}",
            )
        )

    FairConstrainedClassifier = _try_import(
        "sklfair.constrained", "FairConstrainedClassifier"
    )
    if FairConstrainedClassifier is None:
        missing.append(
            "lagrangian and threshold: sklfair.constrained.FairConstrainedClassifier "
            "is not available"
        )
    else:
        for bound in LAGRANGIAN_BOUNDS:
            contenders.append(
                Contender(
                    f"lagrangian {short}<={bound:g}",
                    "in-processing",
                    lambda fitted, bound=bound: FairConstrainedClassifier(
                        pipeline(net()),
                        constraint=constraint,
                        bound=bound,
                        method="lagrangian",
                        sensitive_columns=target,
                    ),
                    f"FairConstrainedClassifier(network, method='lagrangian', "
                    f"{constraint} gap of {data.mitigate} <= {bound:g})",
                )
            )
        contenders.append(
            Contender(
                f"threshold {short}",
                "post-processing",
                lambda fitted: FairConstrainedClassifier(
                    pipeline(net()),
                    constraint=constraint,
                    method="threshold",
                    sensitive_columns=target,
                    random_state=seed,
                ),
                f"FairConstrainedClassifier(network, method='threshold'): group "
                f"thresholds by {data.mitigate}, which it reads at prediction",
            )
        )

    contenders.append(
        Contender(
            "gradient boosting",
            "baseline",
            lambda fitted: pipeline(
                HistGradientBoostingClassifier(
                    max_iter=budget["hgb_iter"], random_state=seed
                )
            ),
            "sklearn HistGradientBoostingClassifier: the teacher of the students",
        )
    )
    DistilledClassifier = _try_import("sklfair.distillation", "DistilledClassifier")
    if DistilledClassifier is None:
        missing.append("distilled students: sklfair.distillation is not available")
    else:

        def student(fitted, **fair):
            return DistilledClassifier(
                FrozenEstimator(fitted["gradient boosting"]),
                pipeline(net(hidden_units=(32,), epochs=budget["student_epochs"])),
                sensitive_columns=target,
                random_state=seed,
                **fair,
            )

        contenders += [
            Contender(
                "distilled",
                "distillation",
                student,
                "DistilledClassifier: a (32,) network taught by the gradient "
                "boosting (fit seconds exclude the teacher's fit)",
            ),
            Contender(
                f"distilled {short}<={STUDENT_BOUND:g}",
                "distillation",
                lambda fitted: student(
                    fitted, constraint=constraint, bound=STUDENT_BOUND
                ),
                f"the same student trained under {constraint} of "
                f"{data.mitigate} <= {STUDENT_BOUND:g}",
            ),
        ]
    return contenders, missing


# --------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------


def _positive_scores(estimator, X, pos_label):
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    column = list(estimator.classes_).index(pos_label)
    return proba[:, column]


def evaluate(estimator, X, y, *, sensitive, pos_label):
    """One row of the comparison table for a fitted estimator.

    Parameters
    ----------
    estimator : fitted classifier
        Predicts from ``X`` as given (sensitive columns included).
    X : pandas.DataFrame
        Held-out rows.
    y : pandas.Series
        Their labels.
    sensitive : list of str
        The attributes measured (columns of ``X``).
    pos_label : object
        The positive label.

    Returns
    -------
    row : dict
        ``accuracy``, ``AUC``, and for each attribute ``a`` the
        ``DP diff a`` and ``EO diff a`` (fairlearn's demographic parity and
        equalized odds differences of the positive-label decisions).
    predictions : pandas.DataFrame
        ``y_pred`` and ``score`` (probability of the positive label) per row.
    """
    y_pred = np.asarray(estimator.predict(X))
    score = _positive_scores(estimator, X, pos_label)
    y_true01 = (np.asarray(y) == pos_label).astype(np.int64)
    y_pred01 = (y_pred == pos_label).astype(np.int64)
    row = {
        "accuracy": accuracy_score(np.asarray(y), y_pred),
        "AUC": roc_auc_score(y_true01, score),
    }
    for attribute in sensitive:
        groups = X[attribute].to_numpy()
        row[f"DP diff {attribute}"] = demographic_parity_difference(
            y_true01, y_pred01, sensitive_features=groups
        )
    for attribute in sensitive:
        groups = X[attribute].to_numpy()
        row[f"EO diff {attribute}"] = equalized_odds_difference(
            y_true01, y_pred01, sensitive_features=groups
        )
    predictions = pd.DataFrame({"y_pred": y_pred, "score": score}, index=X.index)
    return {k: float(v) for k, v in row.items()}, predictions


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------


@dataclass
class AuditResult:
    """What :func:`run_audit` returns.

    Attributes
    ----------
    data : AuditData
    table : pandas.DataFrame
        One row per contender (index ``model``): ``kind``, the metrics of
        :func:`evaluate` and ``fit s`` (seconds to fit).
    models : dict
        The fitted contenders by name.
    predictions : pandas.DataFrame
        Held-out rows: their index in the data, the true label and each
        contender's ``<name> y_pred`` and ``<name> score``.
    test_index : numpy.ndarray
        Row positions (in ``data.X``) of the held-out rows.
    missing : list of str
        Contenders left out, with the reason.
    notes : list of str
        Notes printed along the way (device fallback, failed fits).
    seconds : float
        Wall time of the whole run.
    settings : dict
        The options of the run.
    descriptions : dict
        What each contender is, in a few words, by name.
    files : list of pathlib.Path
        Files written (empty when ``out`` was None).
    """

    data: AuditData
    table: pd.DataFrame
    models: dict
    predictions: pd.DataFrame
    test_index: np.ndarray
    missing: list
    notes: list
    seconds: float
    settings: dict
    descriptions: dict = field(default_factory=dict)
    files: list = field(default_factory=list)


def _one_line(exc):
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _unique_warnings(caught, limit=240):
    """First lines of the caught warnings, each once, shortened."""
    seen = []
    for item in caught:
        lines = str(item.message).strip().splitlines()
        text = f"{item.category.__name__}: {lines[0] if lines else ''}"
        text = text if len(text) <= limit else text[: limit - 3] + "..."
        if text not in seen:
            seen.append(text)
    return seen


def _log(stream, message):
    if stream is not None:
        print(message, file=stream, flush=True)


def _resolve_device(device, notes, stream):
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        note = "CUDA is not available on this machine: the networks train on the CPU"
        notes.append(note)
        _log(stream, f"note: {note}")
    return "cpu"


def run_audit(
    data,
    *,
    out=None,
    constraint="demographic_parity",
    device="auto",
    seed=0,
    quick=False,
    threads=None,
    progress=True,
):
    """Fit every contender on a stratified split and measure it.

    Parameters
    ----------
    data : AuditData
        From :func:`load_audit_data`.
    out : str or path, default=None
        Folder for ``report.html``, its PNG plots, ``results.csv`` and
        ``predictions.csv`` (created if needed). None writes nothing.
    constraint : {"demographic_parity", "equalized_odds", \
            "equal_opportunity"}, default="demographic_parity"
        The constraint of the in-processing and fair distilled contenders.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the networks train; ``"cuda"`` without a GPU falls back to the
        CPU with a note.
    seed : int, default=0
        Seeds the split and every model.
    quick : bool, default=False
        Small training budgets, for tests and smoke runs.
    threads : int, default=None
        Torch CPU threads for the run (None leaves torch's setting). The
        networks are small: one thread is as fast as several on an idle
        machine and much faster on a busy one.
    progress : bool or file, default=True
        Where progress lines go: True for ``sys.stderr``, False for nowhere,
        or an open text file.

    Returns
    -------
    AuditResult
    """
    if constraint not in CONSTRAINTS:
        raise AuditError(
            f"unknown constraint {constraint!r}; choose from {list(CONSTRAINTS)}"
        )
    start = time.perf_counter()
    if progress is True:
        progress = sys.stderr
    elif progress is False:
        progress = None
    notes = []
    device = _resolve_device(device, notes, progress)
    if threads is not None and device == "cpu":
        import torch

        torch.set_num_threads(int(threads))

    X, y = data.X, data.y
    positions = np.arange(len(X))
    train_rows, test_rows = train_test_split(
        positions, test_size=TEST_SIZE, stratify=y, random_state=seed
    )
    X_train, X_test = X.iloc[train_rows], X.iloc[test_rows]
    y_train, y_test = y.iloc[train_rows], y.iloc[test_rows]
    contenders, missing = make_contenders(
        data, constraint=constraint, device=device, seed=seed, quick=quick
    )
    _log(
        progress,
        f"sklfair audit: {data.description}\n"
        f"  {len(X_train)} training / {len(X_test)} test rows (stratified), "
        f"sensitive: {', '.join(data.sensitive)}; mitigations aim at "
        f"{data.mitigate} ({constraint}); device {device}"
        + ("; quick budgets" if quick else ""),
    )
    for reason in missing:
        _log(progress, f"  left out: {reason}")

    rows, models = [], {}
    predictions = pd.DataFrame(
        {"row": test_rows, "y_true": y_test.to_numpy()}, index=X_test.index
    )
    limits = (
        threadpool_limits(limits=int(threads))
        if threads is not None
        else contextlib.nullcontext()
    )
    with limits:
        for number, contender in enumerate(contenders, start=1):
            label = f"[{number}/{len(contenders)}] {contender.name}"
            _log(progress, f"{label}: fitting ...")
            try:
                estimator = contender.make(models)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    tic = time.perf_counter()
                    estimator.fit(X_train, y_train)
                    seconds = time.perf_counter() - tic
                    row, predicted = evaluate(
                        estimator,
                        X_test,
                        y_test,
                        sensitive=data.sensitive,
                        pos_label=data.pos_label,
                    )
            except Exception as exc:  # noqa: BLE001 - one model must not end it
                note = f"{contender.name} failed: {_one_line(exc)}"
                notes.append(note)
                _log(progress, f"{label}: FAILED ({_one_line(exc)})")
                continue
            for warning in _unique_warnings(caught):
                note = f"{contender.name}: {warning}"
                notes.append(note)
                _log(progress, f"{label}: warning: {warning}")
            models[contender.name] = estimator
            rows.append(
                {
                    "model": contender.name,
                    "kind": contender.kind,
                    **row,
                    "fit s": seconds,
                }
            )
            predictions[f"{contender.name} y_pred"] = predicted["y_pred"]
            predictions[f"{contender.name} score"] = predicted["score"]
            gap = row[f"DP diff {data.mitigate}"]
            _log(
                progress,
                f"{label}: done in {seconds:.1f} s (accuracy "
                f"{row['accuracy']:.3f}, DP diff {data.mitigate} {gap:.3f})",
            )
    if not rows:
        raise RuntimeError("Every model of the audit failed: " + "; ".join(notes))
    table = pd.DataFrame(rows).set_index("model")
    result = AuditResult(
        data=data,
        table=table,
        models=models,
        predictions=predictions.reset_index(drop=True),
        test_index=np.asarray(test_rows),
        missing=missing,
        notes=notes,
        seconds=0.0,
        settings={
            "constraint": constraint,
            "device": device,
            "seed": seed,
            "quick": quick,
            "test_size": TEST_SIZE,
            "n_train": len(X_train),
            "n_test": len(X_test),
        },
        descriptions={c.name: c.note for c in contenders},
    )
    result.notes.extend(f"left out: {reason}" for reason in missing)
    if out is not None:
        _log(progress, "writing the report ...")
        result.files = write_report(result, out, X_test=X_test, y_test=y_test)
    result.seconds = time.perf_counter() - start
    return result


def format_table(table):
    """The comparison table as fixed-width text (metrics to 3 decimals).

    Parameters
    ----------
    table : pandas.DataFrame
        :attr:`AuditResult.table`.

    Returns
    -------
    str
    """
    shown = table.drop(columns=["kind"], errors="ignore")
    formatters = {
        column: (lambda v: f"{v:.1f}") if column == "fit s" else (lambda v: f"{v:.3f}")
        for column in shown.columns
    }
    return shown.to_string(formatters=formatters)


# --------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------


def _slug(name):
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _pareto_plot(table, attribute, path):
    """Accuracy against the DP difference of ``attribute``, front joined.

    The front is :func:`sklfair.model_selection.pareto_front`'s, drawn by
    :func:`sklfair.plotting.plot_pareto_front`; every model is labelled.
    """
    import matplotlib.pyplot as plt

    from sklfair.model_selection import pareto_front
    from sklfair.plotting import plot_pareto_front

    gap_column = f"DP diff {attribute}"
    results = {
        "params": [{"model": name} for name in table.index],
        "mean_test_accuracy": table["accuracy"].to_numpy(),
        "mean_test_gap": table[gap_column].to_numpy(),
    }
    candidates = pareto_front(results, "accuracy", "gap", all_candidates=True)
    fig, ax = plt.subplots(figsize=(7.0, 4.6), layout="constrained")
    plot_pareto_front(candidates, ax=ax)
    for name, gap, accuracy in zip(
        candidates["param_model"], candidates["gap"], candidates["score"]
    ):
        ax.annotate(
            name, (gap, accuracy), textcoords="offset points", xytext=(5, 4), fontsize=8
        )
    ax.set_xlabel(f"demographic parity difference by {attribute} (lower is fairer)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Accuracy against fairness on the held-out rows")
    ax.set_xlim(left=0, right=max(candidates["gap"].max() * 1.3, 0.01))
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return candidates


def _group_plot(model, X_test, y_test, sensitive, pos_label, path):
    """The group metrics of one model (FairnessReport.plot), saved as PNG."""
    import matplotlib.pyplot as plt

    from sklfair.metrics import fairness_report

    report = fairness_report(
        model,
        X_test,
        y_test,
        sensitive_features=X_test[sensitive].reset_index(drop=True),
        pos_label=pos_label,
    )
    metrics = [
        m
        for m in (
            "selection_rate",
            "true_positive_rate",
            "false_positive_rate",
            "accuracy",
        )
        if m in set(report.frame["metric"])
    ]
    fig = report.plot(metrics=metrics)
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return report


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
  max-width: 1100px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.meta { color: #555; }
table.audit { border-collapse: collapse; font-size: 0.9em; }
table.audit th, table.audit td { padding: 3px 9px; border-bottom: 1px solid #eee;
  text-align: right; }
table.audit th { background: #f4f4f4; }
table.audit th:nth-of-type(-n+3) { text-align: left; }
table.audit td:nth-of-type(1) { text-align: left; font-weight: 600; }
table.audit td:nth-of-type(2) { text-align: left; color: #555; }
table.audit td:nth-of-type(3) { text-align: left; color: #555; font-size: 0.9em;
  max-width: 22em; }
img { max-width: 100%; }
details { margin: 0.6em 0; }
summary { cursor: pointer; font-weight: 600; }
"""


def write_report(result, out, *, X_test, y_test):
    """Write ``report.html`` and its PNG plots, ``results.csv``, ``predictions.csv``.

    Parameters
    ----------
    result : AuditResult
    out : str or path
        The folder (created if needed).
    X_test, y_test : pandas.DataFrame, pandas.Series
        The held-out rows the models are measured on.

    Returns
    -------
    files : list of pathlib.Path
        The files written.
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")

    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditError(
            f"cannot create the output folder {str(out)!r}: {exc}"
        ) from None
    data, table = result.data, result.table
    files = []

    table_csv = out / "results.csv"
    table.to_csv(table_csv)
    predictions_csv = out / "predictions.csv"
    result.predictions.to_csv(predictions_csv, index=False)
    files += [table_csv, predictions_csv]

    pareto_png = out / "pareto.png"
    _pareto_plot(table, data.mitigate, pareto_png)
    files.append(pareto_png)

    sections = []
    notes = {}
    for name, model in result.models.items():
        png = out / f"groups_{_slug(name)}.png"
        try:
            report = _group_plot(
                model, X_test, y_test, data.sensitive, data.pos_label, png
            )
        except Exception as exc:  # noqa: BLE001 - keep the rest of the report
            notes[name] = f"{name}: no group plot ({_one_line(exc)})"
            continue
        files.append(png)
        sections.append(
            f"<details{' open' if not sections else ''}><summary>"
            f"{html.escape(name)}</summary>\n"
            f'<img src="{png.name}" alt="group metrics of {html.escape(name)}"/>\n'
            f"{report.to_html(plot=False, full_page=False, title=name)}\n</details>"
        )

    descriptions = result.descriptions
    shown = table.reset_index()
    shown.insert(2, "what", [descriptions.get(n, "") for n in shown["model"]])
    table_html = shown.to_html(
        classes="audit",
        border=0,
        index=False,
        float_format=lambda v: f"{v:.3f}",
        formatters={"fit s": lambda v: f"{v:.1f}"},
    )
    settings = result.settings
    meta = (
        f"{html.escape(data.description)}. {settings['n_train']} training and "
        f"{settings['n_test']} test rows (stratified split, seed "
        f"{settings['seed']}). Sensitive attributes: "
        f"{html.escape(', '.join(data.sensitive))} (never model inputs); the "
        f"mitigations aim at <b>{html.escape(data.mitigate)}</b> with "
        f"{html.escape(settings['constraint'])}. Positive label: "
        f"{html.escape(repr(data.pos_label))}. Networks trained on "
        f"{settings['device']}."
    )
    notes_html = "".join(
        f"<li>{html.escape(n)}</li>" for n in [*result.notes, *notes.values()]
    )
    from sklfair import __version__

    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>sklfair audit: {html.escape(data.name)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Fairness audit: {html.escape(data.name)}</h1>
<p class="meta">{meta}</p>
<h2>Comparison on the held-out rows</h2>
<p>DP diff: demographic parity difference, the largest gap between groups in
the rate of positive decisions. EO diff: equalized odds difference, the larger
of the gaps in true and false positive rates. Both 0 when the groups are
treated alike; measured with fairlearn's definitions.</p>
{table_html}
{f"<ul>{notes_html}</ul>" if notes_html else ""}
<h2>Accuracy against fairness</h2>
<p>Each point is a model; the red line joins the models that no other model
beats on both accuracy and the demographic parity difference by
{html.escape(data.mitigate)}.</p>
<img src="{pareto_png.name}" alt="accuracy against demographic parity difference"/>
<h2>Group metrics of each model</h2>
<p>Bars: each group's rate; dashed line: all rows; red arrow: the gap.</p>
{"".join(sections)}
<h2>Reading this report</h2>
<ul>
<li>Removing the sensitive columns from the inputs (unawareness) does not make a
model fair: other columns can stand in for them, as the baselines show.</li>
<li>A small gap on this test set is an estimate: with small groups, it moves
from one split to another.</li>
<li>Which gap matters, and how large a gap is acceptable, is a decision for the
people accountable for the model, not for this tool.</li>
</ul>
<p class="meta">sklfair {html.escape(__version__)}.</p>
</body>
</html>
"""
    report_html = out / "report.html"
    report_html.write_text(page, encoding="utf-8")
    files.insert(0, report_html)
    return files
