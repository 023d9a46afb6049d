"""Matplotlib figures for fairness measurement and model selection.

- :func:`plot_group_metrics` -- each metric's value per group as bars (with
  error bars when the table has intervals), the overall value as a dashed
  line, and the gap (largest - smallest group) marked with an arrow and
  labelled with its interval when one is given;
- :func:`plot_pareto_front` -- candidates of a search by score and fairness,
  with the non-dominated ones joined, and error bars from the table's
  intervals or standard deviations;
- :func:`plot_calibration_by_group` -- a reliability diagram with one curve
  per group (predicted against observed risk);
- :func:`plot_approval_by_group` -- approval and bad rates per group at a
  lending cutoff, with the four-fifths line;
- :func:`plot_contributions` -- one row's contributions to its score, as a
  waterfall of the features pushing it up and down (shap's waterfall plot);
- :func:`plot_group_importance` -- the mean absolute contribution of each
  feature in each group (shap's bar plot over cohorts).

Matplotlib is imported inside the functions, so importing :mod:`sklfair`
never loads it. The functions return the :class:`~matplotlib.figure.Figure`
(made with :mod:`matplotlib.pyplot`, so notebooks and sphinx-gallery show it).
"""

from ._credit import plot_approval_by_group, plot_calibration_by_group
from ._explain import plot_contributions, plot_group_importance
from ._fairness import plot_group_metrics, plot_pareto_front

__all__ = [
    "plot_group_metrics",
    "plot_pareto_front",
    "plot_calibration_by_group",
    "plot_approval_by_group",
    "plot_contributions",
    "plot_group_importance",
]
