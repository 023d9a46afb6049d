"""The audit's credit section: each model read the way a lender reads it.

For every fitted contender, on the held-out rows, :func:`credit_audit`
measures

- how the probability of default (PD, the probability of the data's bad
  label) ranks and is calibrated: :func:`~sklfair.metrics.gini`,
  :func:`~sklfair.metrics.ks_statistic`,
  :func:`~sklfair.metrics.expected_calibration_error`, and per group
  :func:`~sklfair.metrics.risk_metrics_by_group` and
  :func:`~sklfair.metrics.calibration_by_group`;
- what happens at a cutoff set for a target approval rate
  (:func:`~sklfair.metrics.cutoff_for_approval_rate` on the held-out
  applicants, 70 % by default): the approval rate, the bad rate among the
  approved, and per group :func:`~sklfair.metrics.approval_by_group` with
  the adverse impact ratio (:func:`~sklfair.metrics.adverse_impact_ratio`)
  and its four-fifths flag;
- why the declined are declined: :func:`~sklfair.explain.reason_codes` on a
  random subsample of the declined rows (explained against the approved
  ones), and :func:`~sklfair.explain.reason_parity` per group. Networks,
  logistic regressions and tree models (gradient boosting, forests) have
  fast model-specific explainers (:data:`REASON_ROWS` rows). A group-threshold
  model is explained, by default, through the score its thresholds are
  applied to (its classifier, by that classifier's fast explainer). Other
  models only have shap's permutation explainer, which costs hundreds of
  model calls per row: they are explained only when asked
  (``reasons="all"``, which also explains a group-threshold model's own
  decision rule this way), on :data:`PERMUTATION_ROWS` rows against a
  smaller background.

A model whose credit measurement fails becomes a note; the others go on.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sklfair.metrics import (
    adverse_impact_ratio,
    approval_by_group,
    calibration_by_group,
    cutoff_for_approval_rate,
    expected_calibration_error,
    fairness_interval,
    gini,
    ks_statistic,
    risk_metrics_by_group,
)
from sklfair.metrics import approval_rate as approval_rate_of
from sklfair.metrics import bad_rate as bad_rate_of

from ._messages import log, unique_warnings
from ._state import ModelStep

__all__ = [
    "APPROVAL_RATE",
    "PERMUTATION_ROWS",
    "REASONS",
    "REASON_ROWS",
    "CreditAudit",
    "ReasonSummary",
    "credit_audit",
    "probability_of_default",
]

#: The approval rate the cutoff is set for (``--approval-rate``).
APPROVAL_RATE = 0.7

#: Declined rows explained per model by a model-specific explainer
#: (networks: shap's deep explainer; logistic regression: its linear one;
#: tree models: its tree explainer), and approved rows they are explained
#: against.
REASON_ROWS = 300
REASON_BACKGROUND = 100

#: The same for a model only shap's permutation explainer can explain
#: (group thresholds): each row costs hundreds of calls of the model on the
#: background rows.
PERMUTATION_ROWS = 40
PERMUTATION_BACKGROUND = 25

#: Bins of the calibration tables and of the expected calibration error.
N_BINS = 10

#: Level of the section's intervals, and resamples of the bootstrap ones
#: (each group's Gini, KS, Brier score and ECE, and their gaps): 500, half
#: the library's default, keeps the section's cost within a tenth of the
#: audit's for nine models and two attributes.
CONFIDENCE = 0.95
N_BOOT = 500


@dataclass
class ReasonSummary:
    """The reasons given to a model's declined rows.

    Attributes
    ----------
    explainer : str
        The shap explainer used: ``"deep"``, ``"linear"``, ``"tree"`` or
        ``"permutation"``; with `` score`` appended (``"tree score"``) for a
        group-threshold model explained through the score it thresholds.
    n_declined : int
        Declined held-out rows.
    n_explained : int
        Rows explained (a random subsample of the declined).
    n_background : int
        Approved rows they were explained against.
    parity : dict of str to pandas.DataFrame
        By attribute, :func:`~sklfair.explain.reason_parity` of the
        principal reasons (share of each group's explained rows given each
        reason, most frequent first).
    counts : dict of str to pandas.Series
        By attribute, the explained rows of each group.
    """

    explainer: str
    n_declined: int
    n_explained: int
    n_background: int
    parity: dict
    counts: dict


@dataclass
class CreditAudit:
    """What :func:`credit_audit` measured.

    Attributes
    ----------
    approval_rate : float
        The target approval rate of the cutoffs.
    bad_label : object
        The label of a bad outcome; the PD is its probability.
    table : pandas.DataFrame
        One row per model (index ``model``): ``Gini``, ``KS``, ``ECE``
        (expected calibration error), ``cutoff`` (the PD at and above which
        an applicant is declined), ``approval rate``,
        ``bad rate`` (among the approved), ``AIR a`` (adverse impact ratio
        of attribute ``a``: the least-approved group's approval rate over the
        most-approved one's) with its interval (``AIR a low``, ``AIR a
        high``: :func:`~sklfair.metrics.fairness_interval` of the
        demographic parity ratio of the approvals), ``Gini gap a`` (the
        largest minus the smallest group Gini of attribute ``a``) with its
        stratified bootstrap interval (``Gini gap a low``, ``Gini gap a
        high``: :func:`~sklfair.metrics.risk_metrics_by_group`'s
        ``attrs["gaps"]``) and ``four-fifths`` (``"met"``, or ``"NOT MET"``
        with the attributes whose ratio is below 0.8).
    by_group : dict
        ``by_group[model][attribute]``: the risk metrics and the approvals
        of each group, one table, each metric with its interval
        (``<metric>_low``, ``<metric>_high``: bootstrap for the Gini, KS,
        Brier score and ECE, Wilson for the rates, MOVER-R for the adverse
        impact ratio); its ``attrs["gaps"]`` holds the gaps of the four risk
        metrics between the groups, with their intervals.
    calibration : dict
        ``calibration[model][attribute]``: the reliability table of
        :func:`~sklfair.metrics.calibration_by_group`, with Wilson's
        interval of each bin's observed rate.
    reasons : dict of str to ReasonSummary
        The declined rows' reasons, by model.
    no_reasons : dict of str to str
        Why a model has no reasons (e.g. only the slow permutation explainer
        applies to it and the run did not ask for it).
    decisions : pandas.DataFrame
        The held-out rows' decisions at each model's cutoff: ``<model>
        approved`` (1 approved, 0 declined).
    """

    approval_rate: float
    bad_label: object
    table: pd.DataFrame
    by_group: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)
    no_reasons: dict = field(default_factory=dict)
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)


def probability_of_default(estimator, X, bad_label):
    """``predict_proba``'s column for ``bad_label``: the PD of each row."""
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    return proba[:, list(estimator.classes_).index(bad_label)]


#: What ``reasons`` of :func:`credit_audit` may be.
REASONS = ("fast", "all", "none")

#: Why a model has no reasons in the default (``"fast"``) run.
SLOW_MODEL = (
    "only shap's permutation explainer applies to this model (hundreds of "
    "calls of the model per row explained): left out of the default run; "
    "--reasons all computes them"
)


def _explain(model, declined, approved, *, sensitive, bad_label, seed, slow):
    """Reasons of a subsample of ``declined``, with the explainer used.

    None when only the permutation explainer applies and ``slow`` is False.
    """
    from sklfair.explain import reason_codes

    rng = np.random.default_rng(seed)
    methods = [
        ("deep", REASON_ROWS, REASON_BACKGROUND),
        ("linear", REASON_ROWS, REASON_BACKGROUND),
        ("tree", REASON_ROWS, REASON_BACKGROUND),
    ]
    if slow:
        methods.append(("permutation", PERMUTATION_ROWS, PERMUTATION_BACKGROUND))
    for method, rows, background in methods:
        take = np.sort(rng.permutation(len(declined))[:rows])
        sample = declined.iloc[take]
        try:
            reasons = reason_codes(
                model,
                sample,
                n_reasons=1,
                adverse_class=bad_label,
                sensitive_columns=sensitive,
                background=approved,
                n_background=background,
                method=method,
                random_state=seed,
            )
        except ValueError as exc:
            # a model-specific explainer that does not apply to this model
            if str(exc).startswith(f"method={method!r} does not apply"):
                continue
            raise
        return method, sample, reasons, min(background, len(approved))
    if not slow:
        return _explain_score(
            model,
            declined,
            approved,
            sensitive=sensitive,
            bad_label=bad_label,
            seed=seed,
        )
    return None


def _explain_score(model, declined, approved, *, sensitive, bad_label, seed):
    """Reasons of a group-threshold model from the score it thresholds.

    The decision of such a model is its classifier's score against the
    threshold of the applicant's group: the columns that pushed the score
    toward the adverse class are the reasons of a decline. The classifier
    is explained by its fast explainer on the rows without the sensitive
    columns the model drops. None for any other model, or when no fast
    explainer applies to the classifier.
    """
    from sklfair._columns import drop_sensitive_columns
    from sklfair.constrained._fairlearn import thresholded_classifier

    scorer = thresholded_classifier(model)
    if scorer is None:
        return None
    # rows by position, so that the explained ones can be found again with
    # every column (the groups of the reason parity)
    rows, background = declined.reset_index(drop=True), approved
    if getattr(model, "drop_sensitive", True):
        rows = drop_sensitive_columns(rows, model.sensitive_columns)
        background = drop_sensitive_columns(approved, model.sensitive_columns)
    kept = [column for column in sensitive if column in rows.columns] or None
    explained = _explain(
        scorer,
        rows,
        background,
        sensitive=kept,
        bad_label=bad_label,
        seed=seed,
        slow=False,
    )
    if explained is None:
        return None
    method, sample, reasons, n_background = explained
    sample = declined.iloc[sample.index.to_numpy()]
    return f"{method} score", sample, reasons.set_axis(sample.index), n_background


def _reason_summary(model, X_test, approved, data, seed, slow):
    """The model's :class:`ReasonSummary`, or the text saying why there is none."""
    from sklfair.explain import reason_parity

    declined = X_test[~approved]
    if len(declined) == 0 or approved.sum() == 0:
        return "the cutoff declines nobody or everybody"
    explained = _explain(
        model,
        declined,
        X_test[approved],
        sensitive=data.sensitive,
        bad_label=data.bad_label,
        seed=seed,
        slow=slow,
    )
    if explained is None:
        return SLOW_MODEL
    explainer, sample, reasons, n_background = explained
    parity, counts = {}, {}
    for attribute in data.sensitive:
        groups = sample[attribute].astype(str).to_numpy()
        parity[attribute] = reason_parity(reasons, groups, confidence=0.95)
        counts[attribute] = pd.Series(groups).value_counts().sort_index()
    return ReasonSummary(
        explainer=explainer,
        n_declined=len(declined),
        n_explained=len(sample),
        n_background=n_background,
        parity=parity,
        counts=counts,
    )


def _four_fifths(row, sensitive):
    """``"met"``, or ``"NOT MET: a, b"`` naming the attributes below 0.8 (or
    whose ratio is undefined: no group approved)."""
    below = [a for a in sensitive if not row[f"AIR {a}"] >= 0.8]
    return "met" if not below else "NOT MET: " + ", ".join(below)


def _air_interval(air, approved, groups):
    """The adverse impact ratio's interval: it is the demographic parity
    ratio of the approvals (undefined, NaN, when nobody is approved)."""
    if np.isnan(air):
        return float("nan"), float("nan")
    interval = fairness_interval(
        "demographic_parity_ratio",
        approved.astype(int),
        approved.astype(int),
        sensitive_features=groups,
    )
    return interval.low, interval.high


def _measure(model, X_test, y_test, data, approval_rate, seed=0):
    """The table row, group tables, calibration tables and decisions of a model."""
    bad_label = data.bad_label
    pd_score = probability_of_default(model, X_test, bad_label)
    cutoff = cutoff_for_approval_rate(model, X_test, approval_rate, bad_label=bad_label)
    decisions = np.asarray(cutoff.predict(X_test))
    labelled = {"pos_label": bad_label}
    row = {
        "Gini": gini(y_test, pd_score, **labelled),
        "KS": ks_statistic(y_test, pd_score, **labelled),
        "ECE": expected_calibration_error(y_test, pd_score, n_bins=N_BINS, **labelled),
        "cutoff": float(cutoff.threshold),
        "approval rate": approval_rate_of(y_test, decisions, bad_label=bad_label),
        "bad rate": bad_rate_of(y_test, decisions, bad_label=bad_label),
    }
    by_group, calibration = {}, {}
    for attribute in data.sensitive:
        groups = X_test[attribute].to_numpy()
        air = adverse_impact_ratio(
            y_test, decisions, sensitive_features=groups, bad_label=bad_label
        )
        row[f"AIR {attribute}"] = air
        row[f"AIR {attribute} low"], row[f"AIR {attribute} high"] = _air_interval(
            air, decisions != bad_label, groups
        )
        risk = risk_metrics_by_group(
            y_test,
            pd_score,
            sensitive_features=groups,
            n_bins=N_BINS,
            confidence=CONFIDENCE,
            n_boot=N_BOOT,
            random_state=seed,
            **labelled,
        )
        gaps = risk.attrs["gaps"]
        row[f"Gini gap {attribute}"] = gaps.loc["gini", "gap"]
        row[f"Gini gap {attribute} low"] = gaps.loc["gini", "gap_low"]
        row[f"Gini gap {attribute} high"] = gaps.loc["gini", "gap_high"]
        approvals = approval_by_group(
            y_test,
            decisions,
            sensitive_features=groups,
            bad_label=bad_label,
            confidence=CONFIDENCE,
        )
        by_group[attribute] = risk.join(approvals)
        by_group[attribute].attrs["gaps"] = gaps
        calibration[attribute] = calibration_by_group(
            y_test, pd_score, sensitive_features=groups, n_bins=N_BINS, **labelled
        )
    row["four-fifths"] = _four_fifths(row, data.sensitive)
    return row, by_group, calibration, decisions != bad_label


def credit_audit(
    models,
    X_test,
    y_test,
    data,
    *,
    approval_rate=APPROVAL_RATE,
    reasons="fast",
    seed=0,
    notes=None,
    progress=None,
    watch=None,
):
    """Measure every model as a lender would, at a cutoff for an approval rate.

    Parameters
    ----------
    models : dict of str to fitted classifier
    X_test, y_test : pandas.DataFrame, pandas.Series
        The held-out rows (the applicants the cutoff is set on), sensitive
        columns included.
    data : AuditData
        For the sensitive attributes and the bad label.
    approval_rate : float, default=0.7
        The share of the held-out applicants each model's cutoff approves.
    reasons : {"fast", "all", "none"}, default="fast"
        The declined rows' reasons: ``"fast"`` for the models with a
        model-specific explainer (networks, logistic regression, gradient
        boosting and other tree models; a group-threshold model through the
        score it thresholds), ``"all"`` for every model (the others, and a
        group-threshold model's own rule, through the slow permutation
        explainer),
        ``"none"`` for no reasons. They need shap; without it, a note says
        so and the section goes on without reasons.
    seed : int, default=0
        Draws the rows explained.
    notes : list, default=None
        Where a failure or a warning of a model becomes a line.
    progress : file, default=None
        Where progress lines go.
    watch : InterruptWatch, default=None
        Checked after each model, so that an interrupt caught by a library
        still stops the run.

    Returns
    -------
    CreditAudit

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklfair.audit import AuditData, credit_audit, make_preprocessor
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"debt": rng.normal(size=400),
    ...                   "sex": rng.choice(["f", "m"], 400)})
    >>> y = pd.Series((X["debt"] + rng.normal(size=400) > 1).astype(int))
    >>> data = AuditData(X=X, y=y, sensitive=["sex"], mitigate="sex",
    ...                  name="loans", description="loans", pos_label=1)
    >>> model = make_pipeline(make_preprocessor(X, ["sex"]), LogisticRegression())
    >>> model = model.fit(X[:300], y[:300])
    >>> credit = credit_audit({"logistic": model}, X[300:], y[300:], data,
    ...                       reasons="none")
    >>> credit.table[["approval rate", "four-fifths"]]
              approval rate four-fifths
    model
    logistic            0.7         met
    """
    notes = [] if notes is None else notes
    if reasons not in REASONS:
        raise ValueError(f"reasons must be one of {REASONS}, got {reasons!r}.")
    missing = {}
    if reasons != "none" and importlib.util.find_spec("shap") is None:
        notes.append(
            "credit: no reasons for the declined: they need shap "
            "(pip install 'sklfair[explain]')"
        )
        reasons = "none"
    rows, by_group, calibration, summaries, decisions = [], {}, {}, {}, {}
    for name, model in models.items():
        with ModelStep(
            name,
            section="credit",
            failure="no credit measurement",
            notes=notes,
            progress=progress,
            watch=watch,
        ) as step:
            row, groups, curves, approved = _measure(
                model, X_test, np.asarray(y_test), data, approval_rate, seed
            )
            summary = "not asked for (--reasons none)"
            if reasons != "none":
                summary = _reason_summary(
                    model, X_test, approved, data, seed, reasons == "all"
                )
        if step.failed:
            continue
        for warning in unique_warnings(step.caught):
            notes.append(f"{name} (credit): {warning}")
        rows.append({"model": name, **row})
        by_group[name], calibration[name] = groups, curves
        decisions[f"{name} approved"] = approved.astype(np.int64)
        if isinstance(summary, ReasonSummary):
            summaries[name] = summary
            explained = (
                f"; reasons of {summary.n_explained} declined rows "
                f"({summary.explainer})"
            )
        else:
            missing[name] = summary
            explained = "; no reasons"
        log(
            progress,
            f"  credit: {name}: Gini {row['Gini']:.3f}, bad rate "
            f"{row['bad rate']:.3f} at approval {row['approval rate']:.3f}{explained}",
        )
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.set_index("model")
    return CreditAudit(
        approval_rate=float(approval_rate),
        bad_label=data.bad_label,
        table=table,
        by_group=by_group,
        calibration=calibration,
        reasons=summaries,
        no_reasons=missing,
        decisions=pd.DataFrame(decisions, index=X_test.index),
    )
