"""Differentially private training and the privacy leak measured.

Public:

- :class:`DPSGD`, the specification a net takes as ``privacy=``
  (:class:`~sklfair.nets.TabularNetClassifier`,
  :class:`~sklfair.nets.TabularNetRegressor`): DP-SGD through opacus, with
  the noise calibrated to a target epsilon and the spent budget reported;
- :func:`membership_inference` and its :class:`MembershipInferenceResult`:
  loss-threshold and calibrated membership-inference attacks on any fitted
  model, overall and per group;
- :func:`noisy_fair_sample_weight`: reweighing weights from counts released
  under their own budget, for private and fair training together;
- :func:`private_training`: the DP-SGD specification of an estimator (or of
  a Pipeline's or meta-estimator's net), for code that must treat private
  models differently.

This package knows nothing of the nets; the nets read :class:`DPSGD`. opacus
(the ``privacy`` extra) is imported only when a private fit starts.
"""

from ._counts import noisy_fair_sample_weight
from ._dpsgd import DPSGD
from ._membership import MembershipInferenceResult, membership_inference

__all__ = [
    "DPSGD",
    "MembershipInferenceResult",
    "membership_inference",
    "noisy_fair_sample_weight",
    "private_training",
]


def private_training(estimator):
    """The :class:`DPSGD` an estimator trains with, or None.

    Looks through a Pipeline (its final step) and through a meta-estimator's
    ``estimator`` or ``student`` parameter, so that a meta-estimator can
    tell that the net it will fit is private (and refuse or adapt what it
    reads from the data).

    Parameters
    ----------
    estimator : estimator instance

    Returns
    -------
    spec : DPSGD or None

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklfair.nets import TabularNetClassifier
    >>> from sklfair.privacy import DPSGD, private_training
    >>> pipe = make_pipeline(StandardScaler(), TabularNetClassifier(privacy=DPSGD()))
    >>> private_training(pipe)
    DPSGD()
    >>> private_training(StandardScaler()) is None
    True
    """
    seen = set()
    while estimator is not None and id(estimator) not in seen:
        seen.add(id(estimator))
        spec = getattr(estimator, "privacy", None)
        if isinstance(spec, DPSGD):
            return spec
        steps = getattr(estimator, "steps", None)
        if isinstance(steps, list) and steps:
            estimator = steps[-1][1]
            continue
        for name in ("estimator", "student"):
            inner = getattr(estimator, name, None)
            if inner is not None and hasattr(inner, "fit"):
                estimator = inner
                break
        else:
            return None
    return None
