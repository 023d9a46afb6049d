"""What the distilled classifier and regressor share: fit the teacher, build the
transfer set, train the student through the one training loop."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.validation import _num_samples, validate_data

from sklfair._chunked import iter_chunks, read_chunk, stream_rates
from sklfair._columns import column_positions
from sklfair._fitting import accepts_fit_param, final_estimator, fit_with_params
from sklfair._meta import FairMetaEstimator, FitData, checkable
from sklfair.constrained import LagrangianTerm
from sklfair.constrained._claim import (
    claim_violation,
    gap_of_sums,
    violation_of_gaps,
)
from sklfair.constrained._dependence import is_dependence
from sklfair.constrained._feasibility import resolvable_bounds, warn_if_unresolvable
from sklfair.constraints import resolve_constraints
from sklfair.exceptions import SensitiveAttributeError

from ._parameters import count_parameters
from ._transfer import concat_rows, synthesize, take_rows


def clone_term(term):
    """A new loss term with the same constructor arguments, no fitted state."""
    params = {
        key: value
        for key, value in vars(term).items()
        if not key.startswith("_") and not key.endswith("_")
    }
    return type(term)(**params)


__all__ = [
    "DEFAULT_STUDENT_HIDDEN_UNITS",
    "DEFAULT_STUDENT_MIN_STEPS",
    "BaseDistilled",
]

#: Hidden layers of the default student network.
DEFAULT_STUDENT_HIDDEN_UNITS = (32,)

#: The default student trains for at least this many optimizer steps (batches
#: of 256 rows), and between 20 and 200 epochs.
DEFAULT_STUDENT_MIN_STEPS = 1000


class BaseDistilled(FairMetaEstimator):
    """Fit a teacher, label the transfer set with it, train the student."""

    _routed_child = "teacher"
    _fitted_child = "student_"
    # a teacher that requests sample_weight (or X_unlabeled) gets them
    _route_consumed = True
    _default_net = None  # TabularNetClassifier or TabularNetRegressor

    _parameter_constraints: dict = {
        "teacher": [HasMethods(["fit", "predict"])],
        "student": [HasMethods(["fit", "predict"]), None],
        "alpha": [Interval(numbers.Real, 0, 1, closed="both")],
        "sensitive_columns": ["array-like", str, numbers.Integral, callable, None],
        "drop_sensitive": ["boolean"],
        "sensitive_bins": [
            None,
            Interval(numbers.Integral, 2, None, closed="left"),
            dict,
        ],
        "n_augment": [Interval(numbers.Integral, 0, None, closed="left")],
        "confidence": [Interval(numbers.Real, 0.5, 1, closed="left")],
        "random_state": ["random_state"],
    }

    # --- hooks --------------------------------------------------------------
    def _unfitted_child(self):
        return self.student if self.student is not None else self._default_student()

    def _needs_groups(self):
        return getattr(self, "constraint", None) is not None

    def _without_groups(self):
        return "the student is distilled without the constraint"

    def _private_reads(self):
        if self.n_augment:
            return (
                "mixes pairs of training rows into synthetic rows (n_augment), "
                "each depending on two people"
            )
        return None

    def _fairness_terms(self, y, sample_weight):
        """The fairness constraint's loss term, for the student's targets."""
        return [LagrangianTerm(self._constraints(), confidence=self.confidence)]

    def _training_terms(self):
        """Fresh loss terms of the student's constraints (see
        :func:`sklfair.constrained.fairness_terms`)."""
        return [clone_term(term) for term in getattr(self, "_fair_terms", [])]

    def _constraints(self):
        """The resolved constraints as a list."""
        c = self.constraint_
        return c if isinstance(c, list) else [c]

    def _resolve_constraint(self, task):
        """``constraint_`` from ``constraint`` and ``bound`` (None without one)."""
        if self.constraint is None and self.bound is not None:
            raise ValueError(
                f"bound={self.bound!r} was given without constraint=; name the "
                "constraint to bound, e.g. constraint='demographic_parity'."
            )
        self.constraint_ = None
        self.constraint_violation_ = float("nan")
        self.resolvable_bounds_ = {}
        if self.constraint is not None:
            constraints = resolve_constraints(self.constraint, task, self.bound)
            dependence = [c.name for c in constraints if is_dependence(c)]
            if dependence:
                raise ValueError(
                    f"{type(self).__name__} bounds the student's group rates; "
                    f"{dependence[0]!r} bounds a dependence on a continuous "
                    "attribute, which it does not take. Bound it with "
                    "FairConstrainedClassifier(TabularNetClassifier(), "
                    "constraint=Independence(...)), or give groups "
                    "(sensitive_bins=) and a group constraint such as "
                    "'demographic_parity'."
                )
            self.constraint_ = (
                constraints
                if isinstance(self.constraint, list | tuple)
                else constraints[0]
            )

    def _check_feasible(self, data):
        """Compare the bound with what the groups can resolve (classifiers)."""
        self.resolvable_bounds_ = {}
        if data.codes is None or not is_classifier(self):
            return
        bounds = resolvable_bounds(
            self._constraints(),
            np.searchsorted(self.classes_, data.y),
            data.codes,
            data.sample_weight,
            len(self.groups_),
            self.confidence,
            n_classes=len(self.classes_),
        )
        self.resolvable_bounds_ = {name: b for name, (b, _) in bounds.items()}
        warn_if_unresolvable(
            self._constraints(),
            bounds,
            self.groups_,
            self.confidence,
            type(self).__name__,
        )

    def _claim(self, y, decisions, data):
        """The student's ``constraint_violation_`` on the labelled rows."""
        self.constraint_violation_ = claim_violation(
            self._constraints(),
            y,
            decisions,
            data.codes,
            data.sample_weight,
            self.groups_,
            owner=f"{type(self).__name__}'s student",
            advice="Train the student longer (more epochs or n_augment), loosen "
            "the bound, or check that the groups are large enough to estimate "
            "their rates.",
        )

    def _after_fit(self, data):
        """Checks on the fitted student (the fair student's claim)."""

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

    # --- data ---------------------------------------------------------------
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
            checkable(X_unlabeled),
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

    # --- the teacher --------------------------------------------------------
    def _fit_teacher(self, X, y, sample_weight, routed_params):
        teacher = clone(self.teacher)  # a FrozenEstimator clones to itself
        if isinstance(teacher, FrozenEstimator):
            teacher.fit(X, y)  # a no-op that checks the teacher is fitted
            return teacher
        if _routing_enabled():
            return teacher.fit(X, y, **routed_params)
        if sample_weight is not None and accepts_fit_param(teacher, "sample_weight"):
            return fit_with_params(teacher, X, y, sample_weight=sample_weight)
        if sample_weight is not None:
            warnings.warn(
                f"The teacher {type(final_estimator(teacher)).__name__} does not "
                "accept sample_weight: it is fitted without the weights (the "
                "student still uses them).",
                UserWarning,
                stacklevel=4,
            )
        return teacher.fit(X, y)

    def _check_teacher(self):
        """Checks on the fitted teacher (its classes, for a classifier)."""

    # --- the student --------------------------------------------------------
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

    # --- the transfer set's groups --------------------------------------------
    def _transfer_codes(self, data, X_all, base_all, sensitive_features):
        """Group codes of every transfer row (the fit's codes for the real
        rows; the base row's for a synthetic row; read from the columns for
        an unlabelled one)."""
        n_samples = len(data.y)
        if self.sensitive_columns is None:
            if (base_all[n_samples:] < 0).any():
                raise ValueError(
                    "With a constraint, every transfer row needs a group, but the "
                    "groups of X_unlabeled are unknown when they come from "
                    "sensitive_features=. Keep the sensitive attribute in X and "
                    "give sensitive_columns= instead."
                )
            return data.codes[np.where(base_all >= 0, base_all, 0)]
        labels = self._groups_of(X_all)
        known = pd.Index(np.asarray(self.groups_, dtype=object))
        codes = known.get_indexer(np.asarray(labels, dtype=object))
        if (codes < 0).any():
            unseen = sorted({str(v) for v in np.asarray(labels)[codes < 0]})
            raise SensitiveAttributeError(
                f"Transfer rows (X_unlabeled or synthetic rows) belong to groups "
                f"{unseen} that the labelled rows of X do not have; the "
                f"constraint is defined on the groups of X: {list(self.groups_)}."
            )
        return codes

    # --- fit ------------------------------------------------------------------
    def _fit(self, data, X_unlabeled, sensitive_features):
        X, y, sample_weight = data.X, data.y, data.sample_weight
        n_samples = _num_samples(X)
        X_unlabeled = self._check_unlabeled(X_unlabeled, X)
        seed_rng = check_random_state(self.random_state)
        student_seed = int(seed_rng.randint(np.iinfo(np.int32).max))
        augment_rng = np.random.default_rng(seed_rng.randint(np.iinfo(np.int32).max))

        # 1. the teacher sees X as given (with its sensitive columns).
        self.teacher_ = self._fit_teacher(X, y, sample_weight, data.params)
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
                fixed = column_positions(X, self.sensitive_columns)
            X_syn, base = synthesize(X, self.n_augment, fixed, augment_rng)
            parts.append(X_syn)
            bases.append(base)
        X_all = concat_rows(parts)
        base_all = np.concatenate(bases)
        n_extra = _num_samples(X_all) - n_samples
        X_model = self._drop_sensitive(X_all)

        codes = None
        if data.codes is not None:
            codes = self._transfer_codes(data, X_all, base_all, sensitive_features)

        weights = None
        if sample_weight is not None:
            weights = np.ones(_num_samples(X_all))
            weights[:n_samples] = sample_weight
            synthetic = base_all >= 0
            synthetic[:n_samples] = False
            weights[synthetic] = sample_weight[base_all[synthetic]]

        soft_targets, y_teacher = self._teacher_targets(X_all)
        y_all = np.concatenate([np.asarray(y), y_teacher[n_samples:]]) if n_extra else y

        # 3. the student, through the one training loop.
        loss_terms = [self._distillation_term()]
        self._fair_terms = []
        if codes is not None:
            self._fair_terms = self._fairness_terms(y_all, weights)
            loss_terms += self._fair_terms
        student = self._make_student(X_model, student_seed)
        fit_with_params(
            student,
            X_model,
            y_all,
            sample_weight=weights,
            sensitive_features=codes if len(loss_terms) > 1 else None,
            soft_targets=soft_targets,
            loss_terms=loss_terms,
        )
        self.student_ = student
        self.history_ = getattr(final_estimator(student), "history_", None)
        self.n_transfer_samples_ = _num_samples(X_all)

        real = take_rows(X_model, np.arange(n_samples))
        self.fidelity_ = self._fidelity(y_teacher[:n_samples], real)
        self.n_teacher_params_ = count_parameters(self.teacher_)
        self.n_student_params_ = count_parameters(self.student_)
        self._after_fit(data._replace(X_model=real))
        return self

    # --- out of core ----------------------------------------------------------
    def _fit_chunks(self, chunks, classes):
        """Distil chunk by chunk (see the classifier's ``fit_chunks``)."""
        owner = type(self).__name__
        if self.n_augment:
            raise ValueError(
                f"{owner}.fit_chunks cannot synthesize rows (n_augment): mixing "
                "pairs of rows needs them in memory together. Use n_augment=0, "
                "or fit on a sample."
            )
        student = self.student
        if student is not None and not hasattr(student, "_fit_chunks"):
            raise TypeError(
                f"{owner}.fit_chunks trains the student one chunk at a time, which "
                "needs an sklfair network (TabularNetClassifier) as the student, "
                f"not {type(student).__name__} (a Pipeline cannot train on chunks)."
            )
        teacher = self.teacher
        if not isinstance(teacher, FrozenEstimator) and not hasattr(
            teacher, "fit_chunks"
        ):
            raise TypeError(
                f"{owner}.fit_chunks needs a teacher it can use without holding "
                "the rows: a fitted one, passed as FrozenEstimator(teacher), or "
                "one with its own fit_chunks (an sklfair net or meta-estimator); "
                f"got {type(teacher).__name__}."
            )
        scan = self._scan_chunks(
            chunks,
            classes=classes,
            why="a counting pass, the teacher's and the student's passes",
            sample_size=50_000,
        )
        self.classes_ = scan.classes
        sample = scan.sample
        scan.sample = None
        if scan.labels is not None:
            self._check_feasible(
                FitData(
                    sample["X_in"],
                    sample["X"],
                    sample["y"],
                    sample["sample_weight"],
                    None,
                    sample["codes"],
                    {},
                )
            )
        seed_rng = check_random_state(self.random_state)
        student_seed = int(seed_rng.randint(np.iinfo(np.int32).max))

        # 1. the teacher: fitted already, or fitted on the chunks as given
        if isinstance(teacher, FrozenEstimator):
            self.teacher_ = teacher
        else:
            self.teacher_ = clone(teacher).fit_chunks(chunks, classes=self.classes_)
        self._check_teacher()

        # 2. the student, on every chunk's soft labels, computed per chunk
        def student_chunks():
            for position, raw in enumerate(iter_chunks(chunks)):
                chunk = read_chunk(self, raw, position, groups=scan.labels is not None)
                del raw
                soft, _ = self._teacher_targets(chunk.X)
                part = {
                    "X": chunk.X_model,
                    "y": chunk.y,
                    "sample_weight": chunk.sample_weight,
                    "soft_targets": soft,
                }
                if scan.labels is not None:
                    part["sensitive_features"] = scan.codes_of(chunk.groups, position)
                del chunk, soft  # hold only what the student trains on
                yield part
                del part  # not alive while the next chunk is read

        soft, y_teacher = self._teacher_targets(sample["X_in"])
        term_rows = {
            "X": sample["X"],
            "y": sample["y"],
            "sample_weight": sample["sample_weight"],
            "soft_targets": soft,
        }
        loss_terms = [self._distillation_term()]
        self._fair_terms = []
        if scan.labels is not None:
            term_rows["sensitive_features"] = sample["codes"]
            self._fair_terms = self._fairness_terms(None, None)
            loss_terms += self._fair_terms
        if student is None:
            student = self._default_net(
                hidden_units=DEFAULT_STUDENT_HIDDEN_UNITS, random_state=student_seed
            )
        student = clone(student)
        student._fit_chunks(
            student_chunks,
            classes=self.classes_,
            loss_terms=loss_terms,
            term_rows=term_rows,
            term_data={
                "n_groups": 0 if scan.labels is None else len(self.groups_),
                "n_rows": scan.n_rows,
                "n_chunks": scan.n_chunks,
            },
        )
        self.student_ = student
        self.history_ = getattr(student, "history_", None)
        self.n_transfer_samples_ = scan.n_rows
        self.fidelity_ = self._fidelity(y_teacher, sample["X"])
        self.n_teacher_params_ = count_parameters(self.teacher_)
        self.n_student_params_ = count_parameters(self.student_)
        if scan.labels is not None:
            constraints = self._constraints()
            sums, _ = stream_rates(
                self,
                chunks,
                constraints,
                self.student_.predict,
                labels=self.groups_,
                classes=self.classes_,
            )
            gaps = [
                gap_of_sums(c, num, den, self.groups_, len(self.classes_))
                for c, (num, den) in zip(constraints, sums, strict=True)
            ]
            self.constraint_violation_ = violation_of_gaps(
                constraints,
                gaps,
                owner=f"{owner}'s student",
                advice="Train the student longer, loosen the bound, or check "
                "that the groups are large enough to estimate their rates.",
            )
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        teacher_tags = get_tags(self.teacher)
        tags.input_tags.sparse = (
            teacher_tags.input_tags.sparse and tags.input_tags.sparse
        )
        tags.input_tags.allow_nan = (
            teacher_tags.input_tags.allow_nan and tags.input_tags.allow_nan
        )
        tags.input_tags.categorical = False
        tags.input_tags.string = False
        return tags
