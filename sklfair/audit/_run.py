"""The run of an audit: split, fit every contender, measure, report.

:func:`run_audit` splits the data (stratified by the target), fits each
contender of :func:`~sklfair.audit.make_contenders` on the training rows,
measures it on the held-out rows with :func:`evaluate`, and returns an
:class:`AuditResult` (writing the report when asked). A contender that fails
becomes a note and the others go on; an interrupt (Ctrl-C) stops the run and
nothing is written. The thread settings and the SIGINT handler it changes
are restored when it returns or raises.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

from sklfair.metrics import demographic_parity_difference, equalized_odds_difference

from ._contenders import check_constraint, make_contenders
from ._data import AuditData
from ._messages import log, one_line, unique_warnings
from ._output import check_output_folder
from ._report import write_report
from ._state import InterruptWatch, limited_threads

__all__ = ["TEST_SIZE", "AuditResult", "evaluate", "format_table", "run_audit"]

#: Share of the rows held out for measurement.
TEST_SIZE = 0.3


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

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklfair.audit import evaluate
    >>> X = pd.DataFrame({"sex": ["f", "f", "m", "m"], "x": [0, 1, 2, 3]})
    >>> y = pd.Series([0, 1, 0, 1])
    >>> model = DummyClassifier(strategy="most_frequent").fit(X, y)
    >>> row, predictions = evaluate(model, X, y, sensitive=["sex"], pos_label=1)
    >>> row
    {'accuracy': 0.5, 'AUC': 0.5, 'DP diff sex': 0.0, 'EO diff sex': 0.0}
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


def _resolve_device(device, notes, stream):
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        note = "CUDA is not available on this machine: the networks train on the CPU"
        notes.append(note)
        log(stream, f"note: {note}")
    return "cpu"


def _fit_all(contenders, data, train, test, *, notes, progress, watch):
    """Fit and measure each contender: table rows, fitted models, predictions."""
    (X_train, y_train), (X_test, y_test) = train, test
    rows, models = [], {}
    predictions = {}
    for number, contender in enumerate(contenders, start=1):
        label = f"[{number}/{len(contenders)}] {contender.name}"
        try:
            log(progress, f"{label}: fitting ...")
            estimator = contender.make(models)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                tic = time.perf_counter()
                estimator.fit(X_train, y_train)
                seconds = time.perf_counter() - tic
                # A library that caught the KeyboardInterrupt and returned
                # (skorch's training loop does) must not make the run go on.
                watch.check()
                row, predicted = evaluate(
                    estimator,
                    X_test,
                    y_test,
                    sensitive=data.sensitive,
                    pos_label=data.pos_label,
                )
        except KeyboardInterrupt:
            log(progress, f"{label}: interrupted; nothing is written")
            raise
        except Exception as exc:  # noqa: BLE001 - one model must not end it
            if watch.interrupted:
                log(progress, f"{label}: interrupted; nothing is written")
                raise KeyboardInterrupt from exc
            notes.append(f"{contender.name} failed: {one_line(exc)}")
            log(progress, f"{label}: FAILED ({one_line(exc)})")
            continue
        for warning in unique_warnings(caught):
            notes.append(f"{contender.name}: {warning}")
            log(progress, f"{label}: warning: {warning}")
        models[contender.name] = estimator
        rows.append(
            {"model": contender.name, "kind": contender.kind, **row, "fit s": seconds}
        )
        predictions[f"{contender.name} y_pred"] = predicted["y_pred"]
        predictions[f"{contender.name} score"] = predicted["score"]
        gap = row[f"DP diff {data.mitigate}"]
        log(
            progress,
            f"{label}: done in {seconds:.1f} s (accuracy "
            f"{row['accuracy']:.3f}, DP diff {data.mitigate} {gap:.3f})",
        )
    return rows, models, predictions


def run_audit(
    data,
    *,
    out=None,
    overwrite=False,
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
        ``predictions.csv`` (see :func:`write_report`): absent or empty, or
        a previous audit's output with ``overwrite``. It is checked before
        any model is fitted. None writes nothing.
    overwrite : bool, default=False
        Replace a previous audit's output in ``out`` wholly.
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
        CPU threads of torch (when the networks train on the CPU) and of the
        BLAS/OpenMP pools during the run; both are restored on return. None
        leaves them as they are.
    progress : bool or file, default=True
        Where progress lines go: True for ``sys.stderr``, False for nowhere,
        or an open text file.

    Returns
    -------
    AuditResult

    Raises
    ------
    AuditError
        For an unknown constraint or an output folder that cannot take the
        report (see :func:`write_report`).
    KeyboardInterrupt
        When interrupted (Ctrl-C), even if a model's fit caught the
        interrupt; nothing is written then.
    """
    check_constraint(constraint)
    if out is not None:
        out = check_output_folder(out, overwrite=overwrite)
    start = time.perf_counter()
    if progress is True:
        progress = sys.stderr
    elif progress is False:
        progress = None
    notes = []
    device = _resolve_device(device, notes, progress)

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
    log(
        progress,
        f"sklfair audit: {data.description}\n"
        f"  {len(X_train)} training / {len(X_test)} test rows (stratified), "
        f"sensitive: {', '.join(data.sensitive)}; mitigations aim at "
        f"{data.mitigate} ({constraint}); device {device}"
        + ("; quick budgets" if quick else ""),
    )
    for reason in missing:
        log(progress, f"  left out: {reason}")

    with (
        limited_threads(threads, torch_too=device == "cpu"),
        InterruptWatch() as watch,
    ):
        rows, models, predicted = _fit_all(
            contenders,
            data,
            (X_train, y_train),
            (X_test, y_test),
            notes=notes,
            progress=progress,
            watch=watch,
        )
    if not rows:
        raise RuntimeError("Every model of the audit failed: " + "; ".join(notes))
    predictions = pd.DataFrame(
        {"row": test_rows, "y_true": y_test.to_numpy(), **predicted},
        index=X_test.index,
    )
    result = AuditResult(
        data=data,
        table=pd.DataFrame(rows).set_index("model"),
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
        log(progress, "writing the report ...")
        try:
            result.files = write_report(
                result, out, X_test=X_test, y_test=y_test, overwrite=overwrite
            )
        except KeyboardInterrupt:
            log(progress, "interrupted while writing the report; nothing is written")
            raise
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
