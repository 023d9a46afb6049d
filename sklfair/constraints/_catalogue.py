"""The catalogue: constraint names, and turning a name, an object or a list into
fresh constraint objects that carry their bound."""

from __future__ import annotations

from sklearn.base import clone

from ._base import FairnessConstraint
from ._classification import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
)
from ._regression import BoundedGroupLoss, GroupLossParity, GroupMeanParity

__all__ = [
    "CLASSIFICATION_CONSTRAINTS",
    "REGRESSION_CONSTRAINTS",
    "DEFAULT_BOUNDS",
    "resolve_constraint",
    "resolve_constraints",
]

CLASSIFICATION_CONSTRAINTS = {
    cls.name: cls
    for cls in (DemographicParity, EqualizedOdds, EqualOpportunity, ErrorRateParity)
}
REGRESSION_CONSTRAINTS = {
    cls.name: cls for cls in (GroupMeanParity, GroupLossParity, BoundedGroupLoss)
}

#: The bound used when neither the estimator nor the constraint object sets one.
DEFAULT_BOUNDS = {"classification": 0.02, "regression": 0.1}


def _known(task):
    return (
        CLASSIFICATION_CONSTRAINTS
        if task == "classification"
        else (REGRESSION_CONSTRAINTS)
    )


def resolve_constraint(constraint, task="classification", bound=None, default=None):
    """Turn a constraint name or object into a fresh object carrying its bound.

    Parameters
    ----------
    constraint : str or FairnessConstraint
        A name (see :mod:`sklfair.constraints`) or an object, which is cloned
        so that the caller's object is never modified, and validated.
    task : {"classification", "regression"}, default="classification"
    bound : float or None, default=None
        The estimator's bound. It sets the bound of a name or of an object
        whose ``bound`` is None; an object with a bound of its own and a
        different ``bound`` here is an error. With neither, ``default``.
    default : float or None, default=None
        The bound when neither sets one; None means ``DEFAULT_BOUNDS[task]``.

    Returns
    -------
    constraint : FairnessConstraint
        A new object whose ``bound`` is set.

    Raises
    ------
    ValueError
        For an unknown name, a constraint of the other task, two different
        bounds, or an invalid parameter (scikit-learn's
        ``InvalidParameterError`` message).

    Examples
    --------
    >>> from sklfair.constraints import DemographicParity, resolve_constraint
    >>> resolve_constraint("equalized_odds", bound=0.05)
    EqualizedOdds(bound=0.05)
    >>> resolve_constraint(DemographicParity(bound=0.03))
    DemographicParity(bound=0.03)
    >>> resolve_constraint("statistical_parity")
    Traceback (most recent call last):
    ...
    ValueError: Unknown constraint 'statistical_parity' for classification; choose \
one of ['demographic_parity', 'equalized_odds', 'equal_opportunity', \
'error_rate_parity'] or pass a FairnessConstraint object.
    """
    known = _known(task)
    if isinstance(constraint, str):
        if constraint not in known:
            other = _known(
                "regression" if task == "classification" else "classification"
            )
            hint = ""
            if constraint in other:
                hint = f" ({constraint!r} is for the other kind of estimator.)"
            raise ValueError(
                f"Unknown constraint {constraint!r} for {task}; choose one of "
                f"{list(known)} or pass a FairnessConstraint object.{hint}"
            )
        constraint = known[constraint]()
    elif isinstance(constraint, FairnessConstraint):
        if constraint.task != task:
            raise ValueError(
                f"{constraint!r} is a {constraint.task} constraint; this "
                f"estimator needs a {task} one: {list(known)}."
            )
        constraint = clone(constraint)
    else:
        raise TypeError(
            "constraint must be a name, a sklfair.constraints.FairnessConstraint "
            f"or a list of them, got {type(constraint).__name__}."
        )
    own = constraint.bound
    if own is not None and bound is not None and float(own) != float(bound):
        raise ValueError(
            f"Two bounds for {constraint.name!r}: the constraint object carries "
            f"bound={own} and the estimator bound={bound}. Set one of them (the "
            "estimator's bound=None leaves it to the object)."
        )
    if own is None:
        if bound is None:
            bound = DEFAULT_BOUNDS[task] if default is None else default
        constraint.set_params(bound=bound)
    constraint._validate_params()
    return constraint


def resolve_constraints(constraint, task="classification", bound=None, default=None):
    """:func:`resolve_constraint` for one constraint or a list of them.

    Parameters
    ----------
    constraint : str, FairnessConstraint or list of them
        Several constraints are bounded together; each carries its own bound
        (or takes ``bound``). The same constraint twice is an error.
    task : {"classification", "regression"}, default="classification"
    bound, default : float or None, default=None
        As in :func:`resolve_constraint`.

    Returns
    -------
    constraints : list of FairnessConstraint

    Examples
    --------
    >>> from sklfair.constraints import (
    ...     DemographicParity, ErrorRateParity, resolve_constraints)
    >>> resolve_constraints([DemographicParity(bound=0.02),
    ...                      ErrorRateParity(bound=0.03)])
    [DemographicParity(bound=0.02), ErrorRateParity(bound=0.03)]
    """
    if isinstance(constraint, list | tuple):
        if not constraint:
            raise ValueError("constraint is an empty list; give at least one.")
        resolved = [resolve_constraint(c, task, bound, default) for c in constraint]
        names = [c.name for c in resolved]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(
                f"constraint lists {twice} more than once; bound each constraint "
                "once (the tightest bound is the one that matters)."
            )
        return resolved
    return [resolve_constraint(constraint, task, bound, default)]
