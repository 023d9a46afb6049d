"""The fairness certificate object: verdicts per bound, as text and HTML.

:class:`FairnessCertificate` holds what :func:`sklfair.metrics.certify`
found -- for each constraint the gap, its interval, the bound and the
verdict -- and renders it as text (``repr``) and as HTML with the failed
bounds marked in red (:meth:`FairnessCertificate.to_html`).
"""

from __future__ import annotations

import html

import pandas as pd

from ._html import html_page

__all__ = ["FairnessCertificate"]

_STYLE = """
.sklfair-certificate { font-family: system-ui, -apple-system, "Segoe UI",
  sans-serif; color: #222; max-width: 1100px; }
.sklfair-certificate h2 { font-size: 1.15em; margin-bottom: 0.2em; }
.sklfair-certificate .meta { color: #555; margin: 0.2em 0; }
.sklfair-certificate table { border-collapse: collapse; margin: 0.5em 0;
  font-size: 0.9em; }
.sklfair-certificate th, .sklfair-certificate td { padding: 3px 10px;
  border-bottom: 1px solid #eee; text-align: right; }
.sklfair-certificate th { background: #f4f4f4; }
.sklfair-certificate td.constraint { text-align: left; font-weight: 600; }
.sklfair-certificate tr.fail td { background: #fbeaea; }
.sklfair-certificate tr.fail td.verdict { color: #a61b1b; font-weight: 700; }
.sklfair-certificate tr.pass td.verdict { color: #1b6e2a; font-weight: 700; }
"""


class FairnessCertificate:
    """Whether held-out rows certify a model's fairness bounds.

    Built by :func:`certify`; not meant to be created by hand.

    .. versionadded:: 0.2

    Attributes
    ----------
    results : pandas.DataFrame
        One row per constraint (the index): ``metric`` (the gap),
        ``estimate``, ``low``, ``high`` (the interval), ``bound``,
        ``certified`` (``high <= bound``), ``verdict`` (``"certified"``,
        ``"NOT CERTIFIED"`` when the measured gap is too large, ``"NOT
        CERTIFIABLE with these rows"`` when the bound is below the smallest
        certifiable bound) and ``smallest_certifiable_bound``.
    intervals : dict of str to FairnessInterval
        The full interval of each constraint's gap (per-group rates
        included).
    group_sizes : pandas.DataFrame
        Rows per group (``rows``; ``positives`` and ``negatives`` for a
        classifier, the denominators of true and false positive rates;
        ``effective_rows`` when weighted).
    groups : str
        The name of the sensitive attribute (several columns joined by ``", "``).
    confidence : float
        The intervals' (two-sided) confidence level.
    method : {"analytic", "bootstrap"}
        How the intervals were computed.
    estimator_name : str
        The class name of the estimator.
    n_samples : int
        The number of held-out rows.
    """

    def __init__(
        self,
        *,
        results,
        intervals,
        group_sizes,
        groups,
        confidence,
        method,
        estimator_name,
        n_samples,
    ):
        self.results = results
        self.intervals = intervals
        self.group_sizes = group_sizes
        self.groups = groups
        self.confidence = confidence
        self.method = method
        self.estimator_name = estimator_name
        self.n_samples = n_samples

    @property
    def certified(self):
        """True when every bound is certified."""
        return bool(self.results["certified"].all())

    def to_frame(self):
        """The results as a DataFrame, with ``confidence`` and ``method`` columns.

        Returns
        -------
        pandas.DataFrame
            One row per constraint.
        """
        frame = self.results.copy()
        frame["confidence"] = self.confidence
        frame["method"] = self.method
        return frame

    def _smallest_group(self):
        rows = self.group_sizes["rows"]
        return rows.idxmin(), int(rows.min())

    def _header(self):
        group, size = self._smallest_group()
        return [
            f"Fairness certificate of {self.estimator_name} on {self.n_samples} "
            "held-out rows",
            f"groups: {self.groups!r}, {len(self.group_sizes)} groups; smallest "
            f"{str(group)!r} with {size} rows",
            f"{self.confidence:.0%} {self.method} intervals; a bound is certified "
            "when the interval's upper end is at most the bound",
        ]

    def _display(self):
        """The results formatted for text and HTML."""
        table = pd.DataFrame(index=self.results.index)
        table.index.name = "constraint"
        r = self.results
        table["estimate"] = r["estimate"].map("{:.3f}".format)
        table[f"{self.confidence:.0%} interval"] = [
            f"[{low:.3f}, {high:.3f}]" for low, high in zip(r["low"], r["high"])
        ]
        table["bound"] = r["bound"].map("{:.3f}".format)
        width = int(r["verdict"].str.len().max())
        table["verdict"] = r["verdict"].str.ljust(width)
        table["smallest certifiable"] = r["smallest_certifiable_bound"].map(
            "{:.3f}".format
        )
        return table

    def __repr__(self):
        return "\n".join(
            [*self._header(), "", self._display().to_string(justify="left")]
        )

    def to_html(self, *, full_page=False, title=None):
        """Render the certificate as HTML (failed bounds marked in red).

        Parameters
        ----------
        full_page : bool, default=False
            A standalone page, or a ``<div>`` fragment to insert in a report.
        title : str, default=None
            The heading; by default, the model and the number of rows.

        Returns
        -------
        str
        """
        header = self._header()
        title = header[0] if title is None else title
        display = self._display()
        head = "".join(
            f"<th>{html.escape(str(c))}</th>" for c in ["constraint", *display]
        )
        rows = []
        for name, values in display.iterrows():
            status = "pass" if self.results.loc[name, "certified"] else "fail"
            cells = "".join(
                f'<td class="{"verdict" if col == "verdict" else ""}">'
                f"{html.escape(str(v).strip())}</td>"
                for col, v in values.items()
            )
            rows.append(
                f'<tr class="{status}"><td class="constraint">'
                f"{html.escape(str(name))}</td>{cells}</tr>"
            )
        sizes = self.group_sizes.to_html(
            border=0, classes="sklfair-table", float_format=lambda v: f"{v:.1f}"
        )
        fragment = (
            f"<style>{_STYLE}</style>\n"
            '<div class="sklfair-certificate">'
            f"<h2>{html.escape(title)}</h2>"
            + "".join(f'<p class="meta">{html.escape(line)}</p>' for line in header[1:])
            + f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
            "</tbody></table>"
            f"<details><summary>Group sizes</summary>{sizes}</details></div>"
        )
        return html_page(title, fragment) if full_page else fragment

    def _repr_html_(self):
        return self.to_html()
