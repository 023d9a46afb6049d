"""The audit's tables as fixed-width text, for the command line.

- :func:`format_table` -- the comparison table, in two blocks: accuracy
  (with its interval), AUC, certificate and fit seconds; then the gaps,
  each with its interval;
- :func:`format_credit_table` -- the credit section's table;
- :func:`format_privacy_table` -- the membership-inference table;
- :func:`interval_columns` -- a value and its interval as one text column.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "format_credit_table",
    "format_privacy_table",
    "format_table",
    "interval_columns",
]


def _with_interval(value, low, high):
    if pd.isna(value):
        return "-"
    if pd.isna(low) or pd.isna(high):
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def interval_columns(table):
    """The table with each ``c``, ``c low``, ``c high`` trio as one text column.

    Parameters
    ----------
    table : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        ``"0.031 [0.018, 0.046]"`` in place of the three columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfair.audit import interval_columns
    >>> table = pd.DataFrame({"DP diff sex": [0.031], "DP diff sex low": [0.018],
    ...                       "DP diff sex high": [0.046]}, index=["network"])
    >>> interval_columns(table)
                      DP diff sex
    network  0.031 [0.018, 0.046]
    """
    shown = pd.DataFrame(index=table.index)
    for column in table.columns:
        if column.endswith((" low", " high")) and column.rsplit(" ", 1)[0] in table:
            continue
        if f"{column} low" in table and f"{column} high" in table:
            shown[column] = [
                _with_interval(v, lo, hi)
                for v, lo, hi in zip(
                    table[column], table[f"{column} low"], table[f"{column} high"]
                )
            ]
        else:
            shown[column] = table[column]
    return shown


def _text(table, formatters=None):
    formatters = formatters or {}
    shown = table.copy()
    for column in shown.columns:
        if column in formatters:
            shown[column] = [formatters[column](v) for v in shown[column]]
        elif pd.api.types.is_float_dtype(shown[column]):
            shown[column] = ["-" if pd.isna(v) else f"{v:.3f}" for v in shown[column]]
    return shown.to_string()


def format_table(table, *, confidence=0.95):
    """The comparison table as fixed-width text, in two blocks.

    First each model's accuracy (with its interval), AUC, certificate and
    fit seconds; then the gaps between groups, each with its interval.
    Metrics to 3 decimals.

    Parameters
    ----------
    table : pandas.DataFrame
        :attr:`AuditResult.table`.
    confidence : float, default=0.95
        The intervals' level, for the headings.

    Returns
    -------
    str
    """
    shown = interval_columns(table.drop(columns=["kind"], errors="ignore"))
    gaps = [c for c in shown.columns if " diff " in c]
    first = shown.drop(columns=gaps)
    if "bound" in first:
        first["certificate"] = [
            "-" if pd.isna(b) else f"{v} at {b:g}"
            for b, v in zip(first.pop("bound"), first["certificate"])
        ]
        first["fit s"] = first.pop("fit s")
    level = f"{confidence:.0%}"
    first = first.rename(columns={"accuracy": f"accuracy [{level} interval]"})
    return (
        _text(first, {"fit s": lambda v: f"{v:.1f}"})
        + f"\n\ngaps between groups [{level} intervals]\n"
        + _text(shown[gaps])
    )


def format_credit_table(credit):
    """The credit section's table as fixed-width text, with a heading.

    Parameters
    ----------
    credit : CreditAudit

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfair.audit import CreditAudit, format_credit_table
    >>> table = pd.DataFrame({"Gini": [0.54], "AIR sex": [0.95]},
    ...                      index=pd.Index(["network"], name="model"))
    >>> print(format_credit_table(CreditAudit(0.7, 1, table)))
    credit at an approval rate of 0.7 (PD: the probability of 1; ...)
              Gini AIR sex
    model
    network  0.540   0.950
    """
    shown = interval_columns(credit.table.drop(columns=["cutoff"], errors="ignore"))
    return (
        f"credit at an approval rate of {credit.approval_rate:g} (PD: the "
        f"probability of {credit.bad_label!r}; AIR: adverse impact ratio, the "
        "four-fifths rule flags a ratio below 0.8)\n" + _text(shown)
    )


def format_privacy_table(privacy):
    """The membership-inference table as fixed-width text, with a heading.

    Parameters
    ----------
    privacy : PrivacyAudit

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfair.audit import PrivacyAudit, format_privacy_table
    >>> table = pd.DataFrame({"attack AUC": [0.52], "p-value": [0.004]},
    ...                      index=pd.Index(["network"], name="model"))
    >>> print(format_privacy_table(PrivacyAudit(table)))
    membership inference (attack AUC 0.5 and advantage 0: no leak; ...)
            attack AUC p-value
    model
    network      0.520   0.004
    """
    return (
        "membership inference (attack AUC 0.5 and advantage 0: no leak; the "
        "largest advantage over each attribute's groups)\n"
        + _text(privacy.table, {"p-value": lambda v: f"{v:.2g}"})
    )
