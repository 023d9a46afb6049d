"""The report's tables: in a scrolling box, columns in words, intervals below."""

import numpy as np
import pandas as pd

from sklfair.audit._html import column_words, table_html


def test_columns_are_named_in_words_with_the_code_in_a_tooltip():
    table = pd.DataFrame(
        {
            "demographic_parity_difference": [0.1],
            "demographic_parity_difference_low": [0.05],
            "demographic_parity_difference_high": [0.2],
            "DP diff age_band": [0.3],
            "an_unknown_column": [1.0],
        },
        index=pd.Index(["sex"], name="attribute"),
    )
    page = table_html(table)
    assert page.startswith('<div class="box"><table class="audit">')
    assert page.endswith("</table></div>")
    assert (
        '<abbr title="demographic_parity_difference">Demographic parity '
        "difference</abbr>" in page
    )
    assert (
        '<abbr title="DP diff age_band">Demographic parity difference '
        "(age_band)</abbr>" in page
    )
    assert "<th>an_unknown_column</th>" in page  # no words for it: shown as is
    # the interval under the value; its ends are not columns of their own
    assert '0.100<span class="ci">[0.050, 0.200]</span>' in page
    assert "_low" not in page and "_high" not in page
    assert page.count("</th>") == 4  # the index and three columns


def test_cells_rows_and_metric_names():
    table = pd.DataFrame(
        {
            "metric": ["selection_rate", "true_positive_rate"],
            "value": [0.5, np.nan],
            "flagged": [True, False],
            "count": [3, 4],
        }
    )
    page = table_html(
        table,
        index=False,
        row_classes=["fail", None],
        cell_classes={"value": "verdict"},
        formats={"count": lambda v: f"<b>{v}</b>"},
    )
    assert '<tr class="fail"><td class="label">Selection rate</td>' in page
    assert '<td class="verdict">0.500</td>' in page
    assert '<td class="verdict">-</td>' in page  # NaN
    assert "<td>yes</td>" in page and "<td><b>3</b></td>" in page
    assert "<tr><td" in page  # the second row has no class


def test_column_words():
    assert column_words("fit s") == "Fit seconds"
    assert column_words("EO diff sex") == "Equalized odds difference (sex)"
    assert column_words("AIR age_band") == "Adverse impact ratio (age_band)"
    assert column_words("anything else") == "anything else"
