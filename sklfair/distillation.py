"""Teacher-student distillation: a small network that reproduces a big model.

:class:`DistilledClassifier` fits (or, wrapped in
:class:`~sklearn.frozen.FrozenEstimator`, just uses) an accurate but heavy
*teacher* -- gradient boosting, a forest, a large network, a whole Pipeline --
and trains a small *student* network to reproduce it, optionally under a
fairness constraint. :class:`DistilledRegressor` does the same for regression.

The student is trained through the one training loop of :mod:`sklfair.nets`:
this module only supplies the teacher's soft targets (``soft_targets=``) and
the distillation objective as a :class:`~sklfair.nets.LossTerm`
(:class:`_SoftTargetLoss`, :class:`_TeacherMSELoss`), plus the fairness terms of
:mod:`sklfair.constraints` when a constraint is asked for. It never writes a
training loop of its own.

The transfer set is the labelled training data, optionally extended with
unlabelled rows (``fit(X, y, X_unlabeled=...)``) and synthetic rows
(``n_augment``), all labelled by the teacher. :func:`count_parameters` sizes
teachers and students alike (torch parameters, tree nodes, coefficients).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    _fit_context,
    clone,
)
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import r2_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import (
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
    validate_data,
)

from sklfair._fitting import accepts_fit_param, final_estimator, fit_with_params
from sklfair._meta import FitRoutingMixin
from sklfair._sensitive import (
    _column_positions,
    drop_sensitive_columns,
    resolve_sensitive,
)
from sklfair.constraints import (
    CLASSIFICATION_CONSTRAINTS,
    FairnessConstraint,
    LagrangianTerm,
    resolve_constraint,
)
from sklfair.nets import LossTerm, TabularNetClassifier, TabularNetRegressor

__all__ = ["DistilledClassifier", "DistilledRegressor", "count_parameters"]

#: Hidden layers of the default student network.
DEFAULT_STUDENT_HIDDEN_UNITS = (32,)

#: The default student trains for at least this many optimizer steps (batches
#: of 256 rows), and between 20 and 200 epochs.
DEFAULT_STUDENT_MIN_STEPS = 1000

#: Standard deviation of the Gaussian noise added to synthetic rows, as a
#: fraction of each feature's standard deviation on the training rows.
AUGMENT_NOISE_SCALE = 0.1

#: Mixup weights ``lam`` are drawn from Beta(a, a) and folded to [0.5, 1] so
#: that a synthetic row stays closer to its base row than to its partner.
AUGMENT_MIXUP_BETA = 0.4

#: Bound of the fairness constraint when ``constraint`` is given without one
#: (the default of :class:`~sklfair.constrained.FairConstrainedClassifier`).
DEFAULT_BOUND = 0.02


# --------------------------------------------------------------------------
# Loss terms of the one training loop
# --------------------------------------------------------------------------


class _SoftTargetLoss(LossTerm):
    """``alpha * CE(hard labels) + (1 - alpha) * T^2 * KL(teacher || student)``.

    The loop hands in the weighted hard-label cross-entropy as ``loss``; the
    KL divergence between the teacher's tempered probabilities
    (``batch["soft_targets"]``) and the student's tempered softmax
    ``softmax(logits / T)`` is weighted by ``batch["sample_weight"]`` the same
    way. The ``T^2`` factor keeps the soft term's gradients on the scale of the
    hard term's whatever the temperature (Hinton et al., 2015).

    Records the epoch's weighted mean KL as ``"distill_kl"`` in the history.
    """

    requires = ("soft_targets",)

    def __init__(self, alpha, temperature):
        self.alpha = float(alpha)
        self.temperature = float(temperature)

    def setup(self, net, data):
        self._sum = torch.zeros((), device=net.device)
        self._count = 0

    def __call__(self, loss, outputs, batch):
        target = batch["soft_targets"]
        log_student = torch.log_softmax(outputs / self.temperature, dim=1)
        # xlogy(0, 0) = 0: classes the teacher rules out cost nothing.
        kl = (torch.xlogy(target, target) - target * log_student).sum(dim=1)
        kl = (batch["sample_weight"] * kl).mean()
        self._sum = self._sum + kl.detach() * len(target)
        self._count += len(target)
        return self.alpha * loss + (1.0 - self.alpha) * self.temperature**2 * kl

    def epoch_summary(self):
        value = float(self._sum.item()) / max(self._count, 1)
        self._sum = torch.zeros_like(self._sum)
        self._count = 0
        return {"distill_kl": value}


class _TeacherMSELoss(LossTerm):
    """``alpha * MSE(true targets) + (1 - alpha) * MSE(teacher predictions)``.

    Both in the regressor's standardised target space (the loop standardises
    ``y`` and ``soft_targets`` alike). Records ``"distill_mse"``.
    """

    requires = ("soft_targets",)

    def __init__(self, alpha):
        self.alpha = float(alpha)

    def setup(self, net, data):
        self._sum = torch.zeros((), device=net.device)
        self._count = 0

    def __call__(self, loss, outputs, batch):
        target = batch["soft_targets"].reshape(outputs.shape)
        mse = ((outputs - target) ** 2).mean(dim=1)
        mse = (batch["sample_weight"] * mse).mean()
        self._sum = self._sum + mse.detach() * len(target)
        self._count += len(target)
        return self.alpha * loss + (1.0 - self.alpha) * mse

    def epoch_summary(self):
        value = float(self._sum.item()) / max(self._count, 1)
        self._sum = torch.zeros_like(self._sum)
        self._count = 0
        return {"distill_mse": value}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _tempered_softmax(logits, temperature):
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _teacher_log_scores(teacher, X):
    """Teacher log-probabilities (or logits), shape (n, n_classes), float64."""
    if hasattr(teacher, "predict_proba"):
        proba = np.asarray(teacher.predict_proba(X), dtype=np.float64)
        if proba.ndim != 2:
            raise ValueError(
                "The teacher's predict_proba must return an array of shape "
                f"(n_samples, n_classes); got shape {proba.shape}."
            )
        with np.errstate(divide="ignore"):  # log(0) = -inf: stays 0 when tempered
            return np.log(proba)
    scores = np.asarray(teacher.decision_function(X), dtype=np.float64)
    if scores.ndim == 1:  # binary: the score of the positive class
        scores = np.column_stack([np.zeros_like(scores), scores])
    return scores


def count_parameters(estimator):
    """Number of learned parameters of a fitted model, or None when unknown.

    What is counted, for the final step of a Pipeline (preprocessing steps are
    not counted) and through :class:`~sklearn.frozen.FrozenEstimator`:

    - sklfair nets (anything with ``net_.module_``): torch parameters;
    - tree models: nodes (``tree_.node_count``), summed over the trees of a
      forest or boosting ensemble; for
      :class:`~sklearn.ensemble.HistGradientBoostingClassifier` the nodes of
      every predictor tree;
    - linear models: ``coef_`` and ``intercept_`` entries; MLPs: weights and
      biases;
    - meta-estimators with a fitted ``estimator_``, ``student_`` or
      ``estimators_``: the sum over those.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.distillation import count_parameters
    >>> count_parameters(LogisticRegression().fit([[0, 1], [1, 0]], [0, 1]))
    3
    """
    est = estimator
    while True:
        if isinstance(est, FrozenEstimator):
            est = est.estimator
        elif isinstance(est, Pipeline):
            est = final_estimator(est)
        else:
            break
    net = getattr(est, "net_", None)
    if net is not None and hasattr(net, "module_"):
        return int(sum(p.numel() for p in net.module_.parameters()))
    if hasattr(est, "_predictors"):  # HistGradientBoosting*
        return int(sum(len(p.nodes) for it in est._predictors for p in it))
    tree = getattr(est, "tree_", None)
    if tree is not None and hasattr(tree, "node_count"):
        return int(tree.node_count)
    if hasattr(est, "coefs_") and hasattr(est, "intercepts_"):  # MLP*
        return int(
            sum(np.size(c) for c in est.coefs_)
            + sum(np.size(b) for b in est.intercepts_)
        )
    if hasattr(est, "coef_"):
        return int(np.size(est.coef_) + np.size(getattr(est, "intercept_", 0)))
    children = getattr(est, "estimators_", None)
    if children is not None:
        counts = [
            count_parameters(child)
            for child in np.asarray(children, dtype=object).ravel()
        ]
        if counts and all(c is not None for c in counts):
            return int(sum(counts))
    for name in ("student_", "estimator_"):
        child = getattr(est, name, None)
        if child is not None and child is not est:
            return count_parameters(child)
    return None


def _concat_rows(parts):
    parts = [p for p in parts if p is not None]
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if isinstance(first, pd.DataFrame):
        return pd.concat(parts, axis=0, ignore_index=True)
    if sp.issparse(first):
        return sp.vstack(parts, format="csr")
    return np.concatenate(parts, axis=0)


def _take_rows(X, rows):
    if isinstance(X, pd.DataFrame):
        return X.iloc[rows]
    return X[rows]


def _synthesize(X, n_augment, fixed_columns, random_state):
    """``n_augment`` synthetic rows per row of X: mixup, then Gaussian noise.

    Each synthetic row starts from a base row ``i`` (every row ``n_augment``
    times) and a random partner ``k``: ``lam * x_i + (1 - lam) * x_k`` with
    ``lam`` from Beta(a, a) folded to [0.5, 1], plus N(0, (s * std_j)^2) noise
    per feature ``j``. The columns in ``fixed_columns`` (the sensitive ones)
    are copied from the base row, so a synthetic row belongs to its base
    row's group; so are the non-numeric (categorical, boolean, text) columns
    of a DataFrame. A sparse X gets noise on its stored entries only.

    Returns the synthetic rows (same container type as X) and the base row of
    each.
    """
    n_samples, n_features = X.shape
    base = np.tile(np.arange(n_samples), n_augment)
    partner = random_state.integers(0, n_samples, size=base.size)
    lam = random_state.beta(AUGMENT_MIXUP_BETA, AUGMENT_MIXUP_BETA, size=base.size)
    lam = np.maximum(lam, 1.0 - lam)
    free = np.ones(n_features, dtype=bool)
    free[list(fixed_columns)] = False

    if isinstance(X, pd.DataFrame):
        # categorical, boolean and text columns are copied from the base row
        numeric = [
            pd.api.types.is_numeric_dtype(dtype)
            and not pd.api.types.is_bool_dtype(dtype)
            for dtype in X.dtypes
        ]
        free_cols = [
            c for c, f, num in zip(X.columns, free, numeric, strict=True) if f and num
        ]
        values = _numeric_values(X[free_cols])
        synth = _mix_dense(values, base, partner, lam, random_state)
        out = X.iloc[base].reset_index(drop=True).copy()
        out[free_cols] = synth
        return out, base

    if sp.issparse(X):
        X = sp.csr_array(X, dtype=np.float64)
        A, B = X[base], X[partner]
        mix = sp.diags_array(1.0 - lam) @ (B - A) @ sp.diags_array(free * 1.0)
        out = sp.csr_array(A + mix)
        out.sum_duplicates()
        _, var = _sparse_mean_var(X)
        scale = AUGMENT_NOISE_SCALE * np.sqrt(var) * free
        out.data = (
            out.data
            + random_state.standard_normal(out.data.size) * (scale[out.indices])
        )
        return sp.csr_matrix(out), base

    values = _numeric_values(X)
    synth = values[base].copy()
    synth[:, free] = _mix_dense(values[:, free], base, partner, lam, random_state)
    return synth, base


def _mix_dense(values, base, partner, lam, random_state):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        std = np.nanstd(values, axis=0)
    std = np.where(np.isfinite(std), std, 0.0)
    mixed = lam[:, None] * values[base] + (1.0 - lam[:, None]) * values[partner]
    noise = random_state.standard_normal(mixed.shape) * (AUGMENT_NOISE_SCALE * std)
    return mixed + noise


def _sparse_mean_var(X):
    mean = np.asarray(X.mean(axis=0)).ravel()
    sq = np.asarray(X.multiply(X).mean(axis=0)).ravel()
    return mean, np.maximum(sq - mean**2, 0.0)


def _numeric_values(X):
    try:
        return np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "n_augment > 0 needs numeric features to add noise and mix rows "
            f"({exc}). Encode the non-numeric columns first, or pass extra rows "
            "with fit(..., X_unlabeled=...) instead."
        ) from None


# --------------------------------------------------------------------------
# The shared machinery
# --------------------------------------------------------------------------


class _BaseDistilled(FitRoutingMixin, MetaEstimatorMixin, BaseEstimator):
    """Fit a teacher, label the transfer set with it, train the student."""

    _routed_child = "teacher"

    _parameter_constraints: dict = {
        "teacher": [HasMethods(["fit", "predict"])],
        "student": [HasMethods(["fit", "predict"]), None],
        "alpha": [Interval(numbers.Real, 0, 1, closed="both")],
        "sensitive_columns": [
            "array-like",
            str,
            numbers.Integral,
            callable,
            None,
        ],
        "drop_sensitive": ["boolean"],
        "n_augment": [Interval(numbers.Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    # --- hooks for the subclasses ----------------------------------------
    _default_net = None  # TabularNetClassifier or TabularNetRegressor

    def _default_student(self, n_samples=0, sparse=False, seed=None):
        """``StandardScaler`` + a small net trained for >= 1,000 steps."""
        net = self._default_net(
            hidden_units=DEFAULT_STUDENT_HIDDEN_UNITS, random_state=seed
        )
        n_batches = max(1, -(-n_samples // net.batch_size))
        net.set_params(
            max_epochs=int(np.clip(-(-DEFAULT_STUDENT_MIN_STEPS // n_batches), 20, 200))
        )
        return Pipeline(
            [
                ("standardscaler", StandardScaler(with_mean=not sparse)),
                (type(net).__name__.lower(), net),
            ]
        )

    # --- data ------------------------------------------------------------
    def _accept_sparse(self):
        return ["csr", "csc"] if self.__sklearn_tags__().input_tags.sparse else False

    def _validate_X(self, X, y="no_validation", *, reset, **y_params):
        """Validate X (and y); a DataFrame is kept as it is for the teacher."""
        params = dict(
            accept_sparse=self._accept_sparse(),
            dtype=None,
            ensure_all_finite=False,
            reset=reset,
        )
        if isinstance(y, str) and y == "no_validation":
            X_checked = validate_data(self, X, **params)
            return X if isinstance(X, pd.DataFrame) else X_checked
        X_checked, y = validate_data(self, X, y, **params, **y_params)
        return (X if isinstance(X, pd.DataFrame) else X_checked), y

    def _check_unlabeled(self, X_unlabeled, X):
        if X_unlabeled is None:
            return None
        if isinstance(X, pd.DataFrame) and not isinstance(X_unlabeled, pd.DataFrame):
            raise ValueError(
                "X is a DataFrame, so X_unlabeled must be a DataFrame with the same "
                f"columns; got {type(X_unlabeled).__name__}."
            )
        X_unlabeled_checked = validate_data(
            self,
            X_unlabeled,
            reset=False,
            accept_sparse=self._accept_sparse(),
            dtype=None,
            ensure_all_finite=False,
        )
        if isinstance(X, pd.DataFrame):
            return X_unlabeled.reset_index(drop=True)
        if sp.issparse(X) and not sp.issparse(X_unlabeled_checked):
            return sp.csr_matrix(X_unlabeled_checked)
        if not sp.issparse(X) and sp.issparse(X_unlabeled_checked):
            return X_unlabeled_checked.toarray()
        return X_unlabeled_checked

    def _model_input(self, X):
        """X as the student sees it: without the sensitive columns if asked."""
        if (
            self.sensitive_columns is not None
            and self.drop_sensitive
            and not callable(self.sensitive_columns)
        ):
            return drop_sensitive_columns(X, self.sensitive_columns)
        return X

    # --- the teacher -----------------------------------------------------
    def _fit_teacher(self, X, y, sample_weight, routed_params):
        teacher = clone(self.teacher)  # a FrozenEstimator clones to itself
        if isinstance(teacher, FrozenEstimator):
            teacher.fit(X, y)  # a no-op that checks the teacher is fitted
            return teacher
        if routed_params is not None:
            return teacher.fit(X, y, **routed_params)
        if sample_weight is not None and accepts_fit_param(teacher, "sample_weight"):
            return fit_with_params(teacher, X, y, sample_weight=sample_weight)
        if sample_weight is not None:
            warnings.warn(
                f"The teacher {type(final_estimator(teacher)).__name__} does not "
                "accept sample_weight: it is fitted without the weights (the "
                "student still uses them).",
                UserWarning,
                stacklevel=3,
            )
        return teacher.fit(X, y)

    # --- the student -----------------------------------------------------
    def _make_student(self, X_model, seed):
        if self.student is None:
            return self._default_student(
                _num_samples(X_model), sp.issparse(X_model), seed
            )
        student = clone(self.student)
        final = final_estimator(student)
        missing = [
            name
            for name in ("soft_targets", "loss_terms")
            if not accepts_fit_param(student, name)
        ]
        if missing:
            raise TypeError(
                f"The student {type(final).__name__} cannot be distilled into: its "
                f"fit does not accept {missing}. Use an sklfair network "
                "(sklfair.nets.TabularNetClassifier / TabularNetRegressor), or a "
                "Pipeline ending in one, as the student."
            )
        return student

    # --- sensitive attributes and constraints ----------------------------
    def _constraint_terms(self, groups):
        """The fairness loss terms (empty without a constraint)."""
        if groups is None:
            warnings.warn(
                f"constraint={self.constraint!r} was given, but no sensitive "
                "attribute (sensitive_columns= or fit(..., sensitive_features=)): "
                "the student is distilled without the constraint.",
                UserWarning,
                stacklevel=3,
            )
            return []
        bound = DEFAULT_BOUND if self.bound is None else float(self.bound)
        return [LagrangianTerm(resolve_constraint(self.constraint), bound)]

    # --- routing ---------------------------------------------------------
    def _route(self, fit_params, **consumed):
        _raise_for_params(fit_params, self, "fit")
        if not _routing_enabled():
            return None
        routed = process_routing(self, "fit", **consumed, **fit_params)
        return dict(routed.teacher.fit)

    # --- fit -------------------------------------------------------------
    def _fit(
        self,
        X,
        y,
        sample_weight,
        X_unlabeled,
        sensitive_features,
        teacher_params,
    ):
        n_samples = _num_samples(X)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        X_unlabeled = self._check_unlabeled(X_unlabeled, X)
        constrained = getattr(self, "constraint", None) is not None
        if not constrained and getattr(self, "bound", None) is not None:
            raise ValueError(
                f"bound={self.bound!r} was given without constraint=; name the "
                "constraint to bound, e.g. constraint='demographic_parity'."
            )
        if sensitive_features is not None and self.sensitive_columns is not None:
            resolve_sensitive(  # raises the error naming both ways
                X,
                sensitive_columns=self.sensitive_columns,
                sensitive_features=sensitive_features,
            )
        if sensitive_features is not None and not constrained:
            warnings.warn(
                "sensitive_features only serve the fairness constraint; without "
                "constraint= they do not change the student.",
                UserWarning,
                stacklevel=3,
            )
        if sensitive_features is not None and X_unlabeled is not None and constrained:
            raise ValueError(
                "With a constraint, every transfer row needs a group, but the "
                "groups of X_unlabeled are unknown when they come from "
                "sensitive_features=. Keep the sensitive attribute in X and give "
                "sensitive_columns= instead."
            )
        seed_rng = check_random_state(self.random_state)
        student_seed = int(seed_rng.randint(np.iinfo(np.int32).max))
        augment_rng = np.random.default_rng(seed_rng.randint(np.iinfo(np.int32).max))

        # 1. the teacher sees X as given (with its sensitive columns).
        self.teacher_ = self._fit_teacher(X, y, sample_weight, teacher_params)
        self._check_teacher()

        # 2. the transfer set: real rows, unlabelled rows, synthetic rows.
        if isinstance(X, pd.DataFrame):
            X = X.reset_index(drop=True)
        parts, bases = [X], [np.arange(n_samples)]
        if X_unlabeled is not None:
            parts.append(X_unlabeled)
            bases.append(np.full(_num_samples(X_unlabeled), -1))
        if self.n_augment:
            fixed = ()
            if self.sensitive_columns is not None and not callable(
                self.sensitive_columns
            ):
                fixed = _column_positions(X, self.sensitive_columns)
            X_syn, base = _synthesize(X, self.n_augment, fixed, augment_rng)
            parts.append(X_syn)
            bases.append(base)
        X_all = _concat_rows(parts)
        base_all = np.concatenate(bases)
        n_extra = _num_samples(X_all) - n_samples

        # groups only serve the constraint; without one the sensitive columns
        # are just removed from the student's input (age in years is fine).
        X_model, groups = self._model_input(X_all), None
        if constrained and self.sensitive_columns is not None:
            _, groups = resolve_sensitive(
                X_all, sensitive_columns=self.sensitive_columns
            )
            groups = np.asarray(groups, dtype=object)
        elif constrained and sensitive_features is not None:
            groups = resolve_sensitive(X, sensitive_features=sensitive_features)[1]
            groups = np.asarray(groups, dtype=object)
            extra = base_all[n_samples:]
            groups = np.concatenate([groups, groups[np.maximum(extra, 0)]])

        weights = None
        if sample_weight is not None:
            weights = np.ones(_num_samples(X_all))
            weights[:n_samples] = sample_weight
            synthetic = base_all >= 0
            synthetic[:n_samples] = False
            weights[synthetic] = sample_weight[base_all[synthetic]]

        soft_targets, y_teacher = self._teacher_targets(X_all)
        if n_extra:
            y_all = np.concatenate([np.asarray(y), y_teacher[n_samples:]])
        else:
            y_all = y

        # 3. the student, through the one training loop.
        loss_terms = [self._distillation_term()]
        if constrained:
            loss_terms += self._constraint_terms(groups)
        student = self._make_student(X_model, student_seed)
        fit_with_params(
            student,
            X_model,
            y_all,
            sample_weight=weights,
            sensitive_features=groups if len(loss_terms) > 1 else None,
            soft_targets=soft_targets,
            loss_terms=loss_terms,
        )
        self.student_ = student
        self.n_transfer_samples_ = _num_samples(X_all)

        real = _take_rows(X_model, np.arange(n_samples))
        self.fidelity_ = self._fidelity(y_teacher[:n_samples], real)
        self.n_teacher_params_ = count_parameters(self.teacher_)
        self.n_student_params_ = count_parameters(self.student_)
        return self

    def _check_teacher(self):
        pass

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        student = self.student
        if student is None:
            student = self._default_student()
        teacher_tags = get_tags(self.teacher)
        student_tags = get_tags(student)
        tags.input_tags.sparse = (
            teacher_tags.input_tags.sparse and student_tags.input_tags.sparse
        )
        tags.input_tags.allow_nan = (
            teacher_tags.input_tags.allow_nan and student_tags.input_tags.allow_nan
        )
        return tags


# --------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------


class DistilledClassifier(ClassifierMixin, _BaseDistilled):
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
            "equal_opportunity", "error_rate_parity"} or constraint object, \
            default=None
        Fairness constraint of :mod:`sklfair.constraints` under which the
        student trains: a :class:`~sklfair.constraints.LagrangianTerm` added
        after the distillation term in the training loop, on the groups of
        every transfer row. It needs a sensitive attribute; without one it is
        not applied and a warning says so.
    bound : float, default=None
        Largest allowed gap of the constraint (None: 0.02, the default of
        :class:`~sklfair.constrained.FairConstrainedClassifier`). A bound
        without a constraint is an error.
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        Columns of ``X`` holding the sensitive attribute (names of a
        DataFrame, positions of an array, or a callable ``X -> groups``).
        Several columns form intersectional groups.
    drop_sensitive : bool, default=True
        Remove ``sensitive_columns`` from the student's input. The teacher
        always sees ``X`` as given.
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
        **_BaseDistilled._parameter_constraints,
        "student": [HasMethods(["fit", "predict_proba"]), None],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "constraint": [
            StrOptions(set(CLASSIFICATION_CONSTRAINTS)),
            FairnessConstraint,
            None,
        ],
        "bound": [Interval(numbers.Real, 0, None, closed="left"), None],
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
        n_augment=0,
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
        self.n_augment = n_augment
        self.random_state = random_state

    _default_net = TabularNetClassifier

    def _distillation_term(self):
        return _SoftTargetLoss(self.alpha, self.temperature)

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
        teacher_params = self._route(
            fit_params,
            sample_weight=sample_weight,
            X_unlabeled=X_unlabeled,
            sensitive_features=sensitive_features,
        )
        self._check_teacher_has_scores(self.teacher)
        X, y = self._validate_X(X, y, reset=True)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        return self._fit(
            X, y, sample_weight, X_unlabeled, sensitive_features, teacher_params
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
        log_scores = _teacher_log_scores(self.teacher_, X)
        if log_scores.shape[1] != len(self._teacher_order):
            raise ValueError(
                f"The teacher's scores have {log_scores.shape[1]} columns, but it "
                f"has {len(self._teacher_order)} classes."
            )
        log_scores = log_scores[:, self._teacher_order]
        soft = _tempered_softmax(log_scores, self.temperature)
        hard = self.classes_[np.argmax(log_scores, axis=1)]
        return soft, hard

    def _fidelity(self, y_teacher, X_model):
        return float(np.mean(self.student_.predict(X_model) == y_teacher))

    def _student_input(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._model_input(X)

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
        X_model = self._student_input(X)
        return np.asarray(self.student_.predict_proba(X_model), dtype=np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


# --------------------------------------------------------------------------
# Regression
# --------------------------------------------------------------------------


class DistilledRegressor(RegressorMixin, _BaseDistilled):
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
    sensitive_columns : str, int, list, boolean mask or callable, default=None
        Columns of ``X`` holding a sensitive attribute, removed from the
        student's input when ``drop_sensitive`` (the teacher sees them).
    drop_sensitive : bool, default=True
        Remove ``sensitive_columns`` from the student's input.
    n_augment : int, default=0
        Synthetic transfer rows per training row, as in
        :class:`DistilledClassifier`.
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
    n_features_in_ : int
        Number of features of ``X``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when it was a DataFrame with string names.

    See Also
    --------
    DistilledClassifier : The same for classification, optionally fair.

    Notes
    -----
    There is no ``constraint=`` here yet: the regression constraints of
    :mod:`sklfair.constraints` would act on the student's standardised
    outputs, so their bounds would not be in the units of ``y``.

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

    def __init__(
        self,
        teacher,
        student=None,
        *,
        alpha=0.5,
        sensitive_columns=None,
        drop_sensitive=True,
        n_augment=0,
        random_state=None,
    ):
        self.teacher = teacher
        self.student = student
        self.alpha = alpha
        self.sensitive_columns = sensitive_columns
        self.drop_sensitive = drop_sensitive
        self.n_augment = n_augment
        self.random_state = random_state

    _default_net = TabularNetRegressor

    def _distillation_term(self):
        return _TeacherMSELoss(self.alpha)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, *, X_unlabeled=None, **fit_params):
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
        **fit_params : dict
            Only with metadata routing on: parameters routed to the teacher's
            ``fit``.

        Returns
        -------
        self : DistilledRegressor
        """
        teacher_params = self._route(
            fit_params, sample_weight=sample_weight, X_unlabeled=X_unlabeled
        )
        X, y = self._validate_X(X, y, reset=True, multi_output=True, y_numeric=True)
        self._y_ndim = np.ndim(y)
        return self._fit(X, y, sample_weight, X_unlabeled, None, teacher_params)

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
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self.student_.predict(self._model_input(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = get_tags(
            self.student if self.student is not None else TabularNetRegressor()
        ).target_tags.multi_output
        return tags
