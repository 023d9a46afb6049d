"""What the constrained classifier and regressor share: choosing the method,
fitting through the training loop or fairlearn, and the claim about the bound."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils import _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval

from sklfair._chunked import (
    check_chunk_source,
    check_held_out,
    iter_chunks,
    read_chunk,
    stream_rates,
)
from sklfair._fitting import accepts_fit_param, final_estimator, fit_with_params
from sklfair._group_labels import integer_codes, plain_value
from sklfair._meta import FairMetaEstimator
from sklfair.constraints import GroupLossParity, resolve_constraints
from sklfair.nets._data import small_int_dtype

from ._adversarial import AdversarialTerm
from ._claim import add_rate_sums, gap_of_sums, row_blocks, violation_of_gaps
from ._dependence import dependence_term, is_dependence
from ._fairlearn import (
    fit_reductions,
    mixture_proba,
    mixture_threshold,
    repeat_rows,
)
from ._feasibility import (
    degenerate_sums,
    resolvable_bounds,
    warn_if_degenerate_sums,
    warn_if_unresolvable,
)
from ._gap_term import GapTerm, gap_names, nanmax
from ._lagrangian import LagrangianTerm
from ._penalty import PenaltyTerm

__all__ = [
    "DEFAULT_CONFIDENCE",
    "LOOP_METHODS",
    "BaseFairConstrained",
    "fairness_terms",
    "loop_scales",
    "in_loop_units",
]

LOOP_METHODS = ("lagrangian", "penalty", "adversarial")
_DEFAULT_PENALTY = {"penalty": 1.0, "adversarial": 1.0}
#: The default ``confidence`` of every constrained estimator and fair student:
#: the training-loop methods aim each resolvable gap at ``bound - z * se`` (z
#: its one-sided normal quantile, 1.645), so that the bound holds on new rows
#: drawn like the training rows with about that probability; and the bound is
#: compared with what the groups can resolve at that confidence.
DEFAULT_CONFIDENCE = 0.95


def class_codes(y):
    """``np.unique(y, return_inverse=True)`` with less memory for integer labels.

    Integer (or boolean) labels of a small range are counted and coded block
    by block (:func:`sklfair._group_labels.integer_codes`, as the group
    codes): only the codes are made, not the sorted copy and the sort order
    of every row that ``np.unique`` holds. Other labels go to ``np.unique``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constrained._base import class_codes
    >>> classes, codes = class_codes(np.array([7, 3, 7]))
    >>> classes.tolist(), codes.tolist()
    ([3, 7], [1, 0, 1])
    """
    y = np.asarray(y)
    coded = integer_codes(y)
    return np.unique(y, return_inverse=True) if coded is None else coded


def small_codes(codes, n_codes):
    """Integer codes ``0 .. n_codes - 1`` in the smallest signed integer dtype
    that holds them (:func:`sklfair.nets._data.small_int_dtype`; a copy
    unless they already are)."""
    return np.asarray(codes).astype(small_int_dtype(n_codes), copy=False)


def _seed(random_state):
    return check_random_state(random_state).randint(2**31 - 1)


class BaseFairConstrained(FairMetaEstimator):
    """Fit an estimator under fairness constraints (see the subclasses)."""

    _task = "classification"

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "sensitive_columns": [None, str, numbers.Integral, "array-like", callable],
        "drop_sensitive": ["boolean"],
        "penalty": [None, Interval(numbers.Real, 0, None, closed="left")],
        "method_params": [None, dict],
        "confidence": [Interval(numbers.Real, 0.5, 1, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def _without_groups(self):
        return "the estimator is fitted without the constraint"

    def _private_reads(self):
        if self._planned_method() == "threshold":
            return "fits group thresholds on the scores of the training rows"
        if self._planned_method() == "reductions":
            return (
                "reweighs the training rows by the multipliers of its exact group rates"
            )
        return None  # the training-loop terms: the net itself refuses them

    # --- fit ------------------------------------------------------------
    def _fit(self, X, y, sample_weight, sensitive_features, fit_params):
        data = self._fit_data(X, y, sample_weight, sensitive_features, fit_params)
        y, sample_weight = data.y, data.sample_weight
        if self._task == "classification":
            self.classes_, y_codes = class_codes(y)
            self.decision_threshold_ = None  # set by the reductions below
        else:
            y_codes = y
        constraints = resolve_constraints(self.constraint, self._task, self.bound)
        self.constraint_ = (
            constraints if isinstance(self.constraint, list | tuple) else constraints[0]
        )
        child_params = dict(data.params)
        child_params.pop("sample_weight", None)

        if data.groups is None:
            self.method_ = None
            estimator = clone(self.estimator)
            fit_with_params(
                estimator, data.X_model, y, sample_weight=sample_weight, **child_params
            )
            self.estimator_ = estimator
            self.history_ = _net_history(estimator)
            self.n_iter_ = len(self.history_) if self.history_ is not None else 1
            self.constraint_violation_ = float("nan")
            self.resolvable_bounds_ = {}
            return self

        self.method_ = self._resolve_method(constraints)
        owner = type(self).__name__
        codes = data.codes
        if self.method_ in LOOP_METHODS:
            # alive while the net trains: the smallest integers that hold them
            codes = small_codes(codes, len(self.groups_))
            if self._task == "classification":
                y_codes = small_codes(y_codes, len(self.classes_))
        # the claim needs only the codes: the labels of every row can go
        data = data._replace(groups=None, codes=None)
        self.resolvable_bounds_ = {}
        if self._task == "classification":
            bounds = resolvable_bounds(
                constraints,
                y_codes,
                codes,
                sample_weight,
                len(self.groups_),
                self.confidence,
                n_classes=len(self.classes_),
            )
            self.resolvable_bounds_ = {name: b for name, (b, _) in bounds.items()}
            warn_if_unresolvable(
                constraints, bounds, self.groups_, self.confidence, owner
            )
        if self.method_ in LOOP_METHODS:
            self._fit_loop(
                constraints, data.X_model, y, codes, sample_weight, child_params
            )
            self.n_iter_ = len(self.history_)
        elif self.method_ == "reductions":
            if child_params:
                raise TypeError(
                    "method='reductions' cannot route fit parameters "
                    f"{sorted(child_params)} to the estimator."
                )
            self._check_binary("reductions")
            X_fit, y_fit, groups_fit = repeat_rows(
                data.X_model, y_codes, codes, sample_weight, "reductions"
            )
            try:
                self.estimator_, aimed = fit_reductions(
                    self.estimator,
                    constraints[0],
                    X_fit,
                    y_fit,
                    groups_fit,
                    eps=self.eps,
                    max_iter=self.max_iter,
                    params=dict(self.method_params or {}),
                    confidence=self.confidence,
                )
            except ValueError as exc:
                if "sample_weight contains NaN" not in str(exc):
                    raise
                smallest = int(np.argmin(self.group_sizes_))
                label = self.groups_[smallest]
                label = plain_value(label)
                raise ValueError(
                    "method='reductions': fairlearn's ExponentiatedGradient "
                    "could not weigh the rows of these groups (its cost-sensitive "
                    "weights became NaN, which happens when a group has too few "
                    f"rows: the smallest, {label!r}, has "
                    f"{self.group_sizes_[smallest]}). Give every group more rows, "
                    "merge small groups, or use method='lagrangian' or "
                    "'threshold'."
                ) from None
            self.n_iter_ = int(self.estimator_.last_iter_) + 1
            if self._task == "classification":
                self.decision_threshold_ = mixture_threshold(
                    mixture_proba(self.estimator_, data.X_model)[:, 1],
                    constraints[0],
                    aimed,
                    y_codes,
                    codes,
                    sample_weight,
                    len(self.groups_),
                    self.confidence,
                )
        else:
            self._fit_threshold(
                constraints[0],
                data.X_model,
                y_codes,
                codes,
                sample_weight,
                child_params,
            )
            self.n_iter_ = 1
        self._claim(constraints, data.X_model, y_codes, codes, sample_weight)
        return self

    # --- out of core -----------------------------------------------------
    def _fit_chunks(self, chunks, classes, validation_chunks):
        """Fit the training-loop methods on chunks (see the classifier's
        ``fit_chunks``)."""
        owner = type(self).__name__
        method = self._planned_method()
        if method not in LOOP_METHODS:
            raise ValueError(
                f"{owner}.fit_chunks trains through the sklfair training loop, one "
                f"chunk at a time; method={method!r} needs every row in memory "
                "(fairlearn's reductions refit on all rows, the threshold method "
                "fits group thresholds on all scores). Use method='lagrangian', "
                "'penalty' or 'adversarial' with an sklfair net, or fit on a "
                "sample of the data."
            )
        if not hasattr(self.estimator, "_fit_chunks"):
            raise TypeError(
                f"{owner}.fit_chunks needs an sklfair net (TabularNetClassifier) "
                "as the estimator, which trains one chunk at a time; got "
                f"{type(self.estimator).__name__}."
            )
        if float((self.method_params or {}).get("validation_fraction", 0.0)) > 0:
            raise ValueError(
                f"{owner}.fit_chunks cannot hold out a validation_fraction of the "
                "rows (the rows are not in memory together); pass the held-out "
                "rows as validation_chunks= instead."
            )
        if validation_chunks is not None:
            check_chunk_source(
                validation_chunks, owner, "once", once=True, source="validation_chunks"
            )
        scan = self._scan_chunks(
            chunks,
            classes=classes,
            why="a counting pass for the groups, the network's passes and a "
            "pass for the claim",
            sample_size=GapTerm.monitor_size,
        )
        self.classes_ = scan.classes
        if validation_chunks is not None:
            check_held_out(self, validation_chunks, scan)
        constraints = resolve_constraints(self.constraint, self._task, self.bound)
        self.constraint_ = (
            constraints if isinstance(self.constraint, list | tuple) else constraints[0]
        )
        self.method_ = self._resolve_method(constraints)
        n_groups = len(self.groups_)
        sample = scan.sample
        sample_codes = np.searchsorted(self.classes_, sample["y"])
        bounds = resolvable_bounds(
            constraints,
            sample_codes,
            sample["codes"],
            sample["sample_weight"],
            n_groups,
            self.confidence,
            n_classes=len(self.classes_),
        )
        self.resolvable_bounds_ = {name: b for name, (b, _) in bounds.items()}
        warn_if_unresolvable(constraints, bounds, self.groups_, self.confidence, owner)

        self._loop_constraints = in_loop_units(constraints, [1.0] * len(constraints))
        terms = self._make_terms(self._loop_constraints)

        def coded_chunks():
            for position, raw in enumerate(iter_chunks(chunks)):
                chunk = read_chunk(self, raw, position)
                del raw
                part = {
                    "X": chunk.X_model,
                    "y": chunk.y,
                    "sample_weight": chunk.sample_weight,
                    "sensitive_features": scan.codes_of(chunk.groups, position),
                }
                del chunk  # hold only what the net trains on while it does
                yield part
                del part  # not alive while the next chunk is read

        estimator = clone(self.estimator)
        estimator._fit_chunks(
            coded_chunks,
            classes=self.classes_,
            loss_terms=terms,
            term_rows={
                "X": sample["X"],
                "y": sample["y"],
                "sample_weight": sample["sample_weight"],
                "sensitive_features": sample["codes"],
            },
            term_data={
                "n_groups": n_groups,
                "n_rows": scan.n_rows,
                "n_chunks": scan.n_chunks,
            },
        )
        scan.sample = sample = None  # the sample served the terms' setup
        self.estimator_ = estimator
        self._gap_scale = np.ones(
            sum(len(c.gap_names(n_groups, terms[0].n_outputs_)) for c in constraints)
        )
        self.history_ = self._history(constraints, terms[0])
        self.n_iter_ = len(self.history_)

        advice = (
            "This method trades the gap off against accuracy and does not "
            "enforce the bound: raise penalty, or use method='lagrangian'."
            if self.method_ in ("penalty", "adversarial")
            else "Loosen the bound, train longer, or check that the groups are "
            "large enough to estimate their rates."
        )
        owner = f"{owner} (method={self.method_!r})"
        self.constraint_violation_ = self._streamed_violation(
            chunks, constraints, owner, advice, "training data"
        )
        self.validation_violation_ = self.validation_gaps_ = None
        if validation_chunks is not None:
            try:
                self.validation_violation_ = self._streamed_violation(
                    validation_chunks,
                    constraints,
                    owner,
                    advice,
                    "held-out chunks",
                    source="validation_chunks",
                )
            except ValueError as exc:  # keep the trained model
                warnings.warn(
                    f"{exc} The model is trained and kept; validation_violation_ "
                    "and validation_gaps_ are None (the gaps on validation_chunks "
                    "were not measured).",
                    UserWarning,
                    stacklevel=3,
                )
        return self

    def _streamed_violation(
        self, chunks, constraints, owner, advice, where, source=None
    ):
        """The claim's largest gap minus its bound over ``chunks`` (one pass,
        group sums only); on held-out chunks also sets ``validation_gaps_``."""
        sums, _ = stream_rates(
            self,
            chunks,
            constraints,
            self.estimator_.predict,
            labels=self.groups_,
            classes=self.classes_,
            source=source,
        )
        gaps = [
            gap_of_sums(c, numerator, denominator, self.groups_, len(self.classes_))
            for c, (numerator, denominator) in zip(constraints, sums, strict=True)
        ]
        if where != "training data":
            self.validation_gaps_ = {
                c.name: float(g) for c, g in zip(constraints, gaps, strict=True)
            }
        return violation_of_gaps(
            constraints, gaps, owner=owner, advice=advice, where=where
        )

    def _check_binary(self, method):
        if self._task == "classification" and len(self.classes_) != 2:
            raise ValueError(
                f"Only binary classification is supported. method={method!r} "
                f"(fairlearn) got y with {len(self.classes_)} classes. For "
                "multi-class use method='lagrangian' (or 'penalty') with an "
                "sklfair net, or method='threshold' (per-group offsets to any "
                "classifier's scores)."
            )

    def _accept_sparse(self):
        """Sparse X goes to sklfair nets only (fairlearn needs dense input)."""
        return ["csr", "csc"] if self._planned_method() in LOOP_METHODS else False

    def _planned_method(self):
        """The method ``fit`` uses ("auto" resolved from the estimator)."""
        if self.method != "auto":
            return self.method
        if accepts_fit_param(self.estimator, "loss_terms"):
            return "lagrangian"
        if accepts_fit_param(self.estimator, "sample_weight"):
            return "reductions"
        return "threshold" if self._task == "classification" else None

    def _resolve_method(self, constraints):
        method = self._planned_method()
        final = final_estimator(self.estimator)
        if (
            self.method == "auto"
            and method == "reductions"
            and self._task == "classification"
            and len(self.classes_) > 2
        ):
            # fairlearn's reductions are binary; the multi-class threshold
            # rule takes any classifier's scores, with the groups read from X
            if self.sensitive_columns is None:
                raise ValueError(
                    f"method='auto' picks fairlearn's reductions for "
                    f"{type(final).__name__}, which take two classes; y has "
                    f"{len(self.classes_)}. Give the groups as sensitive_columns= "
                    "(then 'auto' fits per-group offsets to the classifier's "
                    "scores, method='threshold'), or use an sklfair net "
                    "(TabularNetClassifier) for the training-loop methods."
                )
            method = "threshold"
        if method is None:
            raise TypeError(
                f"{type(final).__name__} is neither an sklfair net (fit takes "
                "loss_terms) nor an estimator whose fit takes sample_weight, so "
                f"{type(self).__name__} has no method to constrain it."
            )
        if method in LOOP_METHODS and not accepts_fit_param(
            self.estimator, "loss_terms"
        ):
            raise TypeError(
                f"method={method!r} trains through the sklfair training loop; it "
                "needs an sklfair net (TabularNetClassifier, TabularNetRegressor) "
                f"as the estimator or its final step, not {type(final).__name__}. "
                "Use method='reductions' or 'threshold' for other estimators."
            )
        if method == "reductions" and not accepts_fit_param(
            self.estimator, "sample_weight"
        ):
            raise TypeError(
                f"method='reductions' refits the estimator with sample weights, "
                f"but {type(final).__name__}.fit does not accept sample_weight."
            )
        if len(constraints) > 1 and method not in ("lagrangian", "penalty"):
            raise ValueError(
                f"method={method!r} takes one constraint, got "
                f"{[c.name for c in constraints]}: fairlearn's reductions take one "
                "Moment and its ThresholdOptimizer one constraint, and an "
                "adversary one attribute. Bound several constraints together with "
                "method='lagrangian' (or 'penalty') and an sklfair net."
            )
        return method

    # --- the training loop ------------------------------------------------
    def _make_terms(self, constraints):
        """The fit's loss terms: the method's term, and an adversary when
        ``method_params`` asks for one beside a bounded constraint."""
        params = dict(self.method_params or {})
        adversary = params.pop("adversary", None)
        penalty = self.penalty
        if penalty is None:
            penalty = _DEFAULT_PENALTY.get(self.method_, 1.0)
        if "confidence" in params:
            raise TypeError(
                "method_params does not take 'confidence': it is the "
                f"estimator's own parameter, {type(self).__name__}(confidence=...)."
            )
        if any(is_dependence(c) for c in constraints):  # no groups: its own term
            return [dependence_term(self.method_, constraints, penalty, params)]
        try:
            if self.method_ == "lagrangian":
                if self.random_state is not None:  # seeds the held-out rows
                    params.setdefault("random_state", _seed(self.random_state))
                terms = [
                    LagrangianTerm(constraints, confidence=self.confidence, **params)
                ]
            elif self.method_ == "penalty":
                if params:
                    raise TypeError(f"unexpected method_params {sorted(params)}")
                terms = [PenaltyTerm(constraints, penalty)]
            else:
                if adversary is not None:
                    raise TypeError(
                        "'adversary' combines an adversary with a bounded "
                        "constraint; method='adversarial' is an adversary already"
                    )
                params.setdefault("random_state", _seed(self.random_state))
                return [AdversarialTerm(constraints[0], alpha=penalty, **params)]
        except TypeError as exc:
            raise TypeError(
                f"method_params does not fit method={self.method_!r}: {exc}"
            ) from None
        if adversary is not None:
            terms.append(
                AdversarialTerm(
                    adversary, alpha=penalty, random_state=_seed(self.random_state)
                )
            )
        return terms

    def _fit_loop(self, constraints, X_model, y, codes, sample_weight, child_params):
        scales = (
            loop_scales(constraints, y, sample_weight)
            if self._task == "regression"
            else [1.0] * len(constraints)
        )
        self._loop_constraints = in_loop_units(constraints, scales)
        terms = self._make_terms(self._loop_constraints)
        term = terms[0]
        estimator = clone(self.estimator)
        fit_with_params(
            estimator,
            X_model,
            y,
            sample_weight=sample_weight,
            sensitive_features=codes,
            loss_terms=terms,
            **child_params,
        )
        self.estimator_ = estimator
        self._gap_scale = np.concatenate(
            [
                np.full(len(c.gap_names(len(self.groups_), term.n_outputs_)), s)
                for c, s in zip(constraints, scales, strict=True)
            ]
        )
        self.history_ = self._history(constraints, term)

    def _history(self, constraints, term):
        names = gap_names(constraints, len(self.groups_), term.n_outputs_, self.groups_)
        scale = self._gap_scale
        rows = []
        for epoch, record in enumerate(term.history_):
            row = {"epoch": epoch, "loss": record["loss"]}
            gaps = record["gaps"] * scale
            row["max_gap"] = nanmax(gaps)
            row.update({f"gap {name}": value for name, value in zip(names, gaps)})
            if "validation_gaps" in record:
                held_out = record["validation_gaps"] * scale
                row["validation_loss"] = record["validation_loss"]
                row["validation_max_gap"] = nanmax(held_out)
                row.update(
                    {
                        f"validation gap {name}": value
                        for name, value in zip(names, held_out)
                    }
                )
            if "margin" in record:
                row["margin"] = float(np.max(record["margin"] * scale, initial=0.0))
            if "multipliers" in record:
                row.update(
                    {
                        f"multiplier {name}": value
                        for name, value in zip(names, record["multipliers"])
                    }
                )
            rows.append(row)
        history = pd.DataFrame(rows)
        if getattr(term, "best_epoch_", None) is not None:
            history["selected"] = history["epoch"] == term.best_epoch_
        return history

    def _training_terms(self):
        """Fresh loss terms that train under this fit's constraints (see
        :func:`fairness_terms`)."""
        if self.method_ not in LOOP_METHODS:
            return []
        return self._make_terms(self._loop_constraints)

    # --- the claim ------------------------------------------------------
    def _claim(self, constraints, X_model, y_codes, codes, sample_weight):
        """``constraint_violation_`` of the fitted model on the training data."""
        advice = (
            "This method trades the gap off against accuracy and does not "
            "enforce the bound: raise penalty, or use method='lagrangian'."
            if self.method_ in ("penalty", "adversarial")
            else "Loosen the bound, train longer, or check that the groups are "
            "large enough to estimate their rates."
        )
        owner = f"{type(self).__name__} (method={self.method_!r})"
        classification = self._task == "classification"
        n_groups = len(self.groups_)
        sums = tally = None
        n_events = 1
        # block by block: the decisions of every training row never exist at once
        for rows in row_blocks(len(y_codes)):
            decisions = self._training_decisions(
                _safe_indexing(X_model, rows), codes[rows]
            )
            y_block = y_codes[rows]
            weight = None if sample_weight is None else sample_weight[rows]
            sums = add_rate_sums(
                sums, constraints, y_block, decisions, codes[rows], weight, n_groups
            )
            if classification:
                tally = degenerate_sums(y_block, decisions, weight, tally)
            n_events = decisions.shape[1] if decisions.ndim > 1 else 1
            del decisions
        gaps = [
            gap_of_sums(c, numerator, denominator, self.groups_, n_events)
            for c, (numerator, denominator) in zip(constraints, sums, strict=True)
        ]
        self.constraint_violation_ = violation_of_gaps(
            constraints, gaps, owner=owner, advice=advice
        )
        if classification:
            warn_if_degenerate_sums(tally, owner, classes=self.classes_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        child = get_tags(self.estimator)
        tags.input_tags.sparse = (
            child.input_tags.sparse and self._planned_method() in LOOP_METHODS
        )
        return tags


def fairness_terms(estimator):
    """Fresh training-loop terms that train under a fitted model's constraints.

    For a fitted :class:`FairConstrainedClassifier` or
    :class:`FairConstrainedRegressor` with a training-loop method, or a
    :class:`~sklfair.distillation.DistilledClassifier` /
    :class:`~sklfair.distillation.DistilledRegressor` with a constraint: new
    loss terms with the same constraints, bounds (in the network's units) and
    method parameters, for fine-tuning its network further (e.g. after
    pruning). An empty list for any other estimator.

    Parameters
    ----------
    estimator : fitted estimator

    Returns
    -------
    terms : list of LossTerm
    """
    terms = getattr(estimator, "_training_terms", None)
    return [] if terms is None else terms()


def loop_scales(constraints, y, sample_weight):
    """Loop units per unit of each regression constraint's quantity.

    sklfair's regressor standardises ``y`` inside (weighted mean and standard
    deviation), so its outputs, and the gaps a loss term sees, are in units of
    the standard deviation (squared for the losses).
    """
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    w = w / w.sum()
    y = np.asarray(y, dtype=np.float64)
    if y.ndim > 1:
        y = y.mean(axis=1)
    std = float(np.sqrt(w @ (y - w @ y) ** 2)) or 1.0
    return [std ** (2 if isinstance(c, GroupLossParity) else 1) for c in constraints]


def in_loop_units(constraints, scales):
    """Clones of ``constraints`` whose bounds are divided by ``scales``."""
    return [
        clone(c).set_params(bound=float(c.bound) / scale)
        for c, scale in zip(constraints, scales, strict=True)
    ]


def _net_history(estimator):
    """The training history of a (final step) sklfair net, else None."""
    history = getattr(final_estimator(estimator), "history_", None)
    if history is None:
        return None
    if isinstance(history, pd.DataFrame):
        return history
    return pd.DataFrame(list(history))
