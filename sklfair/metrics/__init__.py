"""Fairness measurement: group metrics, gaps, intervals, certificates, scorers, report.

Built on fairlearn's :class:`~fairlearn.metrics.MetricFrame`. The binary
metrics have fairlearn's signatures and values (they delegate to it) with
checked inputs; this package adds multi-class and regression variants, the
average differences of any metric across groups, a counterfactual flip rate,
confidence intervals for the gaps (:func:`fairness_interval`), certificates
that held-out rows keep a gap below a bound (:func:`certify`), scorers for
model selection (:func:`make_fairness_scorer`, also of the credible gap) and
a report a risk committee can read (:func:`fairness_report`), and measures
along a continuous attribute that need no bins (:func:`hsic_dependence`,
:func:`mean_prediction_slope`...).
"""

from ._aggregate import (
    average_absolute_difference,
    average_difference,
    average_relative_difference,
)
from ._approvals import adverse_impact_ratio, approval_by_group
from ._binary import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
)
from ._calibration import calibration_by_group, expected_calibration_error
from ._certify import FairnessCertificate, certify
from ._continuous import (
    bin_sensitive_features,
    hgr_correlation,
    hsic_dependence,
    mean_prediction_slope,
    prediction_correlation,
)
from ._counterfactual import counterfactual_flip_rate
from ._credit import group_gap, risk_metrics_by_group
from ._credit_intervals import group_gap_interval
from ._cutoff_scorer import make_cutoff_scorer
from ._cutoffs import cutoff_for_approval_rate, cutoff_for_bad_rate
from ._group import group_metrics
from ._intervals import FairnessInterval, fairness_interval
from ._lending import approval_rate, bad_rate
from ._multiclass import (
    multiclass_demographic_parity_difference,
    multiclass_equalized_odds_difference,
)
from ._ranking import gini, ks_statistic
from ._regression import mean_absolute_error_difference, mean_prediction_difference
from ._report import FairnessReport, fairness_report
from ._scorers import make_fairness_scorer

__all__ = [
    "FairnessCertificate",
    "certify",
    "FairnessInterval",
    "fairness_interval",
    "FairnessReport",
    "fairness_report",
    "average_absolute_difference",
    "average_difference",
    "average_relative_difference",
    "counterfactual_flip_rate",
    "gini",
    "ks_statistic",
    "expected_calibration_error",
    "calibration_by_group",
    "risk_metrics_by_group",
    "group_gap",
    "group_gap_interval",
    "cutoff_for_approval_rate",
    "cutoff_for_bad_rate",
    "make_cutoff_scorer",
    "approval_rate",
    "bad_rate",
    "adverse_impact_ratio",
    "approval_by_group",
    "make_fairness_scorer",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "group_metrics",
    "mean_absolute_error_difference",
    "mean_prediction_difference",
    "multiclass_demographic_parity_difference",
    "multiclass_equalized_odds_difference",
    "mean_prediction_slope",
    "prediction_correlation",
    "hsic_dependence",
    "hgr_correlation",
    "bin_sensitive_features",
]
