"""Teacher-student distillation: a small network that reproduces a big model.

:class:`DistilledClassifier` fits (or, wrapped in
:class:`~sklearn.frozen.FrozenEstimator`, just uses) an accurate but heavy
*teacher* -- gradient boosting, a forest, a large network, a whole Pipeline --
and trains a small *student* network to reproduce it, optionally under a
fairness constraint. :class:`DistilledRegressor` does the same for regression.

The student is trained through the one training loop of :mod:`sklfair.nets`:
this package only supplies the teacher's soft targets (``soft_targets=``) and
the distillation objective as a :class:`~sklfair.nets.LossTerm`, plus the
fairness terms of :mod:`sklfair.constrained` when a constraint is asked for.
It never writes a training loop of its own.

The transfer set is the labelled training data, optionally extended with
unlabelled rows (``fit(X, y, X_unlabeled=...)``) and synthetic rows
(``n_augment``), all labelled by the teacher. :func:`count_parameters` sizes
teachers and students alike (torch parameters, tree nodes, coefficients).
"""

from ._base import DEFAULT_STUDENT_HIDDEN_UNITS, DEFAULT_STUDENT_MIN_STEPS
from ._classifier import DistilledClassifier
from ._parameters import count_parameters
from ._regressor import DistilledRegressor
from ._transfer import AUGMENT_MIXUP_BETA, AUGMENT_NOISE_SCALE

__all__ = [
    "DistilledClassifier",
    "DistilledRegressor",
    "count_parameters",
    "DEFAULT_STUDENT_HIDDEN_UNITS",
    "DEFAULT_STUDENT_MIN_STEPS",
    "AUGMENT_NOISE_SCALE",
    "AUGMENT_MIXUP_BETA",
]
