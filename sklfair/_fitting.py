"""Fitting a child estimator with extra per-sample arguments.

Meta-estimators hand ``sample_weight``, ``sensitive_features``,
``soft_targets`` and ``loss_terms`` to the estimator they wrap. When that
estimator is a :class:`~sklearn.pipeline.Pipeline` (possibly nested), the
arguments belong to its final step only: the transformers are fitted first,
exactly as ``Pipeline.fit`` does, and the final step receives the transformed
``X`` with the arguments. This works the same with metadata routing on or off,
and needs no ``set_fit_request`` on the user's steps.
"""

from __future__ import annotations

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

__all__ = ["final_estimator", "fit_with_params", "accepts_fit_param"]


def final_estimator(estimator):
    """Return the estimator that makes the predictions (last step, recursively).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.linear_model import LogisticRegression
    >>> final_estimator(make_pipeline(StandardScaler(), LogisticRegression()))
    LogisticRegression()
    """
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def accepts_fit_param(estimator, name):
    """Whether the final estimator's ``fit`` takes the argument ``name``."""
    return has_fit_parameter(final_estimator(estimator), name)


def fit_with_params(estimator, X, y, **params):
    """Fit ``estimator`` in place, passing ``params`` to its final step.

    Parameters whose value is ``None`` are not passed at all, so estimators
    without, e.g., ``sample_weight`` still work when no weights are given.

    Parameters
    ----------
    estimator : estimator or Pipeline
        The (already cloned) estimator to fit.
    X, y : array-like
        Training data.
    **params : dict
        Per-sample arguments for the final step's ``fit``.

    Returns
    -------
    estimator : the fitted estimator.

    Raises
    ------
    TypeError
        When the final step's ``fit`` does not accept one of ``params``.
    """
    params = {key: value for key, value in params.items() if value is not None}
    final = final_estimator(estimator)
    for name in params:
        if not has_fit_parameter(final, name):
            raise TypeError(
                f"{type(final).__name__}.fit does not accept {name!r}, which "
                f"{'this meta-estimator' if name != 'sample_weight' else 'reweighting'}"
                " needs to pass to it."
            )
    if not isinstance(estimator, Pipeline):
        return estimator.fit(X, y, **params)
    head, (_, last) = estimator[:-1], estimator.steps[-1]
    Xt = head.fit_transform(X, y) if len(head) else X
    if last is not None and last != "passthrough":
        fit_with_params(last, Xt, y, **params)
    return estimator
