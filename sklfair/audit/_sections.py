"""The sections of the audit report, each as HTML (and the PNG plots it shows).

- :func:`comparison_section` -- the comparison table: every gap and the
  accuracy with its interval, each model's certificate verdict (a bound that
  fails is marked in red);
- :func:`pareto_plot` -- accuracy against the gap the mitigations aim at,
  with error bars on both axes;
- :func:`certificates_section` -- each model's
  :class:`~sklfair.metrics.FairnessCertificate`;
- :func:`credit_section` -- Gini, KS, calibration, approvals and the adverse
  impact ratio at the cutoff, and the declined rows' reasons per group;
- :func:`privacy_section` -- the membership-inference attack per model and
  group;
- :func:`group_section` -- one model's group metrics (plot and tables).

Matplotlib is imported by the functions that draw.
"""

from __future__ import annotations

import html
import re

import numpy as np

from ._html import box, cell_text, column_words, table_html, with_interval

__all__ = [
    "certificates_section",
    "comparison_section",
    "credit_plots",
    "credit_section",
    "group_plot",
    "group_report",
    "group_section",
    "pareto_plot",
    "privacy_section",
    "slug",
]

# The comparison table's gap for each constraint of the audit.
_GAP_OF = {"equalized_odds": "EO"}

# The columns of approval_by_group in a model's credit table.
_APPROVAL_COLUMNS = [
    "applicants",
    "approved",
    "approval_rate",
    "approval_rate_low",
    "approval_rate_high",
    "bad_rate",
    "bad_rate_low",
    "bad_rate_high",
    "adverse_impact_ratio",
    "adverse_impact_ratio_low",
    "adverse_impact_ratio_high",
    "adverse_impact",
]

# How many of the most frequent reasons the report shows per attribute.
_TOP_REASONS = 5


def slug(name):
    """A model's name as a file-name part: ``"lagrangian DP<=0.05"`` ->
    ``"lagrangian_dp_0_05"``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _gap_column(constraint, attribute):
    return f"{_GAP_OF.get(constraint, 'DP')} diff {attribute}"


def _save(fig, path, dpi):
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=dpi)
    plt.close(fig)


# --------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------


def _verdict(certificate):
    """``(text, passed)`` of a one-constraint certificate."""
    row = certificate.results.iloc[0]
    return (
        f"{row['verdict']} at {row['bound']:g} (upper end {row['high']:.3f})",
        bool(row["certified"]),
    )


def _model_cell(name, kind, note):
    return (
        f'<span title="{html.escape(note)}">{html.escape(name)}</span>'
        f'<span class="ci">{html.escape(kind)}</span>'
    )


def _certificate_cell(certificate):
    if certificate is None:
        return "-"
    row = certificate.results.iloc[0]
    verdict = str(row["verdict"])
    head, _, rest = verdict.partition(" with ")
    detail = f"with {rest}: " if rest else ""
    return (
        f'<span class="verdict-head">{html.escape(head)}</span>'
        f'<span class="ci">{html.escape(detail)}bound {row["bound"]:g}, upper '
        f"end {row['high']:.3f}</span>"
    )


def comparison_section(result):
    """The comparison table (a failed bound's row marked) and what each model is."""
    table = result.table.reset_index().drop(columns=["bound"], errors="ignore")
    kinds = table.pop("kind") if "kind" in table else [""] * len(table)
    notes = [result.descriptions.get(n, "") for n in table["model"]]
    table["model"] = [
        _model_cell(n, k, note)
        for n, k, note in zip(table["model"], kinds, notes, strict=True)
    ]
    certificates = [result.certificates.get(n) for n in result.table.index]
    if "certificate" in table:
        table["certificate"] = [_certificate_cell(c) for c in certificates]
    rows = [
        None if c is None else ("pass" if c.certified else "fail") for c in certificates
    ]
    level = f"{result.settings.get('confidence', 0.95):.0%}"
    titles = {
        "accuracy": f"accuracy (brackets: its {level} Wilson interval)",
        "AUC": "AUC (ROC AUC of the positive label's probability)",
        "certificate": "certificate: sklfair.metrics.certify on the held-out rows",
    }
    for column in table.columns:
        if " diff " in column and not column.endswith((" low", " high")):
            titles[column] = f"{column} (brackets: its {level} interval)"
    described = "".join(
        f"<li><b>{html.escape(name)}</b>: {html.escape(note)}</li>"
        for name, note in result.descriptions.items()
        if name in result.table.index
    )
    return (
        table_html(
            table,
            index=False,
            formats={
                "model": lambda v: v,
                "certificate": lambda v: v,
                "fit s": lambda v: cell_text(v, 1),
            },
            row_classes=rows,
            cell_classes={"certificate": "verdict", "model": "name"},
            titles=titles,
        )
        + "<details><summary>What each model is</summary>"
        + f"<ul>{described}</ul></details>"
    )


def pareto_plot(result, path):
    """Accuracy against the gap the mitigations aim at, with error bars.

    The front is :func:`sklfair.model_selection.pareto_front`'s, drawn by
    :func:`sklfair.plotting.plot_pareto_front`; every model is labelled.
    The error bars are the intervals of the comparison table: the gap's
    (horizontal) and the accuracy's (vertical), so that two models whose
    accuracies differ by less than the noise of the held-out rows are seen
    to be level.
    """
    import matplotlib.pyplot as plt

    from sklfair.model_selection import pareto_front
    from sklfair.plotting import plot_pareto_front

    table = result.table
    attribute = result.data.mitigate
    gap_column = _gap_column(result.settings["constraint"], attribute)
    results = {
        "params": [{"model": name} for name in table.index],
        "mean_test_accuracy": table["accuracy"].to_numpy(),
        "mean_test_gap": table[gap_column].to_numpy(),
    }
    candidates = pareto_front(results, "accuracy", "gap", all_candidates=True)
    order = [list(table.index).index(n) for n in candidates["param_model"]]
    for end in ("low", "high"):
        candidates[f"gap_{end}"] = table[f"{gap_column} {end}"].to_numpy()[order]
        candidates[f"score_{end}"] = table[f"accuracy {end}"].to_numpy()[order]
    fig, ax = plt.subplots(figsize=(7.0, 4.6), layout="constrained")
    plot_pareto_front(candidates, ax=ax)
    for name, gap, accuracy in zip(
        candidates["param_model"], candidates["gap"], candidates["score"]
    ):
        ax.annotate(
            name, (gap, accuracy), textcoords="offset points", xytext=(5, 4), fontsize=8
        )
    short = gap_column.split(" diff ")[0]
    words = {"DP": "demographic parity", "EO": "equalized odds"}[short]
    ax.set_xlabel(f"{words} difference by {attribute} (lower is fairer)")
    ax.set_ylabel("test accuracy")
    confidence = result.settings.get("confidence", 0.95)
    ax.set_title(
        f"Accuracy against fairness on the held-out rows ({confidence:.0%} intervals)"
    )
    ax.set_xlim(left=0, right=max(float(candidates["gap_high"].max()) * 1.1, 0.01))
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    _save(fig, path, 80)
    return candidates


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------


def certificates_section(result):
    """Each model's certificate, its verdict in the summary line."""
    parts = []
    for name, certificate in result.certificates.items():
        text, passed = _verdict(certificate)
        css = "pass" if passed else "fail"
        parts.append(
            f'<details id="certificate-{slug(name)}"><summary>{html.escape(name)}: '
            f'<span class="{css}">{html.escape(text)}</span></summary>'
            + box(certificate.to_html(title=f"Certificate of {name}"))
            + "</details>"
        )
    return "\n".join(parts)


# --------------------------------------------------------------------------
# Group metrics of one model
# --------------------------------------------------------------------------


def group_report(model, X_test, y_test, sensitive, pos_label):
    """:func:`sklfair.metrics.fairness_report` of one model, with intervals."""
    from sklfair.metrics import fairness_report

    return fairness_report(
        model,
        X_test,
        y_test,
        sensitive_features=X_test[sensitive].reset_index(drop=True),
        pos_label=pos_label,
    )


def group_plot(report, path):
    """The report's group bars with error bars and the gaps marked, as PNG."""
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
    _save(report.plot(metrics=metrics), path, 70)


def _groups_table(report, attribute):
    """One attribute's groups x metrics, each metric with its interval."""
    part = report.frame[report.frame["attribute"] == attribute]
    wide = report.by_group(attribute)
    if "low" not in part:
        return wide
    metrics = [m for m in wide.columns if m != "count"]
    for end in ("low", "high"):
        values = part.pivot(index="group", columns="metric", values=end)
        for metric in metrics:
            wide[f"{metric}_{end}"] = values[metric].reindex(wide.index)
    return wide


def group_section(report, png_name, name):
    """One model's group metrics: the plot and the report's tables."""
    parts = [
        f'<img src="{png_name}" alt="group metrics of {html.escape(name)}"/>',
        "<h4>Fairness metrics by attribute</h4>",
        table_html(report.fairness, intervals=("low", "high")),
    ]
    for attribute in report.attributes:
        parts += [
            f"<h4>Groups by {html.escape(str(attribute))}</h4>",
            table_html(_groups_table(report, attribute)),
        ]
    parts += [
        "<h4>Gaps between groups</h4>",
        table_html(report.gaps, index=False),
    ]
    return "\n".join(parts)


# --------------------------------------------------------------------------
# Credit
# --------------------------------------------------------------------------


def credit_plots(credit, name, mitigate, calibration_path, approval_path):
    """A model's reliability plot (a panel per attribute) and approval plot."""
    import matplotlib.pyplot as plt

    from sklfair.plotting import plot_approval_by_group, plot_calibration_by_group

    curves = credit.calibration[name]
    fig, axes = plt.subplots(
        1, len(curves), figsize=(4.2 * len(curves), 3.9), layout="constrained"
    )
    for ax, (attribute, table) in zip(np.atleast_1d(axes), curves.items()):
        plot_calibration_by_group(table, ax=ax)
        ax.set_title(f"Calibration by {attribute}")
        ax.set_xlabel("mean predicted PD")
        ax.set_ylabel("observed bad rate")
    _save(fig, calibration_path, 70)
    approvals = credit.by_group[name][mitigate]
    fig = plot_approval_by_group(approvals)
    fig.suptitle(f"At the cutoff, by {mitigate}", fontsize=10)
    _save(fig, approval_path, 70)


def _credit_table(credit, sensitive):
    table = credit.table.copy()
    table.index.name = "model"
    formats = {}
    for a in sensitive:  # the ratio with its interval, flagged below 0.8
        column = f"AIR {a}"
        table[column] = [
            f'<span class="{"flag" if v < 0.8 else ""}">'
            f"{with_interval(v, low, high, 3)}</span>"
            for v, low, high in zip(
                table[column], table.pop(f"{column} low"), table.pop(f"{column} high")
            )
        ]
        formats[column] = lambda v: v
    formats["four-fifths"] = lambda v: (
        html.escape(v) if v == "met" else f'<span class="flag">{html.escape(v)}</span>'
    )
    return table_html(
        table,
        formats=formats,
        titles={
            "Gini": "Gini (2 AUC - 1 of the PD)",
            "KS": "KS (Kolmogorov-Smirnov statistic of the PD)",
            "ECE": "ECE (expected calibration error of the PD, 10 bins)",
            "cutoff": "cutoff: applicants with a PD at or above it are declined",
            "approval rate": "approval rate (share of held-out applicants approved)",
            "bad rate": "bad rate (share of bad outcomes among the approved)",
            **{
                f"AIR {a}": f"AIR {a}: adverse impact ratio by {a} (brackets: its "
                "95% interval)"
                for a in sensitive
            },
            **{
                f"Gini gap {a}": f"Gini gap {a}: largest minus smallest Gini of "
                f"the groups of {a} (brackets: its 95% stratified bootstrap "
                "interval)"
                for a in sensitive
            },
        },
    )


def _reasons_html(summary, sensitive, missing=None):
    if summary is None:
        why = missing or "they could not be computed"
        return f"<p>No reasons for this model: {html.escape(why, quote=False)}.</p>"
    explainer = {
        "deep": "shap's deep explainer on the network",
        "linear": "shap's linear explainer",
        "tree": "shap's tree explainer (path-dependent: against the training "
        "rows the trees saw, not the approved rows)",
        "permutation": "shap's permutation explainer (model-agnostic, slow: "
        "fewer rows)",
    }[summary.explainer.removesuffix(" score")]
    if summary.explainer.endswith(" score"):
        explainer += (
            " on the score the group thresholds are applied to (the threshold "
            "of the applicant's group turns that score into the decision)"
        )
    parts = [
        f"<p>Principal reason (the column that pushed the PD up the most) of "
        f"{summary.n_explained} of the {summary.n_declined} declined held-out "
        f"rows, drawn at random, explained against {summary.n_background} "
        f"approved rows by {explainer}. Each cell is the share of a group's "
        "explained rows given that reason, with the largest minus the smallest "
        "share (difference) and the smallest over the largest (ratio), in "
        "brackets their 95% intervals; the sensitive columns are never "
        "reasons.</p>"
    ]
    for attribute in sensitive:
        parity = summary.parity[attribute].head(_TOP_REASONS).copy()
        parity.index.name = "reason"
        counts = summary.counts[attribute]
        shown = ", ".join(f"{g}: {n}" for g, n in counts.items())
        parts += [
            f"<h4>Top reasons by {html.escape(attribute)} (rows explained: "
            f"{html.escape(shown)})</h4>",
            table_html(parity),
        ]
    return "\n".join(parts)


def credit_section(result, images):
    """The credit table and each model's detail; ``images`` by model name."""
    credit = result.credit
    data = result.data
    if credit is None or credit.table.empty:
        return "<p>No model could be measured.</p>"
    details = []
    for name in credit.table.index:
        calibration_png, approval_png = images.get(name, (None, None))
        figures = "".join(
            f'<img src="{png}" alt="{alt} of {html.escape(name)}"/>'
            for png, alt in (
                (calibration_png, "calibration by group"),
                (approval_png, "approval and bad rates by group"),
            )
            if png is not None
        )
        tables = []
        for attribute, table in credit.by_group[name].items():
            gaps = table.attrs.get("gaps")
            table = table.copy()
            table.index.name = attribute
            approvals = [c for c in _APPROVAL_COLUMNS if c in table]
            tables += [
                f"<h4>Risk by {html.escape(attribute)} (brackets: 95% intervals)</h4>",
                table_html(
                    table.drop(columns=approvals),
                    formats={"count": lambda v: cell_text(int(v))},
                ),
            ]
            if gaps is not None:
                tables += [
                    f"<h4>Gaps between the groups of {html.escape(attribute)} "
                    "(largest minus smallest; brackets: 95% stratified bootstrap "
                    "intervals)</h4>",
                    table_html(gaps.rename(index=column_words)),
                ]
            tables += [
                f"<h4>Approvals by {html.escape(attribute)} at the cutoff "
                "(brackets: 95% intervals)</h4>",
                table_html(
                    table[approvals],
                    cell_classes={"adverse_impact": "flag"},
                    formats={
                        "adverse_impact": lambda v: "below 0.8" if v else "",
                        "applicants": lambda v: cell_text(int(v)),
                        "approved": lambda v: cell_text(int(v)),
                    },
                    titles={"approved": "approved (applicants approved)"},
                ),
            ]
        details.append(
            f"<details><summary>{html.escape(name)}</summary>"
            f'<div class="figures">{figures}</div>'
            + "".join(tables)
            + "<h4>Why the declined are declined</h4>"
            + _reasons_html(
                credit.reasons.get(name), data.sensitive, credit.no_reasons.get(name)
            )
            + "</details>"
        )
    return _credit_table(credit, data.sensitive) + "\n" + "\n".join(details)


# --------------------------------------------------------------------------
# Privacy
# --------------------------------------------------------------------------


def privacy_section(result):
    """The attack's table and each model's results per attack and group."""
    privacy = result.privacy
    if privacy.table.empty:
        return "<p>No model could be attacked.</p>"
    table = privacy.table.copy()
    table.index.name = "model"
    details = []
    for name in table.index:
        parts = [
            "<h4>Each attack</h4>",
            table_html(privacy.overall[name]),
        ]
        for attribute, by_group in privacy.by_group[name].items():
            parts += [
                f"<h4>By {html.escape(attribute)}</h4>",
                table_html(by_group),
            ]
        details.append(
            f"<details><summary>{html.escape(name)}</summary>"
            + "".join(parts)
            + "</details>"
        )
    return (
        table_html(
            table,
            formats={"p-value": lambda v: f"{v:.2g}"},
            titles={
                "attack AUC": "attack AUC (the stronger attack's; 0.5: no leak)",
                "advantage": "advantage (largest TPR - FPR of the stronger attack)",
            },
        )
        + "\n"
        + "\n".join(details)
    )
