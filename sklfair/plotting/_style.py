"""What the figures of :mod:`sklfair.plotting` share: colours and table checks."""

from __future__ import annotations

import pandas as pd

__all__ = ["BAR_COLOR", "GAP_COLOR", "check_table"]

BAR_COLOR = "#4C72B0"
GAP_COLOR = "#C44E52"


def check_table(table, columns, source):
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"table must be a pandas DataFrame, got {type(table).__name__}."
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"The table lacks the column(s) {missing}: pass the table {source} returns."
        )
