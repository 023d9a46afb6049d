"""The warnings and errors sklfair raises, in one place.

Every class subclasses the standard Python class that users already filter
(``UserWarning``, ``ValueError``, ``RuntimeError``), so existing
``warnings.filterwarnings("ignore", category=UserWarning)`` or ``except
ValueError`` code keeps working, while a finer filter can name exactly one
case::

    import warnings
    from sklfair.exceptions import SmallGroupWarning

    warnings.simplefilter("error", SmallGroupWarning)  # fail on small groups

:class:`SklfairWarning` is the parent of every warning here: filter it to
silence (or escalate) all of sklfair's warnings at once.

Examples
--------
>>> from sklfair.exceptions import BoundNotMetWarning, SklfairWarning
>>> issubclass(BoundNotMetWarning, SklfairWarning)
True
>>> issubclass(BoundNotMetWarning, UserWarning)
True
"""

from __future__ import annotations

__all__ = [
    "SklfairWarning",
    "BoundNotMetWarning",
    "NoSensitiveAttributeWarning",
    "SmallGroupWarning",
    "UnseenGroupWarning",
    "ContinuousSensitiveAttributeWarning",
    "InfeasibleBoundWarning",
    "DegenerateModelWarning",
    "UndefinedRateWarning",
    "InterruptedFitWarning",
    "CutoffTargetWarning",
    "LabelConventionWarning",
    "SensitiveInputWarning",
    "SensitiveAttributeError",
    "AuditError",
    "PrivacyWarning",
    "DeploymentGapWarning",
    "PrivacyBudgetError",
    "PrivacyGuaranteeError",
]


class SklfairWarning(UserWarning):
    """Parent of every warning sklfair raises."""


class BoundNotMetWarning(SklfairWarning):
    """A fitted model's gap on the data it was checked on is above its bound.

    Raised at fit by the constrained estimators (and the fair student) when
    the training gap exceeds ``bound``, and by
    :func:`sklfair.metrics.certify` when the upper end of a gap's interval
    on held-out data exceeds the bound.
    """


class NoSensitiveAttributeWarning(SklfairWarning):
    """A fairness meta-estimator was fitted without any sensitive attribute.

    Neither ``sensitive_columns=`` nor ``sensitive_features=`` was given, so
    there are no groups: the mitigation (reweighing, the constraint, the
    student's fairness term) is not applied and the inner estimator is fitted
    as it is. The fitted meta-estimator records this as
    ``sensitive_attribute_ = None``.
    """


class SmallGroupWarning(SklfairWarning):
    """A group has fewer rows than the policy's stated minimum.

    Its rates are estimated from so few rows that a gap involving it is
    mostly sampling noise. The fit goes on; merge small groups or collect
    more data for a claim about them.
    """


class UnseenGroupWarning(SklfairWarning):
    """Rows at prediction belong to a group that was not seen at fit.

    The model still predicts them (a method with per-group decision rules
    uses its group-blind rule for those rows), but no fairness property
    measured at fit covers that group.
    """


class ContinuousSensitiveAttributeWarning(SklfairWarning):
    """A sensitive column looks continuous and was cut into quantile bins.

    A numeric column with more distinct values than the policy allows (e.g.
    age in years) would otherwise make dozens of groups of a few rows each.
    It is cut into a few quantile bins instead, and the message names the
    cut points. Say how to bin it with ``sensitive_bins=`` (which silences
    this warning), or measure and bound the dependence on the attribute
    itself, without bins (:func:`sklfair.metrics.hsic_dependence`,
    :class:`sklfair.constraints.Independence`).
    """


class InfeasibleBoundWarning(SklfairWarning):
    """The bound is tighter than the data can resolve.

    With the groups' sizes and rates, the sampling noise of a gap alone is
    about as large as the bound, so neither meeting nor missing it on the
    training rows says much about new data. The message gives the smallest
    bound the groups can resolve.
    """


class DegenerateModelWarning(SklfairWarning):
    """A fitted model's decisions are (nearly) constant.

    The constraint was met by predicting (almost) the same class for
    everybody, or the accuracy is within a hair of always predicting the
    majority class: the model is fair only because it is useless.
    """


class UndefinedRateWarning(SklfairWarning):
    """A rate is undefined for a group (e.g. no negatives: no false positive
    rate); it counts as 0, as fairlearn's metrics count it."""


class InterruptedFitWarning(SklfairWarning):
    """A fit was interrupted (Ctrl-C) and the model kept is partly trained."""


class CutoffTargetWarning(SklfairWarning):
    """No decision cutoff meets the target on the data given.

    For instance no approval rate keeps the bad rate among the approved
    under the target, even approving only the lowest-risk applicants. The
    cutoff returned approves nobody; loosen the target or check the model.
    """


class LabelConventionWarning(SklfairWarning):
    """Most applicants are bad by the ``bad_label`` given: is it the right one?

    More than half of the outcomes (or of the predicted probability) are
    of the class ``bad_label`` names, while defaults are nearly always the
    minority. It is what naming the *good* class gives: the German credit
    data, whose target is 1 for a good risk, needs ``bad_label=0``.
    """


class SensitiveInputWarning(SklfairWarning):
    """A model's scores move with a sensitive column.

    Raised by :func:`sklfair.explain.reason_codes` when a sensitive column
    has non-zero contributions: it is never given as a reason, yet it
    changes decisions (the model takes it as an input, or a post-processing
    rule reads it).
    """


class DeploymentGapWarning(SklfairWarning):
    """A compressed or exported model's group gap is above the bound of the
    original fit, on the rows it was measured on.

    Raised by :func:`sklfair.deploy.compare`: quantization, pruning or the
    conversion to ONNX moved the decisions of some rows enough to push the
    constrained gap past the bound the original model was fitted under.
    Re-measure on more rows, fine-tune the compressed model under the
    constraint (``sklfair.deploy.prune`` keeps it), or compress less.
    """


class SensitiveAttributeError(ValueError):
    """The sensitive attribute cannot define groups: wrong length, missing
    values, a continuous column, a single group, or both ways given at once."""


class AuditError(ValueError):
    """Bad input to the audit (``python -m sklfair audit``): a missing column,
    a file that cannot be read or parsed, an output folder already in use.
    The message is one line, fit for a command line."""


class PrivacyWarning(SklfairWarning):
    """A private fit's stated guarantee may not cover everything it read.

    Raised by a net fitted with ``privacy=`` when part of its input comes
    from outside DP-SGD's accounting (e.g. a teacher's soft targets): the
    ``epsilon_`` it reports covers its own training only.
    """


class PrivacyBudgetError(ValueError):
    """Training a private net further would spend more than its budget.

    Raised before any training happens, by ``partial_fit`` or a warm-started
    ``fit`` whose planned epochs would take the spent epsilon past
    ``target_epsilon``.
    """


class PrivacyGuaranteeError(ValueError):
    """A private fit was asked for something DP-SGD's guarantee cannot cover.

    For example fairness loss terms that read group rates over each batch,
    sample weights computed from the whole data set, batch normalisation, or
    warm-starting from a network trained without privacy. The message names
    what breaks the guarantee and what to do instead.
    """
