"""The shared base of the fairness meta-estimators.

:class:`FairMetaEstimator` owns everything that
:class:`~sklfair.reweighting.ReweighingClassifier`,
:class:`~sklfair.constrained.FairConstrainedClassifier` /
:class:`~sklfair.constrained.FairConstrainedRegressor` and
:class:`~sklfair.distillation.DistilledClassifier` /
:class:`~sklfair.distillation.DistilledRegressor` have in common, so that each
of them holds only its own idea:

- validating ``X``, ``y`` and ``sample_weight`` (``n_features_in_``,
  ``feature_names_in_``), keeping a DataFrame as it is for the inner
  estimator;
- the sensitive attribute from either source (``sensitive_columns=`` or the
  ``sensitive_features=`` fit argument), under the one policy of
  :mod:`sklfair._sensitive` (``groups_``, ``group_sizes_``, and the bins of
  a continuous column, ``sensitive_bins`` / ``sensitive_bins_``), at fit and
  at prediction;
- dropping the sensitive columns before the inner estimator sees ``X``;
- metadata routing: ``sample_weight`` and ``sensitive_features`` are consumed
  here, any other fit parameter is routed to the wrapped estimator's ``fit``;
- delegation of optional methods (:func:`delegates`, for ``available_if``),
  the input tags of the wrapped estimator and the fitted check.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, is_classifier
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from sklfair._chunked import check_chunk_source, scan_chunks
from sklfair._group_labels import plain_value
from sklfair._persistence import PersistentStateMixin
from sklfair._sensitive import (
    MAX_GROUPS,
    drop_sensitive_columns,
    fit_groups,
    predict_group_codes,
    resolve_sensitive,
    warn_no_sensitive_attribute,
)
from sklfair.exceptions import (
    PrivacyGuaranteeError,
    SensitiveAttributeError,
    SklfairWarning,
)
from sklfair.privacy import private_training

__all__ = ["FairMetaEstimator", "FitData", "checkable", "delegates"]


class FitData(NamedTuple):
    """What :meth:`FairMetaEstimator._fit_data` hands to a subclass's fit."""

    #: ``X`` as given when it is a DataFrame, else validated: what a teacher
    #: and the column selectors see.
    X: object
    #: ``X`` without the dropped sensitive columns: what the inner estimator sees.
    X_model: object
    y: np.ndarray
    #: Validated float64 weights, or None.
    sample_weight: np.ndarray | None
    #: Group label of each row, or None without a sensitive attribute.
    groups: pd.Series | None
    #: Group code of each row (``groups_[codes]`` gives the labels), or None.
    codes: np.ndarray | None
    #: Fit parameters routed to the wrapped estimator.
    params: dict


def delegates(attr):
    """An ``available_if`` check: the fitted (else the unfitted) inner estimator
    has ``attr``; raises that estimator's own ``AttributeError`` otherwise."""

    def check(self):
        child = getattr(self, self._fitted_child, None)
        getattr(self._unfitted_child() if child is None else child, attr)
        return True

    return check


def _one_class(y):
    """Whether the labels ``y`` hold a single class (one comparison per row,
    not the sorted copy of ``np.unique``)."""
    y = np.asarray(y)
    if y.ndim != 1:
        return len(np.unique(y)) < 2
    return bool(np.all(y == y[0]))


def checkable(X):
    """``X`` as :func:`~sklearn.utils.validation.validate_data` can check it.

    scikit-learn converts a DataFrame with a bool or nullable numeric column
    (``bool``, ``Int64``, ``boolean``) to float64 before checking it, unless
    all its columns are numpy dtypes or one is text, so a categorical column
    beside it fails with "Cannot cast str dtype to float64", although the
    inner estimator (e.g. a Pipeline with a ColumnTransformer) takes such a
    frame. The meta-estimator only checks ``X`` (the inner estimator gets it
    as given), so those columns are checked as float64 (a missing value as
    NaN) in a shallow copy.
    """
    if not isinstance(X, pd.DataFrame):
        return X
    dtypes = list(X.dtypes)
    if all(isinstance(dtype, np.dtype) for dtype in dtypes):
        return X

    def early(dtype):
        return pd.api.types.is_bool_dtype(dtype) or (
            pd.api.types.is_extension_array_dtype(dtype)
            and not isinstance(dtype, pd.CategoricalDtype)
            and (
                pd.api.types.is_integer_dtype(dtype)
                or pd.api.types.is_float_dtype(dtype)
            )
        )

    positions = [i for i, dtype in enumerate(dtypes) if early(dtype)]
    if not positions:
        return X
    X = X.copy(deep=False)
    for i in positions:
        X.isetitem(i, X.iloc[:, i].to_numpy(dtype=np.float64, na_value=np.nan))
    return X


class FairMetaEstimator(PersistentStateMixin, MetaEstimatorMixin, BaseEstimator):
    """Base class of sklfair's fairness meta-estimators (see the module docs).

    Subclasses set ``_routed_child`` (the constructor parameter that receives
    routed fit parameters, ``"estimator"`` by default) and ``_fitted_child``
    (the fitted attribute that predicts, ``"estimator_"`` by default), and
    have the parameters ``sensitive_columns`` and ``drop_sensitive``.
    """

    _routed_child = "estimator"
    _fitted_child = "estimator_"
    _multi_output = False
    #: Whether the consumed arguments (``sample_weight``...) are also offered
    #: to the router, so that a child that requests them gets them (a
    #: teacher); else the child gets only what the meta-estimator hands it.
    _route_consumed = False

    # --- hooks --------------------------------------------------------------
    def _unfitted_child(self):
        """The estimator that will predict, before fit (for tags, delegation)."""
        return getattr(self, self._routed_child)

    def _needs_groups(self):
        """Whether this fit uses groups (else the columns are only dropped)."""
        return True

    def _continuous_attribute(self):
        """Whether the mitigation takes the attribute's values themselves (a
        constraint on the dependence on a continuous attribute): no bins
        then, and each distinct value is a level, not a group."""
        constraint = getattr(self, "constraint", None)
        items = constraint if isinstance(constraint, list | tuple) else [constraint]
        return any(getattr(c, "continuous_attribute", False) for c in items)

    def _without_groups(self):
        """What is fitted when no sensitive attribute is given."""
        return "the estimator is fitted without any mitigation"

    def _accept_sparse(self):
        return ["csr", "csc"] if get_tags(self).input_tags.sparse else False

    def _private_reads(self):
        """What this fit reads from the data outside a private net's DP-SGD
        guarantee (a phrase), or None when it reads nothing more."""
        return None

    def _check_private(self):
        """Refuse a private (DP-SGD) inner net when the meta-estimator reads
        the training rows outside its guarantee."""
        reads = self._private_reads()
        if reads is None or private_training(self._unfitted_child()) is None:
            return
        raise PrivacyGuaranteeError(
            f"{type(self).__name__} {reads}, outside the DP-SGD guarantee of its "
            "private net, so the fitted model would not be differentially "
            "private. For private and fair training, pass the private net "
            "sample_weight=sklfair.privacy.noisy_fair_sample_weight(y, groups, "
            "epsilon=...) with DPSGD(accept_weights=True) (and count both "
            "budgets), or fair post-processing on data outside the guarantee."
        )

    # --- fit ----------------------------------------------------------------
    def _fit_data(
        self,
        X,
        y,
        sample_weight,
        sensitive_features,
        fit_params,
        *,
        ensure_all_finite=False,
        **consumed,
    ):
        """Validate the fit's data and resolve the groups under the policy.

        Sets ``n_features_in_``, ``feature_names_in_``, ``groups_`` and
        ``group_sizes_``. ``consumed`` are other arguments the meta-estimator
        consumes but lets the router see (e.g. ``X_unlabeled``).
        """
        _raise_for_params(fit_params, self, "fit")
        self._check_private()
        classification = is_classifier(self)
        X_checked, y = validate_data(
            self,
            checkable(X),
            y,
            accept_sparse=self._accept_sparse(),
            dtype=None,
            ensure_all_finite=ensure_all_finite,
            ensure_min_samples=2,
            y_numeric=not classification,
            multi_output=self._multi_output,
        )
        if classification:
            check_classification_targets(y)
        X_in = X if isinstance(X, pd.DataFrame) else X_checked
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X_checked, dtype=np.float64, ensure_non_negative=True
            )
        if classification:
            kept = y if sample_weight is None else y[sample_weight > 0]
            if _one_class(kept):
                raise ValueError(
                    f"{type(self).__name__} needs at least two classes in y (among "
                    f"the rows of positive weight); got one class "
                    f"({plain_value(np.ravel(kept)[0])!r})."
                )
        params = self._routed_params(
            fit_params,
            sample_weight=sample_weight,
            sensitive_features=sensitive_features,
            **consumed,
        )
        X_model, groups, codes = self._resolve_groups(
            X_in, sample_weight, sensitive_features
        )
        return FitData(X_in, X_model, y, sample_weight, groups, codes, params)

    def _scan_chunks(self, chunks, *, classes=None, why, sample_size=0):
        """The counting pass of a chunked fit (see :mod:`sklfair._chunked`).

        Refuses a one-shot source, a private inner net and a constraint on a
        continuous attribute; sets ``n_features_in_``, ``feature_names_in_``
        (from the first chunk), ``groups_``, ``group_sizes_`` and
        ``sensitive_bins_`` under the policy's rules, and returns the
        :class:`~sklfair._chunked.ChunkScan`.
        """
        owner = type(self).__name__
        check_chunk_source(chunks, owner, why)
        self._check_private()
        if self._continuous_attribute():
            raise ValueError(
                f"{owner}.fit_chunks cannot bound the dependence on a continuous "
                "attribute (its terms need every row's value); bin the attribute "
                "with sensitive_bins= cut points, or use fit on a sample."
            )
        scan = scan_chunks(
            self,
            chunks,
            classes=classes,
            sample_size=sample_size,
            random_state=getattr(self, "random_state", None),
            groups=self._needs_groups(),
        )
        validate_data(
            self,
            checkable(scan.head),
            reset=True,
            accept_sparse=self._accept_sparse(),
            dtype=None,
            ensure_all_finite=False,
        )
        self.groups_, self.group_sizes_ = scan.labels, scan.sizes
        self.sensitive_bins_ = scan.cut_points or None
        return scan

    def _routed_params(self, fit_params, **consumed):
        """The fit parameters routed to the wrapped estimator ({} without
        metadata routing, where ``fit_params`` must be empty)."""
        if not _routing_enabled():
            return {}
        consumed = {
            k: v for k, v in consumed.items() if v is not None and self._route_consumed
        }
        routed = process_routing(self, "fit", **consumed, **fit_params)
        return dict(routed[self._routed_child].fit)

    def _resolve_groups(self, X, sample_weight, sensitive_features):
        owner = type(self).__name__
        self.groups_ = self.group_sizes_ = self.sensitive_bins_ = None
        if not self._needs_groups():
            if sensitive_features is not None and self.sensitive_columns is not None:
                resolve_sensitive(  # raises the error naming both ways
                    X,
                    sensitive_columns=self.sensitive_columns,
                    sensitive_features=sensitive_features,
                )
            if sensitive_features is not None:
                warnings.warn(
                    f"{owner}: sensitive_features only serve the fairness "
                    "constraint; without constraint= they do not change the fit.",
                    SklfairWarning,
                    stacklevel=4,
                )
            return self._drop_sensitive(X), None, None
        continuous = self._continuous_attribute()
        bins = getattr(self, "sensitive_bins", None)
        X_model, groups, cut_points = resolve_sensitive(
            X,
            sensitive_columns=self.sensitive_columns,
            sensitive_features=sensitive_features,
            drop_sensitive=self.drop_sensitive,
            max_groups=None if continuous else MAX_GROUPS,
            bins=False if continuous and bins is None else bins,
            return_bins=True,
            ordered=continuous,
            owner=owner,
        )
        if groups is None:
            warn_no_sensitive_attribute(owner, self._without_groups())
            return X_model, None, None
        codes, labels, sizes = fit_groups(
            groups, sample_weight, owner=owner, continuous=continuous
        )
        self.groups_, self.group_sizes_ = labels, sizes
        self.sensitive_bins_ = cut_points or None
        return X_model, groups, codes

    def _groups_of(self, X):
        """Group labels of the rows of ``X`` read from ``sensitive_columns``,
        with the fit's bins (e.g. of transfer rows)."""
        return resolve_sensitive(
            X,
            sensitive_columns=self.sensitive_columns,
            max_groups=None,
            bins=self.sensitive_bins_ or False,
        )[1]

    def _drop_sensitive(self, X):
        """``X`` without the sensitive columns when they are to be dropped."""
        if self.sensitive_columns is not None and self.drop_sensitive:
            return drop_sensitive_columns(X, self.sensitive_columns)
        return X

    # --- prediction ---------------------------------------------------------
    def _predict_data(self, X):
        """Validate ``X`` at prediction.

        Returns ``X`` as given (DataFrame) or validated, the inner estimator's
        input, and the fitted group code of each row (-1 for a group unseen at
        fit, with an :class:`~sklfair.exceptions.UnseenGroupWarning`), or None
        when the groups do not come from the columns of ``X``.
        """
        check_is_fitted(self)
        X_checked = validate_data(
            self,
            checkable(X),
            reset=False,
            accept_sparse=self._accept_sparse(),
            dtype=None,
            ensure_all_finite=False,
        )
        X_in = X if isinstance(X, pd.DataFrame) else X_checked
        codes = None
        if (
            self.groups_ is not None
            and self.sensitive_columns is not None
            and not self._continuous_attribute()  # its values are not decided on
        ):
            codes = predict_group_codes(
                X_in,
                self.sensitive_columns,
                self.groups_,
                owner=type(self).__name__,
                bins=getattr(self, "sensitive_bins_", None),
            )
        return X_in, self._drop_sensitive(X_in), codes

    def _group_codes_at_fit(self, groups):
        """Codes of fit-time labels (e.g. of extra transfer rows)."""
        index = pd.Index(np.asarray(self.groups_, dtype=object))
        codes = index.get_indexer(np.asarray(groups, dtype=object))
        if (codes < 0).any():
            raise SensitiveAttributeError("a group label is not among the fit's groups")
        return codes

    # --- scikit-learn protocol ----------------------------------------------
    def __sklearn_is_fitted__(self):
        return hasattr(self, self._fitted_child)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        child = get_tags(self._unfitted_child())
        tags.input_tags.sparse = child.input_tags.sparse
        tags.input_tags.allow_nan = child.input_tags.allow_nan
        tags.input_tags.categorical = child.input_tags.categorical
        tags.input_tags.string = child.input_tags.string
        return tags

    def get_metadata_routing(self):
        """Metadata routing of this object.

        ``sample_weight`` and ``sensitive_features`` are consumed here (set
        their request with ``set_fit_request``); any other fit parameter is
        routed to the wrapped estimator's ``fit``.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
        """
        child = {self._routed_child: getattr(self, self._routed_child)}
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                **child,
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
        )
