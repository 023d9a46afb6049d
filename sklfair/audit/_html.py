"""HTML pieces of the audit report: tables that fit, columns named in words.

Every table of the report is built by :func:`table_html`, which

- puts it in its own box that scrolls sideways when the table is wider than
  the page (``overflow-x: auto``), so that no table runs off the right edge
  of a browser window;
- names each column in words a risk committee reads ("Demographic parity
  difference (sex)"), with the code name -- the column of ``results.csv``
  or of the :mod:`sklfair.metrics` table -- in a tooltip
  (``<abbr title="...">``);
- shows a value with its confidence interval on two lines, the interval
  smaller, so that columns stay narrow.

:data:`STYLE` is the report's style sheet.
"""

from __future__ import annotations

import html
import numbers
import re

import numpy as np
import pandas as pd

__all__ = ["STYLE", "box", "cell_text", "column_words", "table_html", "with_interval"]

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
  max-width: 1100px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin: 1.1em 0 0.3em; }
h4 { font-size: 0.95em; margin: 0.9em 0 0.2em; color: #444; }
.meta { color: #555; }
.box { max-width: 100%; overflow-x: auto; margin: 0.4em 0 0.8em; }
table.audit { border-collapse: collapse; font-size: 0.88em; }
table.audit th, table.audit td { padding: 3px 8px; border-bottom: 1px solid #eee;
  text-align: right; vertical-align: top; }
table.audit th { background: #f4f4f4; font-weight: 600; vertical-align: bottom; }
table.audit th.label, table.audit td.label { text-align: left; }
table.audit td.name { font-weight: 600; white-space: nowrap; }
table.audit td.name .ci, table.audit td.verdict .ci { font-weight: normal; }
table.audit .verdict-head { white-space: nowrap; }
table.audit td.verdict { min-width: 10em; }
table.audit td.verdict .ci { white-space: normal; }
table.audit .ci { display: block; color: #666; font-size: 0.85em;
  white-space: nowrap; }
table.audit abbr { text-decoration: none; border-bottom: 1px dotted #999;
  cursor: help; }
table.audit tr.fail td.verdict { background: #fbeaea; color: #a61b1b;
  font-weight: 700; }
table.audit tr.pass td.verdict { color: #1b6e2a; font-weight: 700; }
table.audit td.flag { color: #a61b1b; font-weight: 700; }
img { max-width: 100%; height: auto; }
details { margin: 0.6em 0; }
summary { cursor: pointer; font-weight: 600; }
summary .fail { color: #a61b1b; }
summary .pass { color: #1b6e2a; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.figures img { max-width: min(100%, 540px); }
"""

#: Column and metric names in words, by code name.
WORDS = {
    "model": "Model",
    "kind": "Kind",
    "what": "What it is",
    "accuracy": "Accuracy",
    "AUC": "AUC",
    "fit s": "Fit seconds",
    "bound": "Bound certified",
    "certificate": "Certificate",
    "attribute": "Attribute",
    "metric": "Metric",
    "group": "Group",
    "count": "Rows",
    "selection_rate": "Selection rate",
    "true_positive_rate": "True positive rate",
    "false_positive_rate": "False positive rate",
    "roc_auc": "AUC",
    "demographic_parity_difference": "Demographic parity difference",
    "demographic_parity_ratio": "Demographic parity ratio",
    "equalized_odds_difference": "Equalized odds difference",
    "equalized_odds_ratio": "Equalized odds ratio",
    "equal_opportunity_difference": "Equal opportunity difference",
    "min_group": "Lowest group",
    "min": "Lowest value",
    "max_group": "Highest group",
    "max": "Highest value",
    "difference": "Difference (highest - lowest)",
    "ratio": "Ratio (lowest / highest)",
    "average_difference": "Average difference",
    "average_absolute_difference": "Average absolute difference",
    "average_relative_difference": "Average relative difference",
    "Gini": "Gini",
    "KS": "KS statistic",
    "ECE": "Expected calibration error",
    "cutoff": "Cutoff (PD)",
    "approval rate": "Approval rate",
    "approved": "Approved",
    "bad rate": "Bad rate among approved",
    "four-fifths": "Four-fifths rule",
    "observed_rate": "Observed bad rate",
    "mean_predicted": "Mean predicted PD",
    "gini": "Gini",
    "ks_statistic": "KS statistic",
    "brier_score": "Brier score",
    "expected_calibration_error": "Expected calibration error",
    "applicants": "Applicants",
    "approval_rate": "Approval rate",
    "bad_rate": "Bad rate among approved",
    "adverse_impact_ratio": "Adverse impact ratio",
    "adverse_impact": "Below four-fifths",
    "overall": "All rows",
    "attack AUC": "Attack AUC",
    "advantage": "Attack advantage",
    "p-value": "p-value",
    "auc": "Attack AUC",
    "p_value": "p-value",
    "n_members": "Training rows",
    "n_non_members": "Held-out rows",
    "attack": "Attack",
    "reason": "Principal reason",
}

# Columns of the comparison, credit and privacy tables named after an
# attribute: "DP diff sex", "AIR sex", "advantage sex", "group sex".
_BY_ATTRIBUTE = [
    (re.compile(r"DP diff (.+)"), "Demographic parity difference ({})"),
    (re.compile(r"EO diff (.+)"), "Equalized odds difference ({})"),
    (re.compile(r"AIR (.+)"), "Adverse impact ratio ({})"),
    (re.compile(r"Gini gap (.+)"), "Gini gap between groups ({})"),
    (re.compile(r"advantage (.+)"), "Largest group advantage ({})"),
    (re.compile(r"group (.+)"), "Group with it ({})"),
]


def column_words(code):
    """A column's name in words (the code name itself when it has none).

    Examples
    --------
    >>> from sklfair.audit._html import column_words
    >>> column_words("demographic_parity_difference")
    'Demographic parity difference'
    >>> column_words("DP diff age_band")
    'Demographic parity difference (age_band)'
    """
    code = str(code)
    if code in WORDS:
        return WORDS[code]
    for pattern, words in _BY_ATTRIBUTE:
        match = pattern.fullmatch(code)
        if match:
            return words.format(match.group(1))
    return code


def _header(code, title=None):
    words = column_words(code)
    tip = title or (code if words != str(code) else None)
    if tip is None:
        return html.escape(words)
    return f'<abbr title="{html.escape(str(tip))}">{html.escape(words)}</abbr>'


def cell_text(value, digits=3):
    """A cell's text: numbers to ``digits`` decimals, NaN as ``-``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if np.isnan(value):
            return "-"
        return f"{value:.{digits}f}"
    return str(value)


def with_interval(value, low, high, digits=3):
    """HTML of a value with its interval below it (or the value alone)."""
    text = html.escape(cell_text(value, digits))
    if pd.isna(low) or pd.isna(high) or pd.isna(value):
        return text
    return f'{text}<span class="ci">[{low:.{digits}f}, {high:.{digits}f}]</span>'


def box(content):
    """``content`` in a box that scrolls sideways when it is too wide."""
    return f'<div class="box">{content}</div>'


def table_html(
    frame,
    *,
    index=True,
    intervals=("low", "high"),
    formats=None,
    row_classes=None,
    cell_classes=None,
    titles=None,
    digits=3,
    words=True,
):
    """A DataFrame as an HTML table in its own scrolling box.

    Parameters
    ----------
    frame : pandas.DataFrame
    index : bool, default=True
        Show the index as the first column (its name in the header).
    intervals : tuple of str, default=("low", "high")
        Suffixes of interval columns: a column ``c`` with ``c <low>`` and
        ``c <high>`` (or ``c_<low>``/``c_<high>``) is shown with its
        interval, and the two are not shown on their own.
    formats : dict, default=None
        ``column -> function(value) -> HTML`` for cells shown otherwise.
    row_classes : list of str, default=None
        A class for each row (``"fail"`` marks a row).
    cell_classes : dict, default=None
        ``column -> class`` of its cells (``"verdict"``, ``"flag"``).
    titles : dict, default=None
        ``column -> tooltip`` replacing the code name.
    digits : int, default=3
        Decimals of the numbers.
    words : bool, default=True
        Also write the values of a ``metric`` column in words.

    Returns
    -------
    str
    """
    formats = formats or {}
    cell_classes = cell_classes or {}
    titles = titles or {}
    columns, pairs = [], {}
    for column in frame.columns:
        name = str(column)
        found = None
        for sep in (" ", "_"):
            low, high = f"{name}{sep}{intervals[0]}", f"{name}{sep}{intervals[1]}"
            if low in frame.columns and high in frame.columns:
                found = (low, high)
        if found:
            pairs[column] = found
    hidden = {c for pair in pairs.values() for c in pair}
    columns = [c for c in frame.columns if c not in hidden]

    head = []
    if index:
        names = [n for n in frame.index.names if n is not None]
        label = names[0] if len(names) == 1 else (" / ".join(map(str, names)) or "")
        head.append(f'<th class="label">{_header(label) if label else ""}</th>')
    for column in columns:
        text_column = not pd.api.types.is_numeric_dtype(frame[column])
        css = ' class="label"' if text_column else ""
        head.append(f"<th{css}>{_header(column, titles.get(column))}</th>")

    body = []
    for position, (key, row) in enumerate(frame.iterrows()):
        cells = []
        if index:
            shown = " / ".join(map(str, key)) if isinstance(key, tuple) else key
            cells.append(f'<td class="label name">{html.escape(str(shown))}</td>')
        for column in columns:
            value = row[column]
            if column in formats:
                text = formats[column](value)
            elif column in pairs:
                low, high = pairs[column]
                text = with_interval(value, row[low], row[high], digits)
            elif words and column == "metric":
                text = html.escape(column_words(value))
            else:
                text = html.escape(cell_text(value, digits))
            classes = []
            if not pd.api.types.is_numeric_dtype(frame[column]):
                classes.append("label")
            if column in cell_classes:
                classes.append(cell_classes[column])
            css = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{css}>{text}</td>")
        css = ""
        if row_classes is not None and row_classes[position]:
            css = f' class="{row_classes[position]}"'
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    return box(
        f'<table class="audit"><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
