"""What a private fit (``privacy=DPSGD(...)``) accepts, and the budget it spends.

The DP-SGD steps themselves are in :mod:`sklfair.nets._private`; here are the
decisions around them, taken before training starts:

- :func:`check_private_terms` refuses loss terms whose per-row influence
  DP-SGD cannot bound, and says what soft targets leave outside the
  guarantee;
- :func:`private_weights` turns ``sample_weight`` into the rows' sampling
  rates, or refuses weights that would leak (computed from the whole data
  set and not declared per row);
- :func:`privacy_ledger_for` opens a fresh ledger for a fit from scratch, or
  spends from the network's own for continued training, after checking that
  the plan stays within the budget;
- :func:`record_privacy` sets (or drops) the fitted privacy attributes;
- :func:`noise_seed` derives the noise's seed from the fit's.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..exceptions import PrivacyGuaranteeError, PrivacyWarning
from ..privacy._dpsgd import PrivacyLedger

__all__ = [
    "check_private_terms",
    "noise_seed",
    "privacy_ledger_for",
    "private_weights",
    "record_privacy",
]

_PRIVACY_ATTRIBUTES = ("_privacy_ledger", "epsilon_", "delta_", "noise_multiplier_")


def noise_seed(seed):
    """The seed of a private fit's noise, derived from (not equal to) the fit's."""
    return int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])


def check_private_terms(loss_terms, soft_targets):
    """Refuse loss terms DP-SGD cannot cover; say what soft targets leave out."""
    for term in loss_terms:
        if "sensitive_features" in getattr(term, "requires", ()):
            raise PrivacyGuaranteeError(
                f"A private fit cannot take {type(term).__name__}: a fairness "
                "loss term reads group rates over each batch (and a Lagrangian "
                "reads the whole training set between steps), so one row moves "
                "every other row's gradient and DP-SGD's per-row clipping no "
                "longer bounds its influence. For private and fair training, "
                "reweigh from noisy counts (sklfair.privacy."
                "noisy_fair_sample_weight with DPSGD(accept_weights=True)), or "
                "post-process the private net's scores with thresholds fitted on "
                "rows outside its training set."
            )
    if soft_targets is not None:
        warnings.warn(
            "soft_targets come from outside this private fit: epsilon_ covers "
            "the net's own training given them. If the teacher was fitted on "
            "these rows without privacy, the soft targets carry those rows' data "
            "and the student is not private; it is when the teacher was fitted "
            "on other data, or privately (the two epsilons then add up).",
            PrivacyWarning,
            stacklevel=4,
        )


def private_weights(spec, weighted, sample_weight):
    """The weights a private fit samples rows by, or an error naming the risk."""
    if not weighted:
        return sample_weight
    if np.all(sample_weight == sample_weight[0]):
        return np.ones_like(sample_weight)  # equal weights: an unweighted fit
    if spec.accept_weights:
        if sample_weight.max() > 1:
            raise PrivacyGuaranteeError(
                "In a private fit a row's weight is the share of batches it may "
                "join (its gradient is clipped, then counted whole), so weights "
                f"must be at most 1; the largest is {sample_weight.max():g}. "
                "Divide them by a bound fixed without looking at the data "
                "(noisy_fair_sample_weight's are at most 1 already)."
            )
        return sample_weight
    raise PrivacyGuaranteeError(
        "A private fit was given unequal sample_weight. Weights computed from "
        "the whole data set (class balancing, ReweighingClassifier's group x "
        "label counts) let one row change every other row's weight, which "
        "DP-SGD's per-row clipping does not bound. If each row's weight depends "
        "on that row alone, or on statistics released under their own budget "
        "(sklfair.privacy.noisy_fair_sample_weight), say so with "
        "DPSGD(accept_weights=True)."
    )


def privacy_ledger_for(estimator, spec, warm, n_rows, epochs):
    """The ledger this fit spends from, after checking it has room.

    A fit from scratch opens a new ledger (noise calibrated for
    ``max_epochs`` epochs of ``n_rows``); continued training (warm start,
    later ``partial_fit`` calls) spends from the network's ledger.
    """
    batch_size = estimator.batch_size
    if not warm:
        ledger = PrivacyLedger(spec, n_rows, batch_size, estimator.max_epochs)
    else:
        ledger = getattr(estimator, "_privacy_ledger", None)
        if ledger is None:
            raise PrivacyGuaranteeError(
                "This network was trained without privacy: its weights "
                "already depend on its training rows, and continuing with "
                "DP-SGD cannot undo that. Fit from scratch (warm_start=False, "
                "or a fresh estimator for partial_fit)."
            )
        ledger.target_epsilon = float(spec.target_epsilon)
    ledger.plan(n_rows, batch_size, epochs)
    return ledger


def record_privacy(estimator, ledger):
    """Set (or, for a fit without privacy, drop) the privacy attributes."""
    if ledger is None:
        for name in _PRIVACY_ATTRIBUTES:
            estimator.__dict__.pop(name, None)
        return
    estimator._privacy_ledger = ledger
    estimator.epsilon_ = ledger.epsilon
    estimator.delta_ = ledger.delta
    estimator.noise_multiplier_ = ledger.noise_multiplier
