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

import numbers
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

from sklfair.exceptions import AuditError
from sklfair.metrics import fairness_interval

from ._certificates import BOUND, certify_models, verdict_columns
from ._contenders import check_constraint, make_contenders
from ._credit import APPROVAL_RATE, REASONS, CreditAudit, credit_audit
from ._data import AuditData
from ._messages import log, one_line, unique_warnings
from ._output import check_output_folder
from ._privacy import PrivacyAudit, privacy_audit
from ._report import write_report
from ._state import InterruptWatch, limited_threads

__all__ = [
    "CONFIDENCE",
    "GAPS",
    "TEST_SIZE",
    "AuditResult",
    "accuracy_interval",
    "evaluate",
    "run_audit",
]

#: Share of the rows held out for measurement.
TEST_SIZE = 0.3

#: Confidence level of every interval and certificate of the audit.
CONFIDENCE = 0.95

#: The gaps of the comparison table: short name and metric of
#: :func:`sklfair.metrics.fairness_interval`.
GAPS = {
    "DP": "demographic_parity_difference",
    "EO": "equalized_odds_difference",
}


def _positive_scores(estimator, X, pos_label):
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    column = list(estimator.classes_).index(pos_label)
    return proba[:, column]


def accuracy_interval(y_true, y_pred, confidence=CONFIDENCE):
    """Wilson score interval of an accuracy measured on ``len(y_true)`` rows.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    confidence : float, default=0.95

    Returns
    -------
    low, high : float

    Examples
    --------
    >>> from sklfair.audit import accuracy_interval
    >>> low, high = accuracy_interval([1] * 80 + [0] * 20, [1] * 100)
    >>> round(low, 3), round(high, 3)
    (0.711, 0.867)
    """
    correct = np.asarray(y_true) == np.asarray(y_pred)
    interval = binomtest(int(correct.sum()), len(correct)).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    return float(interval.low), float(interval.high)


def evaluate(estimator, X, y, *, sensitive, pos_label, confidence=CONFIDENCE):
    """One row of the comparison table for a fitted estimator.

    Every gap comes with its confidence interval
    (:func:`sklfair.metrics.fairness_interval`, analytic: it holds for all
    the groups of the attribute at once), and the accuracy with its Wilson
    score interval (:func:`accuracy_interval`).

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
    confidence : float, default=0.95
        Confidence level of the intervals.

    Returns
    -------
    row : dict
        ``accuracy`` (with ``accuracy low`` and ``accuracy high``, the ends
        of its interval), ``AUC``, and for each attribute ``a`` the
        ``DP diff a`` and ``EO diff a`` (fairlearn's demographic parity and
        equalized odds differences of the positive-label decisions), each
        followed by the ends of its interval (``DP diff a low``, ``DP diff a
        high``).
    predictions : pandas.DataFrame
        ``y_pred`` and ``score`` (probability of the positive label) per row.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklfair.audit import evaluate
    >>> X = pd.DataFrame({"sex": ["f", "f", "m", "m"] * 5, "x": range(20)})
    >>> y = pd.Series([0, 1, 0, 1] * 5)
    >>> model = DummyClassifier(strategy="most_frequent").fit(X, y)
    >>> row, predictions = evaluate(model, X, y, sensitive=["sex"], pos_label=1)
    >>> {k: round(v, 3) for k, v in row.items()}
    {'accuracy': 0.5, 'accuracy low': 0.299, 'accuracy high': 0.701, 'AUC': 0.5, \
'DP diff sex': 0.0, 'DP diff sex low': 0.0, 'DP diff sex high': 0.278, \
'EO diff sex': 0.0, 'EO diff sex low': 0.0, 'EO diff sex high': 0.5}
    """
    y_pred = np.asarray(estimator.predict(X))
    score = _positive_scores(estimator, X, pos_label)
    y_true01 = (np.asarray(y) == pos_label).astype(np.int64)
    y_pred01 = (y_pred == pos_label).astype(np.int64)
    low, high = accuracy_interval(np.asarray(y), y_pred, confidence)
    row = {
        "accuracy": accuracy_score(np.asarray(y), y_pred),
        "accuracy low": low,
        "accuracy high": high,
        "AUC": roc_auc_score(y_true01, score),
    }
    for short, metric in GAPS.items():
        for attribute in sensitive:
            interval = fairness_interval(
                metric,
                y_true01,
                y_pred01,
                sensitive_features=X[attribute].to_numpy(),
                confidence=confidence,
            )
            name = f"{short} diff {attribute}"
            row[name] = interval.estimate
            row[f"{name} low"] = interval.low
            row[f"{name} high"] = interval.high
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
    certificates : dict
        Each model's :class:`~sklfair.metrics.FairnessCertificate` on the
        held-out rows (the constraint and attribute the mitigations aim at,
        at the model's own bound or the audit's); the table's ``bound`` and
        ``certificate`` columns give the bound and the verdict.
    credit : CreditAudit or None
        The credit section (:func:`~sklfair.audit.credit_audit`).
    privacy : PrivacyAudit or None
        The membership-inference section, when asked for
        (:func:`~sklfair.audit.privacy_audit`).
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
    certificates: dict = field(default_factory=dict)
    credit: CreditAudit | None = None
    privacy: PrivacyAudit | None = None


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


def _check_settings(constraint, bound, approval_rate, reasons, seed):
    check_constraint(constraint)
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not 0 <= seed < 2**32
    ):
        raise AuditError(
            f"--seed must be an integer between 0 and 2**32 - 1, got {seed!r}"
        )
    if reasons not in REASONS:
        raise AuditError(f"--reasons must be one of {list(REASONS)}, got {reasons!r}")
    if (
        isinstance(bound, bool)
        or not isinstance(bound, numbers.Real)
        or not 0 <= bound <= 1
    ):
        raise AuditError(f"--bound must be a gap between rates, 0 to 1, got {bound!r}")
    if (
        isinstance(approval_rate, bool)
        or not isinstance(approval_rate, numbers.Real)
        or not 0 < approval_rate <= 1
    ):
        raise AuditError(
            f"--approval-rate must be a share in (0, 1], got {approval_rate!r}"
        )


def _certify(result, X_test, y_test, bounds, confidence):
    """Certify every model; the table gains ``bound`` and ``certificate``."""
    data, settings = result.data, result.settings
    result.certificates = certify_models(
        result.models,
        bounds,
        X_test,
        y_test,
        attribute=data.mitigate,
        constraint=settings["constraint"],
        pos_label=data.pos_label,
        confidence=confidence,
        notes=result.notes,
    )
    verdicts = pd.DataFrame(
        [verdict_columns(c) for c in result.certificates.values()],
        index=pd.Index(list(result.certificates), name="model"),
        columns=["bound", "certificate"],
    )
    table = result.table
    seconds = table.pop("fit s")
    result.table = table.join(verdicts).assign(**{"fit s": seconds})


def run_audit(
    data,
    *,
    out=None,
    overwrite=False,
    constraint="demographic_parity",
    bound=BOUND,
    approval_rate=APPROVAL_RATE,
    reasons="fast",
    privacy=False,
    device="auto",
    seed=0,
    quick=False,
    threads=None,
    progress=True,
):
    """Fit every contender on a stratified split and measure it.

    Besides the comparison table (every gap with its confidence interval),
    the run certifies each model's bound on the held-out rows
    (:func:`sklfair.metrics.certify`), measures it as a lender would at a
    cutoff for ``approval_rate`` (:func:`credit_audit`) and, with
    ``privacy``, attacks it with membership inference
    (:func:`privacy_audit`).

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
        The constraint of the in-processing and fair distilled contenders,
        and of every model's certificate.
    bound : float, default=0.05
        The bound certified for the models fitted without one (the
        baselines, reweighing, group thresholds); a model fitted to keep a
        bound is certified at its own.
    approval_rate : float in (0, 1], default=0.7
        The share of the held-out applicants each model's cutoff approves
        in the credit section.
    reasons : {"fast", "all", "none"}, default="fast"
        Which models' declined rows get reasons in the credit section: those
        with a fast model-specific explainer (networks, logistic
        regression, tree models; group thresholds through the score they
        threshold), every model (the others, and the group thresholds' own
        rule, through shap's slow permutation explainer), or none.
    privacy : bool, default=False
        Attack every model with membership inference (each costs
        :data:`~sklfair.audit.N_REFERENCES` extra fits on half of the
        held-out rows).
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the networks train; ``"cuda"`` without a GPU falls back to the
        CPU with a note.
    seed : int in [0, 2**32 - 1], default=0
        Seeds the split, every model and the rows explained.
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
        For an unknown constraint, a bound outside [0, 1], an approval rate
        outside (0, 1], a seed that is not an integer in [0, 2**32 - 1], or
        an output folder that cannot take the report
        (see :func:`write_report`).
    KeyboardInterrupt
        When interrupted (Ctrl-C), even if a model's fit caught the
        interrupt; nothing is written then.
    """
    _check_settings(constraint, bound, approval_rate, reasons, seed)
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
        result = AuditResult(
            data=data,
            table=pd.DataFrame(rows).set_index("model"),
            models=models,
            predictions=pd.DataFrame(),
            test_index=np.asarray(test_rows),
            missing=missing,
            notes=notes,
            seconds=0.0,
            settings={
                "constraint": constraint,
                "bound": float(bound),
                "approval_rate": float(approval_rate),
                "reasons": reasons,
                "privacy": bool(privacy),
                "confidence": CONFIDENCE,
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
        log(progress, f"certifying {constraint} of {data.mitigate} ...")
        own = {c.name: c.bound for c in contenders}
        bounds = {n: bound if own.get(n) is None else own[n] for n in models}
        _certify(result, X_test, y_test, bounds, CONFIDENCE)
        watch.check()
        log(progress, f"credit metrics at an approval rate of {approval_rate:g} ...")
        result.credit = credit_audit(
            models,
            X_test,
            y_test,
            data,
            approval_rate=approval_rate,
            reasons=reasons,
            seed=seed,
            notes=notes,
            progress=progress,
            watch=watch,
        )
        if privacy:
            log(progress, "membership inference ...")
            result.privacy = privacy_audit(
                models,
                (X_train, y_train),
                (X_test, y_test),
                data.sensitive,
                seed=seed,
                notes=notes,
                progress=progress,
                watch=watch,
            )
    predictions = pd.DataFrame(
        {"row": test_rows, "y_true": y_test.to_numpy(), **predicted},
        index=X_test.index,
    )
    decisions = result.credit.decisions
    for name in models:
        if f"{name} approved" in decisions:
            predictions[f"{name} approved"] = decisions[f"{name} approved"]
    result.predictions = predictions.reset_index(drop=True)
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
