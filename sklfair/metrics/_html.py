"""HTML and text pieces shared by the report and the certificate.

A value with its confidence interval as text (``"0.123 [0.050, 0.200]"``),
a table whose ``<col>_low``/``<col>_high`` columns are folded into ``<col>``
for display, and the standalone page around an HTML fragment.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

__all__ = ["format_float", "with_interval", "display_with_intervals", "html_page"]


def format_float(value):
    """A number as text: whole numbers without decimals, others with three."""
    if isinstance(value, float | np.floating):
        return f"{value:.0f}" if float(value).is_integer() else f"{value:.3f}"
    return str(value)


def with_interval(value, low, high):
    """``"0.123 [0.050, 0.200]"``, or the value alone without an interval."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "-" if pd.isna(value) else format_float(value)
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def display_with_intervals(table, suffixes=("_low", "_high")):
    """A copy for display: each column with ``<col>_low``/``<col>_high``
    becomes text with its interval; the bound columns are dropped."""
    shown = table.copy()
    for name in table.columns:
        low, high = f"{name}{suffixes[0]}", f"{name}{suffixes[1]}"
        if low in table and high in table:
            shown[name] = [
                with_interval(v, lo, hi)
                for v, lo, hi in zip(table[name], table[low], table[high])
            ]
            shown = shown.drop(columns=[low, high])
    return shown


def html_page(title, fragment):
    """A standalone HTML page (``<!DOCTYPE html>`` ...) around ``fragment``."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n"
        f"{fragment}\n</body>\n</html>\n"
    )
