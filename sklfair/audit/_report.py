"""The audit's report: ``report.html``, its plots, and the tables as CSV.

:func:`write_report` writes, into one folder, ``report.html`` (the
comparison table with intervals and certificate verdicts, the
accuracy--fairness Pareto plot with error bars, each model's certificate, the
credit section, the privacy section when asked for, and each model's group
metrics), the PNG plots it shows, ``results.csv`` (the table),
``credit.csv`` and ``privacy.csv`` (the sections' tables) and
``predictions.csv`` (each model's decision and score, and its decision at the
credit cutoff, on each held-out row). The folder is written whole or not at
all. The sections are built in :mod:`sklfair.audit._sections`; matplotlib is
imported only when a report is written.
"""

from __future__ import annotations

import html
import warnings
from pathlib import Path

from sklfair.exceptions import AuditError

from ._html import STYLE
from ._messages import one_line, unique_warnings
from ._output import staged_folder
from ._sections import (
    certificates_section,
    comparison_section,
    credit_plots,
    credit_section,
    group_plot,
    group_report,
    group_section,
    pareto_plot,
    privacy_section,
    slug,
)

__all__ = ["write_report"]


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


def _csv_files(result, out):
    """``results.csv``, ``predictions.csv``, and the sections' tables."""
    tables = [
        ("results.csv", result.table, True),
        ("predictions.csv", result.predictions, False),
    ]
    for name, section in (
        ("credit.csv", result.credit),
        ("privacy.csv", result.privacy),
    ):
        if section is not None and not section.table.empty:
            tables.append((name, section.table, True))
    files = []
    for name, table, index in tables:
        path = out / name
        table.to_csv(path, index=index)
        files.append(path)
    return files


def _group_sections(result, out, X_test, y_test, notes):
    """Each model's group plot and tables; the PNG files written."""
    data = result.data
    files, sections = [], []
    for name, model in result.models.items():
        png = out / f"groups_{slug(name)}.png"
        try:
            # what the measures warn about (a rate undefined for a group of
            # the test rows) is a note of the report, not a line on stderr
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                report = group_report(
                    model, X_test, y_test, data.sensitive, data.pos_label
                )
                group_plot(report, png)
        except Exception as exc:  # noqa: BLE001 - keep the rest of the report
            notes.append(f"{name}: no group plot ({one_line(exc)})")
            continue
        notes += [f"{name}: {warning}" for warning in unique_warnings(caught)]
        files.append(png)
        sections.append(
            f"<details{' open' if not sections else ''}><summary>"
            f"{html.escape(name)}</summary>\n"
            f"{group_section(report, png.name, name)}\n</details>"
        )
    return files, "\n".join(sections)


def _credit_images(result, out, notes):
    """Each model's calibration and approval plots; files and names by model."""
    files, images = [], {}
    if result.credit is None:
        return files, images
    for name in result.credit.table.index:
        pngs = (
            out / f"calibration_{slug(name)}.png",
            out / f"approval_{slug(name)}.png",
        )
        try:
            credit_plots(result.credit, name, result.data.mitigate, *pngs)
        except Exception as exc:  # noqa: BLE001 - keep the rest of the report
            notes.append(f"{name}: no credit plots ({one_line(exc)})")
            continue
        files += list(pngs)
        images[name] = tuple(p.name for p in pngs)
    return files, images


def _meta(result):
    data, settings = result.data, result.settings
    return (
        f"{html.escape(data.description)}. {settings['n_train']} training and "
        f"{settings['n_test']} test rows (stratified split, seed "
        f"{settings['seed']}). Sensitive attributes: "
        f"{html.escape(', '.join(data.sensitive))} (never model inputs); the "
        f"mitigations aim at <b>{html.escape(data.mitigate)}</b> with "
        f"{html.escape(settings['constraint'])}. Positive label: "
        f"{html.escape(repr(data.pos_label))}; bad outcome (credit): "
        f"{html.escape(repr(data.bad_label))}. Networks trained on "
        f"{settings['device']}."
    )


def _credit_html(result, images):
    credit = result.credit
    if credit is None:
        return ""
    return f"""<h2 id="credit">Credit: ranking, calibration, approvals and reasons</h2>
<p>How a lender reads each model on the held-out applicants. The probability
of default (PD) is the model's probability of the bad outcome
{html.escape(repr(credit.bad_label))}. Gini (2 AUC - 1) and KS measure how
well the PD ranks; the expected calibration error and the reliability plots,
whether a predicted 10% risk is a 10% risk in every group. Each model's
cutoff approves {credit.approval_rate:.0%} of the held-out applicants (the
lowest PDs; <code>--approval-rate</code>); at it, the bad rate among the
approved and, per attribute, the adverse impact ratio: the least-approved
group's approval rate over the most-approved one's, in red below 0.8 (the
four-fifths rule). Every figure has its 95% interval in brackets: a
stratified bootstrap (each group's rows resampled 500 times) for the
Gini, KS, Brier score and ECE of each group and their gaps between groups,
Wilson's interval for a rate, MOVER-R for a group's adverse impact ratio
and the simultaneous interval of the least-approved group's ratio for the
AIR column.</p>
{credit_section(result, images)}"""


def _privacy_html(result):
    privacy, settings = result.privacy, result.settings
    if privacy is None:
        return ""
    return f"""<h2 id="privacy">Privacy: membership inference</h2>
<p>Can a model's output tell its training rows from new ones? Each model is
attacked on its {settings["n_train"]} training rows (members) and the
{settings["n_test"]} held-out rows (non-members) with
<code>sklfair.privacy.membership_inference</code>: the loss-threshold attack
and the calibrated one ({privacy.n_references} reference models, fitted on
halves of the held-out rows). An attack AUC of 0.5 and an advantage near 0
mean no measurable leak; the p-value says whether the advantage is above
what a model that leaks nothing shows. The largest group advantage names the
group whose members are the easiest to tell apart.</p>
{privacy_section(result)}"""


def _write_files(result, out, *, X_test, y_test):
    """Write the report's files into the folder ``out``; their names."""
    data, settings = result.data, result.settings
    files = _csv_files(result, out)
    pareto_png = out / "pareto.png"
    pareto_plot(result, pareto_png)
    files.append(pareto_png)
    notes = []
    written, groups_html = _group_sections(result, out, X_test, y_test, notes)
    files += written
    written, credit_images = _credit_images(result, out, notes)
    files += written

    level = f"{settings.get('confidence', 0.95):.0%}"
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in [*result.notes, *notes])
    from sklfair import __version__

    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>sklfair audit: {html.escape(data.name)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>Fairness audit: {html.escape(data.name)}</h1>
<p class="meta">{_meta(result)}</p>
<h2 id="comparison">Comparison on the held-out rows</h2>
<p>Every model on the {settings["n_test"]} held-out rows; under each value, in
brackets, its {level} confidence interval. The certificate says whether these
rows show that the model keeps its bound on {html.escape(settings["constraint"])}
by {html.escape(data.mitigate)}; a bound that fails is in red. Hover over a
column's name for its code name in <code>results.csv</code>.</p>
{comparison_section(result)}
<details><summary>How to read the table</summary>
<p>Demographic parity difference: the largest gap between groups in the rate
of positive decisions. Equalized odds difference: the larger of the gaps in
true and false positive rates. Both are 0 when the groups are treated alike;
they are measured with fairlearn's definitions. An interval says where the
value on new rows drawn like these may lie, at {level} confidence; a gap's
interval holds for all the groups of the attribute at once. The accuracy's
is Wilson's score interval. The certificate
(<code>sklfair.metrics.certify</code>) holds a model to the bound it was
fitted to keep, or to {settings.get("bound", 0.05):g} when it has none: it is
certified when the upper end of the gap's interval is at most the bound. NOT
CERTIFIED means the gap may be above the bound; NOT CERTIFIABLE with these
rows, that the groups are too small for any model to show the bound (the
certificates below give the smallest bound they can show).</p>
</details>
{f"<ul>{notes_html}</ul>" if notes_html else ""}
<h2 id="pareto">Accuracy against fairness</h2>
<p>Each point is a model, its error bars the {level} intervals of its
accuracy and of its gap; the red line joins the models that no other model
beats on both. Models whose bars overlap are not told apart by these
rows.</p>
<img src="{pareto_png.name}" alt="accuracy against the fairness gap, with intervals"/>
<h2 id="certificates">Certificates</h2>
<p>Each model's <code>sklfair.metrics.certify</code> on the held-out rows: the
gap, its {level} interval, the bound, the verdict and the smallest bound
these groups' sizes could certify.</p>
{certificates_section(result)}
{_credit_html(result, credit_images)}
{_privacy_html(result)}
<h2 id="groups">Group metrics of each model</h2>
<p>Bars: each group's rate with its {level} interval; dashed line: all rows;
red arrow: the gap, labelled with its interval.</p>
{groups_html}
<h2>Reading this report</h2>
<ul>
<li>Removing the sensitive columns from the inputs (unawareness) does not make a
model fair: other columns can stand in for them, as the baselines show.</li>
<li>A gap on this test set is an estimate: its interval says how far the gap
on new applicants may be, and the certificate whether it is credibly under
the bound. Small groups make wide intervals.</li>
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
