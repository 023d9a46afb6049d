"""Fairness constraints: which group rates must be close, and by how much.

A constraint object names the *events* and the per-row *values* whose group
rates are compared, and carries its ``bound``. The rate of group ``g`` for
event ``e`` is the weighted mean of the value over the rows of ``g`` in
``e``::

    rate[e, g] = sum_i w_i 1[g_i = g, e_i] value_i / sum_i w_i 1[g_i = g, e_i]

and the *gaps* are the differences between the rates of every ordered pair of
groups, so that "every gap is at most ``bound``" means exactly "max over
groups minus min over groups is at most ``bound``" -- the between-group
difference that :func:`fairlearn.metrics.demographic_parity_difference` and
:func:`~fairlearn.metrics.equalized_odds_difference` report.
:class:`BoundedGroupLoss` is the exception: its "gaps" are the group losses
themselves, bounded from above.

======================  ======================================
name                    rate per group
======================  ======================================
demographic_parity      P(pred = c), one-vs-rest, every class
                        (the positive class only when binary)
equalized_odds          P(pred = c | y = k) (TPR and FPR)
equal_opportunity       P(pred = c | y = c) (TPR when binary)
error_rate_parity       P(pred != y)
group_mean_parity       mean prediction (regression)
group_loss_parity       mean squared error (regression)
bounded_group_loss      mean squared error, each <= bound
independence            normalised HSIC of the decisions on a
                        continuous attribute (no groups)
======================  ======================================

:class:`Independence` is an object only (not in the name catalogue): it
bounds a dependence on a continuous attribute rather than group rates, and
trains through :class:`~sklfair.constrained.DependenceTerm`.

Constraint objects are estimator-like (``get_params``/``set_params``), so a
meta-estimator's ``constraint__bound`` is searchable. The training-loop terms
that enforce them live in :mod:`sklfair.constrained`.
"""

from ._base import FairnessConstraint
from ._catalogue import (
    CLASSIFICATION_CONSTRAINTS,
    DEFAULT_BOUNDS,
    REGRESSION_CONSTRAINTS,
    resolve_constraint,
    resolve_constraints,
)
from ._classification import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
)
from ._continuous import Independence
from ._regression import BoundedGroupLoss, GroupLossParity, GroupMeanParity

__all__ = [
    "FairnessConstraint",
    "DemographicParity",
    "EqualizedOdds",
    "EqualOpportunity",
    "ErrorRateParity",
    "GroupMeanParity",
    "GroupLossParity",
    "BoundedGroupLoss",
    "Independence",
    "CLASSIFICATION_CONSTRAINTS",
    "REGRESSION_CONSTRAINTS",
    "DEFAULT_BOUNDS",
    "resolve_constraint",
    "resolve_constraints",
]
