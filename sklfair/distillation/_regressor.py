"""The distilled regressor: :class:`DistilledRegressor`."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import get_tags
from sklearn.utils._param_validation import Interval, StrOptions

from sklfair.constrained import LagrangianTerm
from sklfair.constrained._base import in_loop_units, loop_scales
from sklfair.constraints import REGRESSION_CONSTRAINTS, FairnessConstraint
from sklfair.nets import TabularNetRegressor

from ._base import BaseDistilled
from ._objective import TeacherMSELoss

__all__ = ["DistilledRegressor"]


class DistilledRegressor(RegressorMixin, BaseDistilled):
    """Distil a teacher regressor into a small network.

    ``fit`` fits the teacher (a clone; a
    :class:`~sklearn.frozen.FrozenEstimator` is used as it is) and trains the
    student network through sklfair's one training loop on

    ``alpha * MSE(y, student) + (1 - alpha) * MSE(teacher, student)``

    -- the squared error to the true targets blended with the squared error to
    the teacher's predictions (both in the student's standardised target
    space). Rows without a true target (``X_unlabeled``, synthetic rows) use
    the teacher's prediction as their target.

    Parameters
    ----------
    teacher : regressor
        The model to reproduce (any sklearn regressor or Pipeline), fitted on
        a clone on ``X`` as given; wrap a fitted one in
        :class:`~sklearn.frozen.FrozenEstimator` to use it as is.
    student : sklfair network regressor or Pipeline ending in one, default=None
        Its ``fit`` must accept ``soft_targets`` and ``loss_terms``. ``None``
        uses ``make_pipeline(StandardScaler(),
        TabularNetRegressor(hidden_units=(32,)))``.
    alpha : float in [0, 1], default=0.5
        Weight of the squared error to the true targets; ``1 - alpha`` weighs
        the squared error to the teacher.
    constraint : {"group_mean_parity", "group_loss_parity", \
            "bounded_group_loss"}, constraint object or list of them, \
            default=None
        Fairness constraint(s) under which the student trains (a
        :class:`~sklfair.constrained.LagrangianTerm` in the training loop),
        with bounds in the units of ``y`` (squared for the losses), as in
        :class:`~sklfair.constrained.FairConstrainedRegressor`. It needs a
        sensitive attribute; without one it is not applied and a
        :class:`~sklfair.exceptions.NoSensitiveAttributeWarning` says so.
    bound : float >= 0, default=None
        Largest allowed gap of a constraint given by name (None: 0.1).
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        Columns of ``X`` holding a sensitive attribute, removed from the
        student's input when ``drop_sensitive`` (the teacher sees them).
    drop_sensitive : bool, default=True
        Remove ``sensitive_columns`` from the student's input.
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
    n_augment : int, default=0
        Synthetic transfer rows per training row, as in
        :class:`DistilledClassifier`.
    confidence : float in [0.5, 1), default=0.95
        With a constraint: the student's safety margin (see
        :class:`DistilledClassifier`).
    random_state : int, RandomState instance or None, default=None
        Seeds the synthetic rows and the default student.

    Attributes
    ----------
    teacher_ : regressor
        The fitted teacher.
    student_ : regressor
        The fitted student; it makes the predictions.
    fidelity_ : float
        R^2 of the student's predictions against the teacher's on the
        training rows (1 is a perfect copy).
    n_teacher_params_, n_student_params_ : int or None
        Learned parameters (see :func:`count_parameters`).
    n_transfer_samples_ : int
        Rows the student was trained on.
    history_ : pandas.DataFrame or None
        The student's training log, one row per epoch.
    groups_, group_sizes_ : ndarray of shape (n_groups,) or None
        With a constraint: the group labels and their sizes.
    sensitive_bins_ : dict or None
        The cut points of each binned sensitive column (see
        ``sensitive_bins``), None when no column was binned.
    constraint_ : FairnessConstraint, list of them, or None
    constraint_violation_ : float
        With a constraint and groups: the largest gap of the student's
        predictions on the labelled rows minus its bound (see
        :class:`DistilledClassifier`); NaN otherwise.
    n_features_in_ : int
        Number of features of ``X``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it was a DataFrame with string names.

    See Also
    --------
    DistilledClassifier : The same for classification, optionally fair.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> from sklfair.distillation import DistilledRegressor
    >>> X, y = make_regression(n_samples=300, n_features=5, noise=1, random_state=0)
    >>> reg = DistilledRegressor(
    ...     RandomForestRegressor(n_estimators=20, random_state=0), random_state=0
    ... ).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.fidelity_ > 0.5
    True
    """

    _multi_output = True

    _parameter_constraints: dict = {
        **BaseDistilled._parameter_constraints,
        "constraint": [
            StrOptions(set(REGRESSION_CONSTRAINTS)),
            FairnessConstraint,
            list,
            None,
        ],
        "bound": [Interval(numbers.Real, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        teacher,
        student=None,
        *,
        alpha=0.5,
        constraint=None,
        bound=None,
        sensitive_columns=None,
        drop_sensitive=True,
        sensitive_bins=None,
        n_augment=0,
        confidence=0.95,
        random_state=None,
    ):
        self.teacher = teacher
        self.student = student
        self.alpha = alpha
        self.constraint = constraint
        self.bound = bound
        self.sensitive_columns = sensitive_columns
        self.drop_sensitive = drop_sensitive
        self.sensitive_bins = sensitive_bins
        self.n_augment = n_augment
        self.confidence = confidence
        self.random_state = random_state

    _default_net = TabularNetRegressor

    def _distillation_term(self):
        return TeacherMSELoss(self.alpha)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_unlabeled=None,
        sensitive_features=None,
        **fit_params,
    ):
        """Fit the teacher, then distil it into the student.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights (see :meth:`DistilledClassifier.fit`).
        X_unlabeled : {array-like, sparse matrix, DataFrame}, default=None
            Extra transfer rows without targets, labelled by the teacher.
        sensitive_features : array-like, Series or DataFrame, default=None
            Group labels of the rows of ``X`` for the fairness constraint
            (instead of ``sensitive_columns``).
        **fit_params : dict
            Only with metadata routing on: parameters routed to the teacher's
            ``fit``.

        Returns
        -------
        self : DistilledRegressor
        """
        self._resolve_constraint("regression")
        data = self._fit_data(
            X,
            y,
            sample_weight,
            sensitive_features,
            fit_params,
            X_unlabeled=X_unlabeled,
        )
        self._y_ndim = np.ndim(data.y)
        return self._fit(data, X_unlabeled, sensitive_features)

    def _fairness_terms(self, y, sample_weight):
        constraints = self._constraints()
        scales = loop_scales(constraints, y, sample_weight)
        return [
            LagrangianTerm(
                in_loop_units(constraints, scales), confidence=self.confidence
            )
        ]

    def _after_fit(self, data):
        if data.codes is not None:
            self._claim(data.y, self.student_.predict(data.X_model), data)

    def _teacher_targets(self, X):
        pred = np.asarray(self.teacher_.predict(X), dtype=np.float64)
        if pred.ndim == 2 and pred.shape[1] == 1 and self._y_ndim == 1:
            pred = pred.ravel()
        return pred, pred

    def _fidelity(self, y_teacher, X_model):
        return float(r2_score(y_teacher, self.student_.predict(X_model)))

    def predict(self, X):
        """Targets predicted by the student.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        _, X_model, _ = self._predict_data(X)
        return self.student_.predict(X_model)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = get_tags(
            self.student if self.student is not None else TabularNetRegressor()
        ).target_tags.multi_output
        return tags
