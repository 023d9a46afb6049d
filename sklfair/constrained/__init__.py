"""Fairness-constrained fitting: :class:`FairConstrainedClassifier` and
:class:`FairConstrainedRegressor`, and the training-loop terms they use.

One meta-estimator, five ways to keep group gaps under their bounds:

- ``"lagrangian"``, ``"penalty"``, ``"adversarial"`` train an sklfair net
  (:mod:`sklfair.nets`, also as the last step of a Pipeline) in *one* run of
  its training loop, handing it the group codes and a loss term
  (:class:`LagrangianTerm`, :class:`PenaltyTerm`, :class:`AdversarialTerm`);
  this package never writes a training loop;
- ``"reductions"`` wraps any estimator whose ``fit`` takes ``sample_weight``
  in fairlearn's :class:`~fairlearn.reductions.ExponentiatedGradient`;
- ``"threshold"`` post-processes any classifier's scores with fairlearn's
  :class:`~fairlearn.postprocessing.ThresholdOptimizer` (binary) or with
  per-group offsets to its log-scores (more classes, ``_multiclass_threshold``),
  reading the groups from the sensitive columns of ``X`` at prediction time
  as well.

A dependence on a continuous attribute
(:class:`~sklfair.constraints.Independence`) has no groups and trains through
its own term, :class:`DependenceTerm` (``"lagrangian"`` and ``"penalty"``).

The constraints themselves live in :mod:`sklfair.constraints`; the sensitive
attribute follows the one policy of :mod:`sklfair._sensitive`.
"""

from sklfair.exceptions import BoundNotMetWarning

from ._adversarial import AdversarialTerm
from ._base import fairness_terms
from ._classifier import FairConstrainedClassifier
from ._dependence import DependenceTerm
from ._gap_term import GapTerm
from ._lagrangian import LagrangianTerm
from ._penalty import PenaltyTerm
from ._regressor import FairConstrainedRegressor

__all__ = [
    "FairConstrainedClassifier",
    "FairConstrainedRegressor",
    "LagrangianTerm",
    "PenaltyTerm",
    "AdversarialTerm",
    "GapTerm",
    "DependenceTerm",
    "fairness_terms",
    "BoundNotMetWarning",
]
