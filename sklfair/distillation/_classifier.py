"""The distilled classifier: :class:`DistilledClassifier`, optionally fair."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from sklfair.constrained._feasibility import warn_if_degenerate
from sklfair.constraints import CLASSIFICATION_CONSTRAINTS, FairnessConstraint
from sklfair.nets import TabularNetClassifier

from ._base import BaseDistilled
from ._objective import SoftTargetLoss, teacher_log_scores, tempered_softmax

__all__ = ["DistilledClassifier"]


class DistilledClassifier(ClassifierMixin, BaseDistilled):
    """Distil a teacher classifier into a small network, optionally fair.

    ``fit`` fits the teacher (a clone of it; a teacher wrapped in
    :class:`~sklearn.frozen.FrozenEstimator` is used as it is, not refitted),
    takes its probabilities at temperature ``T`` as soft targets and trains the
    student network through sklfair's one training loop on

    ``alpha * CE(y, student) + (1 - alpha) * T^2 * KL(teacher_T || student_T)``

    where ``teacher_T = softmax(log p_teacher / T)`` (or
    ``softmax(decision_function / T)`` for a teacher without
    ``predict_proba``) and ``student_T = softmax(logits / T)``. With
    ``constraint=`` the student also trains under that fairness constraint.
    Only the student predicts.

    Parameters
    ----------
    teacher : classifier
        The model to reproduce: any sklearn classifier or Pipeline with
        ``predict_proba`` or ``decision_function``. It is fitted on a clone,
        on ``X`` as given (sensitive columns included: the teacher is never
        deployed, and a fair teacher may need them); wrap an already fitted
        model in :class:`~sklearn.frozen.FrozenEstimator` to use it as is.
    student : sklfair network classifier or Pipeline ending in one, default=None
        The model to train. Its ``fit`` must accept ``soft_targets`` and
        ``loss_terms`` (a :class:`~sklfair.nets.TabularNetClassifier`, or a
        Pipeline ending in one); other estimators raise a ``TypeError``.
        ``None`` uses ``make_pipeline(StandardScaler(),
        TabularNetClassifier(hidden_units=(32,)))`` -- the networks do not
        scale their inputs, and teachers such as trees are usually given raw
        features -- trained for at least 1,000 optimizer steps (between 20
        and 200 epochs) and seeded from ``random_state``. A given student is
        cloned and keeps its own ``random_state``.
    temperature : float, default=2.0
        Softening temperature ``T > 0`` of both the teacher's and the
        student's distributions in the distillation term.
    alpha : float in [0, 1], default=0.5
        Weight of the hard-label cross-entropy; ``1 - alpha`` weighs the
        distillation term. ``alpha=0`` learns from the teacher only.
    constraint : {"demographic_parity", "equalized_odds", \
            "equal_opportunity", "error_rate_parity"}, constraint object or \
            list of them, default=None
        Fairness constraint(s) of :mod:`sklfair.constraints` under which the
        student trains: a :class:`~sklfair.constrained.LagrangianTerm` added
        after the distillation term in the training loop, on the groups of
        every transfer row. Objects carry their own bound (searchable as
        ``constraint__bound``). It needs a sensitive attribute; without one
        it is not applied and a
        :class:`~sklfair.exceptions.NoSensitiveAttributeWarning` says so.
    bound : float in [0, 1], default=None
        Largest allowed gap of a constraint given by name (None: 0.02, the
        default of :class:`~sklfair.constrained.FairConstrainedClassifier`).
        A bound without a constraint is an error.
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        Columns of ``X`` holding the sensitive attribute (names of a
        DataFrame, positions of an array, or a callable ``X -> groups``).
        Several columns form intersectional groups.
    drop_sensitive : bool, default=True
        Remove ``sensitive_columns`` from the student's input. The teacher
        always sees ``X`` as given.
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
        Synthetic transfer rows per training row, labelled by the teacher
        only: mixup of the row with a random partner (weight of the row
        ``lam`` in [0.5, 1]) plus Gaussian noise of 0.1 standard deviation
        per feature. They are made in the input space shared by the teacher
        and the student (the teacher must label them), which is the student
        network's space up to its preprocessing; mixup and per-feature scaled
        noise commute with the default student's ``StandardScaler``.
        Sensitive columns (and the non-numeric columns of a DataFrame) are
        copied from the base row, so a synthetic row keeps its base row's
        group; a callable ``sensitive_columns`` is applied to the synthetic
        rows. Needs numeric features.
    confidence : float in [0.5, 1), default=0.95
        With a constraint: the student's safety margin for the sampling noise
        of its gaps, and what the bound is compared with (as in
        :class:`~sklfair.constrained.FairConstrainedClassifier`: one default
        for every estimator).
    random_state : int, RandomState instance or None, default=None
        Seeds the synthetic rows and the default student.

    Attributes
    ----------
    teacher_ : classifier
        The fitted teacher (the given object itself for a FrozenEstimator).
    student_ : classifier
        The fitted student; it makes the predictions.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    fidelity_ : float
        Share of the training rows on which the student predicts the
        teacher's class (the teacher's argmax).
    n_teacher_params_, n_student_params_ : int or None
        Learned parameters of each model's final step: torch parameters for
        networks, nodes for tree models, coefficients for linear models
        (see :func:`count_parameters`); None when unknown.
    n_transfer_samples_ : int
        Rows the student was trained on (training, unlabelled and synthetic).
    history_ : pandas.DataFrame or None
        The student's training log, one row per epoch (the distillation
        term's ``"distill_kl"``, and ``"fairness_gap"`` with a constraint).
    groups_ : ndarray of shape (n_groups,) or None
        With a constraint: the group labels, in the order of their codes.
    group_sizes_ : ndarray of shape (n_groups,) or None
        With a constraint: rows of positive weight in each group.
    sensitive_bins_ : dict or None
        The cut points of each binned sensitive column (see
        ``sensitive_bins``), None when no column was binned.
    constraint_ : FairnessConstraint, list of them, or None
        The constraint(s) the student trained under, each with its bound.
    resolvable_bounds_ : dict
        With a constraint: the smallest bound the groups' sizes could
        certify, per constraint (see
        :class:`~sklfair.constrained.FairConstrainedClassifier`).
    constraint_violation_ : float
        With a constraint and groups: the largest gap of the student's
        decisions on the labelled training rows minus its bound (an undefined
        rate counts as 0); positive when the bound was not met, and a
        :class:`~sklfair.exceptions.BoundNotMetWarning` then says so. NaN
        otherwise.
    n_features_in_ : int
        Number of features of ``X``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it was a DataFrame with string names.

    See Also
    --------
    DistilledRegressor : The same for regression.
    sklfair.constrained.FairConstrainedClassifier : Fair fitting of one model.

    Notes
    -----
    The transfer set is the training rows (true labels), plus
    ``X_unlabeled`` and ``n_augment`` synthetic rows per training row, whose
    hard label is the teacher's argmax so that the hard-label term stays
    defined on every row. The distillation objective is a
    :class:`~sklfair.nets.LossTerm`: this class never writes a training loop.

    References
    ----------
    G. Hinton, O. Vinyals, J. Dean. Distilling the knowledge in a neural
    network. NIPS Deep Learning Workshop, 2015.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklfair.distillation import DistilledClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> clf = DistilledClassifier(
    ...     RandomForestClassifier(n_estimators=20, random_state=0), random_state=0
    ... ).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.fidelity_ > 0.9
    True
    >>> clf.n_teacher_params_, clf.n_student_params_  # tree nodes, net weights
    (626, 738)
    """

    _parameter_constraints: dict = {
        **BaseDistilled._parameter_constraints,
        "student": [HasMethods(["fit", "predict_proba"]), None],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "constraint": [
            StrOptions(set(CLASSIFICATION_CONSTRAINTS)),
            FairnessConstraint,
            list,
            None,
        ],
        "bound": [Interval(numbers.Real, 0, 1, closed="both"), None],
    }

    def __init__(
        self,
        teacher,
        student=None,
        *,
        temperature=2.0,
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
        self.temperature = temperature
        self.alpha = alpha
        self.constraint = constraint
        self.bound = bound
        self.sensitive_columns = sensitive_columns
        self.drop_sensitive = drop_sensitive
        self.sensitive_bins = sensitive_bins
        self.n_augment = n_augment
        self.confidence = confidence
        self.random_state = random_state

    _default_net = TabularNetClassifier

    def _distillation_term(self):
        return SoftTargetLoss(self.alpha, self.temperature)

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
            Training data; the teacher sees it as given, the student without
            the sensitive columns when ``drop_sensitive``.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights for the student's loss (synthetic rows inherit their
            base row's weight, unlabelled rows weigh 1) and, when it accepts
            them, the teacher's fit. With metadata routing on, the teacher
            gets them only when it requests them, and a teacher that accepts
            them must say so: ``teacher.set_fit_request(sample_weight=...)``.
        X_unlabeled : {array-like, sparse matrix, DataFrame}, default=None
            Extra transfer rows without labels (same columns as ``X``),
            labelled by the teacher.
        sensitive_features : array-like, Series or DataFrame, default=None
            Group labels of the rows of ``X`` for the fairness constraint
            (instead of ``sensitive_columns``); synthetic rows take their
            base row's group. Unused without ``constraint`` (a warning says
            so).
        **fit_params : dict
            Only with metadata routing on: parameters routed to the teacher's
            ``fit``.

        Returns
        -------
        self : DistilledClassifier
        """
        self._resolve_constraint("classification")
        self._check_teacher_has_scores(self.teacher)
        data = self._fit_data(
            X, y, sample_weight, sensitive_features, fit_params, X_unlabeled=X_unlabeled
        )
        self.classes_ = np.unique(data.y)
        self._check_feasible(data)
        return self._fit(data, X_unlabeled, sensitive_features)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_chunks(self, chunks, *, classes=None):
        """Distil on data larger than memory, one chunk at a time.

        A first streaming pass finds the classes (and, with ``constraint``,
        the groups under the policy's rules, as in :meth:`fit`) and keeps a
        uniform sample of up to 50,000 rows. The teacher is used as given
        when it is a :class:`~sklearn.frozen.FrozenEstimator`, else fitted
        with its own ``fit_chunks``. The student (an sklfair network;
        default ``TabularNetClassifier(hidden_units=(32,))``, without the
        scaler of :meth:`fit`'s default) then trains one chunk at a time on
        the teacher's soft labels of that chunk, computed as it is read: no
        copy of the data or of its soft labels is kept. With ``constraint``
        the fair student's term works per batch as in :meth:`fit`, and
        ``constraint_violation_`` is measured in a last pass from per-group
        sums. ``fidelity_`` is measured on the sample.

        .. versionadded:: 0.2

        Parameters
        ----------
        chunks : iterable, callable or :class:`~sklfair.nets.ParquetChunks`
            ``(X, y)`` or ``(X, y, sample_weight)`` chunks, or dicts with keys
            ``"X"``, ``"y"`` and optionally ``"sample_weight"`` and
            ``"sensitive_features"``; the teacher sees ``X`` as given. Read
            several times: a list, a ``ParquetChunks`` or a callable
            returning a fresh iterator; a generator is refused.
        classes : array-like of shape (n_classes,), default=None
            Every class label; None: the labels the counting pass sees.

        Returns
        -------
        self : DistilledClassifier

        Raises
        ------
        ValueError
            For ``n_augment > 0`` (synthetic rows mix pairs of rows), a
            one-shot iterator, or chunks without the sensitive attribute
            that ``constraint`` needs.
        TypeError
            For a teacher neither frozen nor with ``fit_chunks``, or a student
            that is not an sklfair network.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.frozen import FrozenEstimator
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklfair.distillation import DistilledClassifier
        >>> from sklfair.nets import TabularNetClassifier
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(1000, 4))
        >>> y = (X[:, 0] + X[:, 1] > 0).astype(int)
        >>> teacher = FrozenEstimator(LogisticRegression().fit(X, y))
        >>> chunks = [(X[:500], y[:500]), (X[500:], y[500:])]
        >>> student = TabularNetClassifier(max_epochs=5, random_state=0)
        >>> clf = DistilledClassifier(teacher, student).fit_chunks(chunks)
        >>> clf.fidelity_ > 0.9
        True
        """
        self._resolve_constraint("classification")
        self._check_teacher_has_scores(self.teacher)
        return self._fit_chunks(chunks, classes)

    def _after_fit(self, data):
        if data.codes is None:
            return
        proba = self.student_.predict_proba(data.X_model)
        y = np.searchsorted(self.classes_, data.y)
        decisions = np.eye(len(self.classes_))[np.argmax(proba, axis=1)]
        self._claim(y, decisions, data)
        warn_if_degenerate(
            y,
            decisions,
            data.sample_weight,
            "DistilledClassifier's student",
            classes=self.classes_,
        )

    @staticmethod
    def _check_teacher_has_scores(teacher):
        if not (
            hasattr(teacher, "predict_proba") or hasattr(teacher, "decision_function")
        ):
            raise TypeError(
                f"The teacher {type(teacher).__name__} has neither predict_proba "
                "nor decision_function: distillation needs the teacher's scores, "
                "not only its labels."
            )

    def _check_teacher(self):
        self._check_teacher_has_scores(self.teacher_)
        teacher_classes = getattr(self.teacher_, "classes_", None)
        if teacher_classes is None:
            raise TypeError(
                f"The teacher {type(self.teacher_).__name__} has no classes_ "
                "attribute, so its scores cannot be matched to the classes of y."
            )
        teacher_classes = np.asarray(teacher_classes)
        same = len(teacher_classes) == len(self.classes_) and set(
            teacher_classes.tolist()
        ) == set(self.classes_.tolist())
        if not same:
            raise ValueError(
                "The teacher's classes do not match the classes of y: the teacher "
                f"has {teacher_classes.tolist()}, y has {self.classes_.tolist()}. "
                "A frozen teacher must have been fitted on the same labels."
            )
        position = {c: i for i, c in enumerate(teacher_classes.tolist())}
        self._teacher_order = np.array([position[c] for c in self.classes_.tolist()])

    def _teacher_targets(self, X):
        """Tempered soft targets and argmax labels, in ``classes_`` order."""
        log_scores = teacher_log_scores(self.teacher_, X)
        if log_scores.shape[1] != len(self._teacher_order):
            raise ValueError(
                f"The teacher's scores have {log_scores.shape[1]} columns, but it "
                f"has {len(self._teacher_order)} classes."
            )
        log_scores = log_scores[:, self._teacher_order]
        soft = tempered_softmax(log_scores, self.temperature)
        hard = self.classes_[np.argmax(log_scores, axis=1)]
        return soft, hard

    def _fidelity(self, y_teacher, X_model):
        return float(np.mean(self.student_.predict(X_model) == y_teacher))

    def predict(self, X):
        """Class predicted by the student.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Data with the same columns as in ``fit`` (sensitive columns
            included; they are dropped before the student sees them).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba(self, X):
        """Class probabilities of the student.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            In ``classes_`` order, float64.
        """
        _, X_model, _ = self._predict_data(X)
        return np.asarray(self.student_.predict_proba(X_model), dtype=np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags
