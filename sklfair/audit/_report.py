"""The audit's report: ``report.html``, its plots, and the tables as CSV.

:func:`write_report` writes, into one folder, ``report.html`` (the
comparison table, the accuracy--fairness Pareto plot and each model's group
metrics), the PNG plots it shows, ``results.csv`` (the table) and
``predictions.csv`` (each model's decision and score on each held-out row).
The folder is written whole or not at all.
Matplotlib is imported only here, when a report is written.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from sklfair.exceptions import AuditError

from ._messages import one_line
from ._output import staged_folder

__all__ = ["write_report"]


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


def write_report(result, out, *, X_test, y_test, overwrite=False):
    """Write ``report.html`` and its PNG plots, ``results.csv``, ``predictions.csv``.

    The files are written into a new hidden folder and moved into ``out``
    only once every one is complete: an error or an interrupt while writing
    leaves ``out`` as it was.

    Parameters
    ----------
    result : AuditResult
    out : str or path
        The folder: absent (it is created, with its parents), empty, or,
        with ``overwrite``, holding a previous audit's output only.
    X_test, y_test : pandas.DataFrame, pandas.Series
        The held-out rows the models are measured on.
    overwrite : bool, default=False
        Replace a previous audit's output in ``out`` wholly (no file of the
        older run is left).

    Returns
    -------
    files : list of pathlib.Path
        The files written, in ``out``; ``report.html`` first.

    Raises
    ------
    AuditError
        When ``out`` is a file, is not empty (without ``overwrite``), holds
        anything but a previous audit's files (with ``overwrite``), or
        cannot be written.
    """
    out = Path(out)
    try:
        with staged_folder(out, overwrite=overwrite) as staging:
            names = _write_files(result, staging, X_test=X_test, y_test=y_test)
    except OSError as exc:
        raise AuditError(
            f"cannot write the report to {str(out)!r}: {one_line(exc)}"
        ) from None
    return [out / name for name in names]


def _write_files(result, out, *, X_test, y_test):
    """Write the report's files into the folder ``out``; their names."""
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
            notes[name] = f"{name}: no group plot ({one_line(exc)})"
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
    return [path.name for path in files]
