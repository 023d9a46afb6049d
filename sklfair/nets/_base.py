"""Shared machinery of the public tabular nets (sklearn side of the wrapper).

:class:`BaseTabularNet` is a ``BaseEstimator`` with explicit hyperparameters.
``fit`` validates the data, builds a :class:`~sklfair.nets._training.TrainingNet`
(the one training loop, :mod:`sklfair.nets._build`) and keeps it as ``net_``.
Subclasses only say how the target is encoded, which per-sample loss is used
and how raw outputs become predictions.

With ``privacy=DPSGD(...)`` a fit trains with DP-SGD
(:mod:`sklfair.nets._private`) under the rules of
:mod:`sklfair.nets._private_fit`, and keeps the network's privacy ledger, so
later ``partial_fit`` and warm-started fits compose with what was spent.
Pickling is in :mod:`sklfair.nets._persistence`.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from .._sensitive import check_sensitive_features, encode_groups
from ..exceptions import PrivacyGuaranteeError
from ..privacy._dpsgd import DPSGD
from ._build import OPTIMIZERS, build_net
from ._chunks import ChunkStream, chunk_columns, unpack_chunk
from ._compact import compact_rows
from ._data import (
    TensorData,
    TrainingRows,
    check_numeric_frame,
    small_int_dtype,
    to_tensor,
)
from ._device import resolve_device, rng_devices, threads_for
from ._modules import ACTIVATIONS
from ._numerics import (
    check_divergence,
    check_float32_range,
    robust_mean,
    scaled_weights,
)
from ._persistence import PicklableNet
from ._private import PrivateTraining
from ._private_fit import (
    check_private_terms,
    noise_seed,
    privacy_ledger_for,
    private_weights,
    record_privacy,
)
from ._training import history_frame

__all__ = ["BaseTabularNet"]

# Prediction runs in chunks whose widest float64 activation takes about this
# many bytes (the chunk's memory stays small next to X's, and in cache).
_PREDICT_BYTES = 2**20


def _predict_chunk(module, n_features):
    """Rows predicted at a time: ``_PREDICT_BYTES`` of the widest layer."""
    widths = [n_features] + [p.shape[0] for p in module.parameters() if p.ndim == 2]
    return int(np.clip(_PREDICT_BYTES // (8 * max(widths)), 256, 65536))


def _ones_if_none(sample_weight, n_samples):
    """The weights, or weights of 1 when there are none."""
    return np.ones(n_samples) if sample_weight is None else sample_weight


# Integer group codes below this are counted by np.bincount (see below).
_MAX_DENSE_CODE = 2**16
# Codes counted at a time.
_COUNT_SLAB = 2**13


def _encode_groups(sensitive_features, n_samples):
    """Integer codes (sorted label order) and labels of per-row group labels.

    Codes ``0 .. k - 1`` that all occur, in an integer array (what the
    fairness meta-estimators pass), are their own sorted labels and are
    used as they are; anything else goes through the sensitive-attribute
    policy (:func:`~sklfair._sensitive.check_sensitive_features`), whose
    label handling costs a few copies of the column. The codes come in the
    smallest integer dtype that holds them (no copy of codes already in it).
    """
    groups = sensitive_features
    if (
        isinstance(groups, np.ndarray)
        and groups.ndim == 1
        and groups.dtype.kind in "iu"
        and len(groups) == n_samples > 0
        and 0 <= groups.min()
        and groups.max() < _MAX_DENSE_CODE
    ):
        # counted slab by slab: np.bincount would copy every code to intp
        counts = np.zeros(int(groups.max()) + 1, dtype=np.int64)
        for start in range(0, n_samples, _COUNT_SLAB):
            slab = groups[start : start + _COUNT_SLAB]
            counts += np.bincount(slab, minlength=len(counts))
        labels = np.flatnonzero(counts)
        if len(labels) == groups.max() + 1:
            return _narrow(groups, len(labels)), labels
    groups = check_sensitive_features(
        sensitive_features, n_samples, max_groups=None, min_groups=1
    )
    codes, labels = encode_groups(groups)
    return _narrow(codes, len(labels)), labels


def _narrow(codes, n_codes=None):
    """Integer codes ``0 .. n_codes - 1`` (default: up to their largest) in
    the smallest integer dtype that holds them, copied only when needed."""
    codes = np.asarray(codes)
    if n_codes is None:
        n_codes = int(codes.max(initial=0)) + 1
    return codes.astype(small_int_dtype(n_codes), copy=False)


class BaseTabularNet(PicklableNet, BaseEstimator):
    """Base class of :class:`TabularNetClassifier` and :class:`TabularNetRegressor`.

    Not meant to be used directly.
    """

    _parameter_constraints: dict = {
        "hidden_units": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS)), type],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "module": [None, callable],
        "module_params": [None, dict],
        "monotonic_cst": [None, "array-like", dict],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "privacy": [None, DPSGD],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "callbacks": [None, list],
        "warm_start": ["boolean"],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_units=(64, 64),
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        module=None,
        module_params=None,
        monotonic_cst=None,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        privacy=None,
        batch_size=256,
        max_epochs=20,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        callbacks=None,
        warm_start=False,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.module = module
        self.module_params = module_params
        self.monotonic_cst = monotonic_cst
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.privacy = privacy
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # --- subclass hooks -------------------------------------------------
    def _encode_target(self, y, reset):  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample_loss(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_soft_targets(self, soft_targets, n_samples):  # pragma: no cover
        raise NotImplementedError

    # --- data -----------------------------------------------------------
    def _validate_X(self, X, reset, y="no_validation"):
        check_numeric_frame(X, type(self).__name__)
        params = dict(
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            reset=reset,
        )
        try:
            if isinstance(y, str) and y == "no_validation":
                return validate_data(self, X, **params)
            return validate_data(self, X, y, **params, **self._y_check_params())
        except ValueError as exc:
            if "could not convert" in str(exc) or "must be a string" in str(exc):
                raise ValueError(
                    f"{exc}. {type(self).__name__} needs numeric input: put an "
                    "encoder (OneHotEncoder, OrdinalEncoder) in front of it."
                ) from exc
            raise

    def _y_check_params(self):
        return {}

    def _monotone_binary(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build_net(self, n_features, n_outputs, device, generator, loss_terms):
        return build_net(self, n_features, n_outputs, device, generator, loss_terms)

    # --- fit ------------------------------------------------------------
    def _check_rows(self, X, y, sample_weight, reset, classes=None, chunk=False):
        """Validated ``X``, encoded target and float64 weights of some rows.

        The weights stay None when not given (no array of ones is made). A
        chunk of a larger data set may have only zero weights; a fit may not.
        """
        X, y = self._validate_X(X, reset=reset, y=y)
        check_float32_range(X, "X")
        y_enc = self._encode_target(y, reset=reset, classes=classes)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight,
                X,
                dtype=np.float64,
                ensure_non_negative=True,
                allow_all_zero_weights=chunk,
            )
            if not np.all(np.isfinite(sample_weight)):
                raise ValueError("sample_weight contains NaN or infinite values.")
        return X, y_enc, sample_weight

    def _fit(
        self,
        X,
        y,
        sample_weight=None,
        sensitive_features=None,
        soft_targets=None,
        loss_terms=None,
        incremental=False,
        classes=None,
    ):
        """Fit on in-memory rows; ``incremental``: one epoch, continuing."""
        reset = not (incremental and hasattr(self, "net_"))
        spec = self._privacy_spec()
        weighted = sample_weight is not None
        X, y_enc, sample_weight = self._check_rows(
            X, y, sample_weight, reset=reset, classes=classes
        )
        n_samples = X.shape[0]
        columns = {"y": y_enc}
        if sensitive_features is not None:
            columns["sensitive_features"], labels = _encode_groups(
                sensitive_features, n_samples
            )
        else:
            labels = None
        if soft_targets is not None:
            columns["soft_targets"] = self._check_soft_targets(soft_targets, n_samples)
        loss_terms = list(loss_terms or [])
        if spec is not None:
            check_private_terms(loss_terms, soft_targets)
            sample_weight = private_weights(spec, weighted, sample_weight)
        if sensitive_features is not None and not any(
            "sensitive_features" in getattr(t, "requires", ()) for t in loss_terms
        ):
            warnings.warn(
                f"{type(self).__name__}.fit got sensitive_features but no loss term "
                "uses them; they are ignored. Use a fairness meta-estimator such as "
                "FairConstrainedClassifier to act on them.",
                UserWarning,
                stacklevel=3,
            )

        seed, split_seed = self._draw_seeds(incremental, reset)
        valid_rows = None
        if self.early_stopping and not incremental:
            valid_rows = self._validation_rows(y_enc, split_seed)
        # the held-out rows leave the training rows by a zero weight: the
        # training and validation data both index X, which is never copied
        fit_weight = sample_weight
        if valid_rows is not None:
            fit_weight = _ones_if_none(sample_weight, n_samples).copy()
            fit_weight[valid_rows] = 0.0
        w2_tr = None
        if spec is None:
            # the loss terms' statistics of the rows (standard errors, the
            # smallest resolvable gaps) need the merged rows' squared weights
            rows, w_tr, *squared = compact_rows(
                X, list(columns.values()), fit_weight, squares=bool(loss_terms)
            )
            w2_tr = squared[0] if squared else None
        else:  # one row, one record: DP-SGD samples and clips rows one by one
            fit_weight = _ones_if_none(fit_weight, n_samples)
            rows = np.flatnonzero(fit_weight > 0)
            # the weights become the rows' sampling rates (PrivateTraining);
            # every sampled row's loss counts once
            sampling_weights = fit_weight[rows]
            w_tr = np.ones_like(sampling_weights)
        del fit_weight
        if len(rows) == 0:
            raise ValueError(
                "All sample weights are zero: at least one training row needs a "
                "non-zero weight."
            )
        cols_tr = {k: c[rows] for k, c in columns.items()}
        if reset or not hasattr(self, "_weight_scale"):
            self._weight_scale = robust_mean(w_tr)
        self._prepare_targets(cols_tr, w_tr, reset=reset, private=spec is not None)

        device = self._fit_device(reset)
        train = self._tensor_data(
            X, cols_tr, w_tr, device, rows=rows, squared_weight=w2_tr
        )
        del cols_tr, w_tr, w2_tr, rows
        valid = None
        if valid_rows is not None:
            w_va = None if sample_weight is None else sample_weight[valid_rows]
            valid = self._tensor_data(
                X,
                {k: c[valid_rows] for k, c in columns.items()},
                w_va,
                device,
                rows=valid_rows,
                scale=max(robust_mean(w_va), 1e-12),
            )
            del w_va
        # only the tensors of the loop stay alive during training
        del columns, y_enc, sample_weight, valid_rows
        extra = dict(
            n_groups=len(labels) if labels is not None else 0,
            n_outputs=self._n_outputs(),
        )
        return self._train(
            (train, valid),
            X.shape[1],
            seed,
            device,
            warm=(self.warm_start or not reset),
            loss_terms=loss_terms,
            term_data=extra,
            epochs=1 if incremental else None,
            n_rows=train.n_samples,
            privacy=spec,
            sampling_weights=None if spec is None else sampling_weights,
        )

    def _fit_chunks(
        self, chunks, classes=None, loss_terms=None, term_rows=None, term_data=None
    ):
        """Fit ``max_epochs`` passes over chunks, one chunk in memory at a time.

        A meta-estimator's chunked fit passes ``loss_terms``: its chunks are
        then dicts that may carry per-row ``"sensitive_features"`` (integer
        group codes ``0 .. n_groups - 1``) and ``"soft_targets"``;
        ``term_rows``, a chunk of the same form, holds the rows the terms see
        at setup in place of the whole training set (e.g. a sample of it),
        and ``term_data`` the ints they need (``n_groups``, ``n_rows``).
        """
        if self.privacy is not None:
            raise PrivacyGuaranteeError(
                "fit_chunks cannot train privately: DP-SGD draws each batch from "
                "every training row (Poisson sampling), and a chunked fit sees "
                "one chunk at a time. Use fit on the rows in memory."
            )
        stream = ChunkStream(chunks, self.max_epochs)
        first = stream.first()
        X, y, w = unpack_chunk(first, 0)
        try:
            X, y_enc, w = self._check_rows(
                X, y, w, reset=True, classes=classes, chunk=True
            )
        except ValueError as exc:
            raise type(exc)(f"Chunk 0: {exc}") from exc
        rows, w = compact_rows(X, [y_enc], w)
        if len(rows) == 0:
            raise ValueError(
                "The first chunk has only zero sample weights; its rows fix the "
                "weight and target scales, so it needs a row with a non-zero weight."
            )
        self._weight_scale = robust_mean(w)
        self._prepare_targets({"y": y_enc[rows]}, w, reset=True)
        n_rows = len(rows)
        del first, X, y, y_enc, w  # later passes read the first chunk again
        device = self._fit_device(reset=True)

        def convert(raw, position, name=None, squares=False):
            X, y, w = unpack_chunk(raw, position)
            try:
                X, y_enc, w = self._check_rows(X, y, w, reset=False, chunk=True)
                columns = {"y": y_enc, **self._chunk_columns(raw, X.shape[0])}
            except ValueError as exc:
                name = f"Chunk {position}" if name is None else name
                raise ValueError(f"{name}: {exc}") from exc
            # the loss terms' rows keep the merged rows' squared weights for
            # their statistics
            rows, w, *squared = compact_rows(
                X, list(columns.values()), w, squares=squares
            )
            if len(rows) == 0:
                return None
            columns = {k: c[rows] for k, c in columns.items()}
            return self._tensor_data(
                X,
                columns,
                w,
                device,
                rows=rows,
                squared_weight=squared[0] if squared else None,
            )

        stream.convert = convert
        loss_terms = list(loss_terms or [])
        if loss_terms:
            held = (
                None
                if term_rows is None
                else convert(
                    term_rows,
                    "term_rows",
                    "The rows sampled from the chunks for the loss terms' setup",
                    squares=True,
                )
            )
            if held is None:
                raise ValueError("Chunked loss terms need rows to set up on.")
            for term in loss_terms:
                missing = [k for k in term.requires if k not in held.tensors]
                if missing:
                    raise ValueError(
                        f"{type(term).__name__} needs {missing} but the chunks "
                        "do not carry them."
                    )
            term_data = TrainingRows(
                held, {"n_outputs": self._n_outputs(), **(term_data or {})}
            )
        seed, _ = self._draw_seeds(incremental=False, reset=True)
        return self._train(
            (stream, None),
            self.n_features_in_,
            seed,
            device,
            warm=self.warm_start,
            loss_terms=loss_terms,
            term_data=term_data,
            n_rows=n_rows,
        )

    def _chunk_columns(self, chunk, n_samples):
        """The per-row loss-term columns a dict chunk carries, checked."""
        columns = chunk_columns(chunk)
        if "sensitive_features" in columns:
            codes = np.asarray(columns["sensitive_features"])
            if codes.shape != (n_samples,) or codes.dtype.kind not in "iu":
                raise ValueError(
                    "a chunk's sensitive_features must be integer group codes, "
                    f"one per row; got dtype {codes.dtype} and shape {codes.shape}."
                )
            columns["sensitive_features"] = codes.astype(np.int64, copy=False)
        if "soft_targets" in columns:
            columns["soft_targets"] = self._check_soft_targets(
                columns["soft_targets"], n_samples
            )
        return columns

    def _validation_rows(self, y_enc, split_seed):
        """The rows held out for early stopping (stratified when it can be)."""
        index = np.arange(len(y_enc))
        try:
            _, valid_rows = train_test_split(
                index,
                test_size=self.validation_fraction,
                random_state=split_seed,
                stratify=self._stratify(y_enc),
            )
        except ValueError:
            _, valid_rows = train_test_split(
                index, test_size=self.validation_fraction, random_state=split_seed
            )
        return valid_rows

    def _draw_seeds(self, incremental, reset):
        """Seeds of one fit; successive partial fits draw from one stream."""
        if not incremental:
            random_state = check_random_state(self.random_state)
        else:
            # the first call draws what fit would, so with an int seed it
            # equals fit(max_epochs=1); later calls continue the same stream
            if reset or not hasattr(self, "_partial_fit_rng"):
                self._partial_fit_rng = check_random_state(self.random_state)
            random_state = self._partial_fit_rng
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        split_seed = int(random_state.randint(np.iinfo(np.int32).max))
        return seed, split_seed

    def _privacy_spec(self):
        """The validated DPSGD of this fit, or None."""
        return None if self.privacy is None else self.privacy.check()

    def _fit_device(self, reset):
        if not reset and hasattr(self, "device_"):
            return self.device_
        return resolve_device(self.device)

    def _train(
        self,
        data,
        n_features,
        seed,
        device,
        *,
        warm,
        loss_terms=(),
        term_data=None,
        epochs=None,
        n_rows,
        privacy=None,
        sampling_weights=None,
    ):
        """Run the one training loop on ``data`` = (train, valid)."""
        generator = torch.Generator().manual_seed(seed)
        warm = warm and hasattr(self, "net_")
        ledger = private = None
        if privacy is not None:
            ledger = privacy_ledger_for(
                self,
                privacy,
                warm,
                n_rows,
                self.max_epochs if epochs is None else epochs,
            )
            private = PrivateTraining(
                ledger,
                privacy.max_grad_norm,
                self.batch_size,
                noise_seed(seed),
                sampling_weights,
            )
        with torch.random.fork_rng(devices=rng_devices(device)):
            torch.manual_seed(seed)
            if warm:
                net = self.net_
                net.loss_terms = loss_terms
                net.generator = generator
                net.set_params(max_epochs=self.max_epochs, lr=self.lr)
            else:
                net = self._build_net(
                    n_features, self._n_outputs(), device, generator, loss_terms
                )
                net.initialize()
            if private is not None:
                private.check_module(net.module_)
            net.private = private
            if loss_terms:
                if isinstance(data[0], TensorData):  # else set up by _fit_chunks
                    term_data = TrainingRows(data[0], term_data)
                for term in loss_terms:
                    term.setup(net, term_data)
            try:
                with threads_for(net.module_, self.batch_size, n_rows, device):
                    net.partial_fit(data, None, epochs=epochs)
            except BaseException:
                if warm and ledger is not None:
                    # the network kept the failed fit's steps: its epsilon_
                    # says what they spent
                    record_privacy(self, ledger)
                raise
        if private is None and len(net.history) and "train_loss" in net.history[-1]:
            check_divergence(
                net._initial_loss,
                net.history[-1, "train_loss"],
                len(net.history),
                self.lr,
                type(self).__name__,
            )
        net.loss_terms = ()
        net.private = None
        record_privacy(self, ledger)
        self.net_ = net
        self.history_ = history_frame(net.history)
        self.n_iter_ = len(net.history)
        self.device_ = device
        return self

    def _stratify(self, y_enc):
        return None

    def _prepare_targets(self, columns, sample_weight, reset, private=False):
        pass

    def _tensor_data(
        self,
        X,
        columns,
        sample_weight,
        device,
        rows=None,
        scale=None,
        squared_weight=None,
    ):
        """The loop's tensors of some rows; the weights are divided by
        ``scale`` (default: the fit's weight scale), None weights are 1.
        ``squared_weight``: the merged rows' summed squared weights (divided
        by ``scale ** 2``), kept as ``"sample_weight_squares"`` for the loss
        terms' statistics; None when no rows merged."""
        scale = self._weight_scale if scale is None else scale
        n_rows = len(columns["y"])
        if sample_weight is None and scale == 1.0:
            weight = torch.ones(n_rows, dtype=torch.float32, device=device)
        else:
            weight = torch.from_numpy(
                scaled_weights(_ones_if_none(sample_weight, n_rows), scale)
            ).to(device)
        tensors = {
            "y": self._target_tensor(columns["y"], device),
            "sample_weight": weight,
        }
        if "sensitive_features" in columns:
            # the smallest integer dtype: the batches widen it to int64
            tensors["sensitive_features"] = torch.as_tensor(
                _narrow(columns["sensitive_features"]), device=device
            )
        if "soft_targets" in columns:
            tensors["soft_targets"] = self._soft_target_tensor(
                columns["soft_targets"], device
            )
        if squared_weight is not None:
            tensors["sample_weight_squares"] = torch.from_numpy(
                squared_weight / (scale * scale)
            ).to(device)
        return TensorData(X, tensors, device, rows=rows)

    # --- predict --------------------------------------------------------
    def _raw_outputs(self, X):
        """Module outputs in float64, row-independent (chunk sizes do not matter)."""
        check_is_fitted(self, "net_")
        X = self._validate_X(X, reset=False)
        module = self.net_.module_
        device = self.device_
        was_training = module.training
        module.eval()
        params = {
            name: p.detach().double()
            for name, p in list(module.named_parameters())
            + list(module.named_buffers())
            if p.is_floating_point()
        }
        out = np.empty((X.shape[0], self._n_outputs()))
        chunk = _predict_chunk(module, X.shape[1])
        with torch.no_grad():
            for start in range(0, X.shape[0], chunk):
                stop = start + chunk
                Xb = to_tensor(X[start:stop], device, torch.float64)
                out[start:stop] = (
                    torch.func.functional_call(module, params, (Xb,)).cpu().numpy()
                )
        module.train(was_training)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
