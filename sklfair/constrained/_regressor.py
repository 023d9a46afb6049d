"""The constrained regressor: :class:`FairConstrainedRegressor`."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from sklfair.constraints import REGRESSION_CONSTRAINTS, FairnessConstraint

from ._base import LOOP_METHODS, BaseFairConstrained
from ._fairlearn import mixture_prediction

__all__ = ["FairConstrainedRegressor"]


class FairConstrainedRegressor(RegressorMixin, BaseFairConstrained):
    """Regressor fitted under a fairness constraint on its group means or losses.

    Parameters
    ----------
    estimator : estimator or Pipeline
        The regressor to constrain: an sklfair net (alone or as the last step
        of a Pipeline) for the training-loop methods; for ``"reductions"`` any
        regressor whose ``fit`` takes ``sample_weight``.
    constraint : str, FairnessConstraint or list of them, \
            default="group_mean_parity"
        ``"group_mean_parity"`` (mean predictions of any two groups differ by
        at most ``bound``), ``"group_loss_parity"`` (mean squared errors
        differ by at most ``bound``) or ``"bounded_group_loss"`` (every
        group's mean squared error is at most ``bound``; the only one
        fairlearn's reductions support), or constraint objects carrying their
        own bound (searchable as ``constraint__bound``); a list bounds several
        at once.
    bound : float or None, default=None
        Largest allowed gap (or group loss), in the units of ``y`` (squared
        for the losses), for a constraint given by name or an object without
        a bound; None means the object's own bound, else 0.1.
    method : {"auto", "lagrangian", "penalty", "adversarial", "reductions"}, \
            default="auto"
        As in :class:`FairConstrainedClassifier`; ``"reductions"`` runs
        ``ExponentiatedGradient`` with fairlearn's ``BoundedGroupLoss`` and
        predicts the mixture's mean.
    sensitive_columns : str, int, list, boolean mask or callable, default=None
    drop_sensitive : bool, default=True
    sensitive_bins : int, dict or None, default=None
        How a continuous sensitive column (numeric, more than 20 distinct
        values, e.g. age in years) becomes groups. None: it is cut into 4
        quantile bins with a
        :class:`~sklfair.exceptions.ContinuousSensitiveAttributeWarning`. An
        int ``q``: every numeric sensitive column with more than ``q``
        distinct values is cut into ``q`` quantile bins, without a warning.
        A dict maps a column to a number of quantile bins or to cut points
        (``{"age": [25, 60]}``: ``<=25``, ``(25, 60]``, ``>60``). The cut
        points are found at fit and kept in ``sensitive_bins_`` (see
        :ref:`sensitive_policy`).
    penalty : float, default=None
    method_params : dict, default=None
    confidence : float in [0.5, 1), default=0.95
        The margin of the training-loop methods, as in
        :class:`FairConstrainedClassifier`.
    max_iter : int, default=50
    eps : float, default=0.01
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    estimator_ : estimator
    method_ : str or None
        None when fitted without a sensitive attribute.
    constraint_ : FairnessConstraint or list of FairnessConstraint
    groups_ : ndarray of shape (n_groups,) or None
    group_sizes_ : ndarray of shape (n_groups,) or None
    sensitive_bins_ : dict or None
        The cut points of each binned sensitive column (see
        ``sensitive_bins``), None when no column was binned.
    constraint_violation_ : float
    history_ : pandas.DataFrame or None
        Wherever a training loop ran (see :class:`FairConstrainedClassifier`).
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    See Also
    --------
    FairConstrainedClassifier

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constrained import FairConstrainedRegressor
    >>> from sklfair.nets import TabularNetRegressor
    >>> rng = np.random.RandomState(0)
    >>> group = rng.randint(2, size=300)
    >>> X = np.column_stack([rng.normal(size=300), group])
    >>> y = X[:, 0] + group
    >>> reg = FairConstrainedRegressor(
    ...     TabularNetRegressor(max_epochs=30, random_state=0), bound=0.1,
    ...     sensitive_columns=[1]).fit(X, y)
    >>> bool(reg.constraint_violation_ <= 0)
    True
    """

    _task = "regression"
    _parameter_constraints: dict = {
        **BaseFairConstrained._parameter_constraints,
        "sensitive_bins": [
            None,
            Interval(numbers.Integral, 2, None, closed="left"),
            dict,
        ],
        "constraint": [
            StrOptions(set(REGRESSION_CONSTRAINTS)),
            FairnessConstraint,
            list,
        ],
        "bound": [Interval(numbers.Real, 0, None, closed="left"), None],
        "method": [StrOptions({"auto", *LOOP_METHODS, "reductions"})],
    }

    def __init__(
        self,
        estimator,
        *,
        constraint="group_mean_parity",
        bound=None,
        method="auto",
        sensitive_columns=None,
        drop_sensitive=True,
        sensitive_bins=None,
        penalty=None,
        method_params=None,
        confidence=0.95,
        max_iter=50,
        eps=0.01,
        random_state=None,
    ):
        self.estimator = estimator
        self.constraint = constraint
        self.bound = bound
        self.method = method
        self.sensitive_columns = sensitive_columns
        self.drop_sensitive = drop_sensitive
        self.sensitive_bins = sensitive_bins
        self.penalty = penalty
        self.method_params = method_params
        self.confidence = confidence
        self.max_iter = max_iter
        self.eps = eps
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, *, sensitive_features=None, **fit_params):
        """Fit the estimator under the constraint.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        sensitive_features : array-like, Series or DataFrame, default=None
        **fit_params : dict
            Routed to ``estimator.fit`` (metadata routing only).

        Returns
        -------
        self : FairConstrainedRegressor
        """
        return self._fit(X, y, sample_weight, sensitive_features, fit_params)

    def _resolve_method(self, constraints):
        method = super()._resolve_method(constraints)
        if method == "reductions" and constraints[0].name != "bounded_group_loss":
            raise ValueError(
                "method='reductions' supports only constraint='bounded_group_loss' "
                f"for regression (fairlearn has no moment for "
                f"{constraints[0].name!r}); use an sklfair net with "
                "method='lagrangian'."
            )
        return method

    def _predict_model(self, X_model):
        if self.method_ == "reductions":
            return mixture_prediction(self.estimator_, X_model)
        return self.estimator_.predict(X_model)

    def _training_decisions(self, X_model, codes):
        return self._predict_model(X_model)

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        _, X_model, _ = self._predict_data(X)
        return np.asarray(self._predict_model(X_model))
