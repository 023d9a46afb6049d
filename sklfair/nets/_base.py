"""Shared machinery of the public tabular nets (sklearn side of the wrapper).

:class:`BaseTabularNet` is a ``BaseEstimator`` with explicit hyperparameters.
``fit`` validates the data, builds a :class:`~sklfair.nets._training.TrainingNet`
(the one training loop) and keeps it as ``net_``. Subclasses only say how the
target is encoded, which per-sample loss is used and how raw outputs become
predictions.

With ``privacy=DPSGD(...)`` a fit trains with DP-SGD
(:mod:`sklfair.nets._private`) and keeps the network's privacy ledger, so
later ``partial_fit`` and warm-started fits compose with what was spent.
Everything a private fit would read outside DP-SGD is refused here with a
:class:`~sklfair.exceptions.PrivacyGuaranteeError` naming why.

Pickling stores the trained parameters as numpy arrays, not torch objects, so
a model fitted on a GPU loads and predicts on a CPU-only machine and
``skops.io`` can persist it; the optimizer state is not kept (a ``warm_start``
fit after loading starts a fresh optimizer).
"""

from __future__ import annotations

import contextlib
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
from skorch.callbacks import EarlyStopping
from skorch.history import History

from .._sensitive import check_sensitive_features, encode_groups
from ..exceptions import PrivacyGuaranteeError, PrivacyWarning
from ..privacy._dpsgd import DPSGD, PrivacyLedger
from ._chunks import ChunkStream, chunk_columns, unpack_chunk
from ._data import TensorData, check_numeric_frame, compact_rows, to_tensor
from ._modules import ACTIVATIONS, MLP, MONOTONE_ACTIVATIONS, MonotoneMLP
from ._monotone import check_monotonic_cst
from ._private import PrivateTraining
from ._training import TrainingNet, history_frame

__all__ = ["BaseTabularNet"]

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}

_PREDICT_CHUNK = 65536


def resolve_device(device):
    """``"auto"`` -> CUDA when available, else CPU; CUDA requested but absent -> CPU."""
    if device == "auto" or device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        return "cpu"
    return str(device)


def _optimizer_kwargs(optimizer_cls, device):
    """Fused optimizer kernels where torch has them (less per-step overhead)."""
    if optimizer_cls not in (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD):
        return {}
    probe = torch.zeros(1, device=device, requires_grad=True)
    try:
        optimizer_cls([probe], lr=0.1, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return {"foreach": False}
    return {"fused": True}


def _encode_groups(sensitive_features, n_samples):
    """Integer codes (sorted label order) and labels of per-row group labels."""
    groups = check_sensitive_features(
        sensitive_features, n_samples, max_groups=None, min_groups=1
    )
    return encode_groups(groups)


class BaseTabularNet(BaseEstimator):
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

    def _monotone_module_kwargs(self):
        """``MonotoneMLP`` and its arguments, or None without constraints."""
        if self.monotonic_cst is None:
            return None
        cst = check_monotonic_cst(self, self.monotonic_cst)
        if not cst.any():
            return None
        name = type(self).__name__
        if self.module is not None:
            raise ValueError(
                f"{name}: monotonic_cst applies to the built-in network; with "
                "a custom module, build the constraints into the module and "
                "leave monotonic_cst=None."
            )
        if self.batch_norm:
            raise ValueError(
                f"{name}: batch_norm=True cannot be combined with "
                "monotonic_cst (a batch-norm scale may be negative, which "
                "would reverse a constraint); set batch_norm=False."
            )
        if self.activation not in MONOTONE_ACTIVATIONS:
            raise ValueError(
                f"{name}: monotonic_cst needs an activation that never "
                f"decreases, one of {list(MONOTONE_ACTIVATIONS)}; got "
                f"{self.activation!r}."
            )
        return MonotoneMLP, dict(
            monotonic_cst=cst.tolist(),
            hidden_units=tuple(int(u) for u in self.hidden_units),
            activation=self.activation,
            dropout=self.dropout,
            binary=self._monotone_binary(),
        )

    def _build_module_kwargs(self):
        monotone = self._monotone_module_kwargs()
        if monotone is not None:
            return monotone
        if self.module is None:
            return MLP, dict(
                hidden_units=tuple(int(u) for u in self.hidden_units),
                activation=self.activation,
                dropout=self.dropout,
                batch_norm=self.batch_norm,
            )
        return self.module, dict(self.module_params or {})

    def _build_net(self, n_features, n_outputs, device, generator, loss_terms):
        module_cls, module_kwargs = self._build_module_kwargs()
        optimizer_cls = (
            OPTIMIZERS[self.optimizer]
            if isinstance(self.optimizer, str)
            else self.optimizer
        )
        optimizer_kwargs = {
            f"optimizer__{k}": v
            for k, v in _optimizer_kwargs(optimizer_cls, device).items()
        }
        if self.weight_decay:
            optimizer_kwargs["optimizer__weight_decay"] = self.weight_decay
        callbacks = list(self.callbacks or [])
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        threshold=0.0,
                        load_best=True,
                        sink=print if self.verbose else (lambda *a, **k: None),
                    ),
                )
            )
        module_kwargs = {f"module__{k}": v for k, v in module_kwargs.items()}
        return TrainingNet(
            module=module_cls,
            module__n_features=n_features,
            module__n_outputs=n_outputs,
            **module_kwargs,
            criterion=torch.nn.Identity,
            optimizer=optimizer_cls,
            lr=self.lr,
            **optimizer_kwargs,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            callbacks=callbacks or None,
            verbose=int(self.verbose),
            device=device,
            warm_start=True,
            loss_terms=loss_terms,
            sample_loss=self._sample_loss(),
            generator=generator,
        )

    # --- fit ------------------------------------------------------------
    def _check_rows(self, X, y, sample_weight, reset, classes=None, chunk=False):
        """Validated ``X``, encoded target and float64 weights of some rows.

        A chunk of a larger data set may have only zero weights; a fit may not.
        """
        X, y = self._validate_X(X, reset=reset, y=y)
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
        else:
            sample_weight = np.ones(X.shape[0], dtype=np.float64)
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
            codes, labels = _encode_groups(sensitive_features, n_samples)
            columns["sensitive_features"] = codes
        else:
            labels = None
        if soft_targets is not None:
            columns["soft_targets"] = self._check_soft_targets(soft_targets, n_samples)
        loss_terms = list(loss_terms or [])
        if spec is not None:
            _check_private_terms(loss_terms, soft_targets)
            sample_weight = _private_weights(spec, weighted, sample_weight)
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
            index = np.arange(n_samples)
            stratify = self._stratify(y_enc)
            try:
                train_rows, valid_rows = train_test_split(
                    index,
                    test_size=self.validation_fraction,
                    random_state=split_seed,
                    stratify=stratify,
                )
            except ValueError:
                train_rows, valid_rows = train_test_split(
                    index, test_size=self.validation_fraction, random_state=split_seed
                )
        else:
            train_rows = slice(None)

        X_tr = X[train_rows]
        cols_tr = {k: c[train_rows] for k, c in columns.items()}
        if spec is None:
            rows, w_tr = compact_rows(
                X_tr, list(cols_tr.values()), sample_weight[train_rows]
            )
        else:  # one row, one record: DP-SGD samples and clips rows one by one
            w_tr = sample_weight[train_rows]
            rows = np.flatnonzero(w_tr > 0)
            w_tr = w_tr[rows]
            # the weights become the rows' sampling rates (PrivateTraining);
            # every sampled row's loss counts once
            sampling_weights, w_tr = w_tr, np.ones_like(w_tr)
        if len(rows) == 0:
            raise ValueError(
                "All sample weights are zero: at least one training row needs a "
                "non-zero weight."
            )
        cols_tr = {k: c[rows] for k, c in cols_tr.items()}
        if reset or not hasattr(self, "_weight_scale"):
            self._weight_scale = w_tr.mean()
        self._prepare_targets(cols_tr, w_tr, reset=reset, private=spec is not None)

        device = self._fit_device(reset)
        train = self._tensor_data(
            X_tr, cols_tr, w_tr / self._weight_scale, device, rows=rows
        )
        valid = None
        if valid_rows is not None:
            w_va = sample_weight[valid_rows]
            valid = self._tensor_data(
                X[valid_rows],
                {k: c[valid_rows] for k, c in columns.items()},
                w_va / max(w_va.mean(), 1e-12),
                device,
            )
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
        X, y_enc, w = self._check_rows(X, y, w, reset=True, classes=classes, chunk=True)
        rows, w = compact_rows(X, [y_enc], w)
        if len(rows) == 0:
            raise ValueError(
                "The first chunk has only zero sample weights; its rows fix the "
                "weight and target scales, so it needs a row with a non-zero weight."
            )
        self._weight_scale = w.mean()
        self._prepare_targets({"y": y_enc[rows]}, w, reset=True)
        n_rows = len(rows)
        del first, X, y, y_enc, w  # later passes read the first chunk again
        device = self._fit_device(reset=True)

        def convert(raw, position):
            X, y, w = unpack_chunk(raw, position)
            try:
                X, y_enc, w = self._check_rows(X, y, w, reset=False, chunk=True)
                columns = {"y": y_enc, **self._chunk_columns(raw, X.shape[0])}
            except ValueError as exc:
                raise ValueError(f"Chunk {position}: {exc}") from exc
            rows, w = compact_rows(X, list(columns.values()), w)
            if len(rows) == 0:
                return None
            columns = {k: c[rows] for k, c in columns.items()}
            return self._tensor_data(
                X, columns, w / self._weight_scale, device, rows=rows
            )

        stream.convert = convert
        loss_terms = list(loss_terms or [])
        if loss_terms:
            held = convert(term_rows, "term_rows") if term_rows is not None else None
            if held is None:
                raise ValueError("Chunked loss terms need rows to set up on.")
            for term in loss_terms:
                missing = [k for k in term.requires if k not in held.tensors]
                if missing:
                    raise ValueError(
                        f"{type(term).__name__} needs {missing} but the chunks "
                        "do not carry them."
                    )
            term_data = {
                **held.full(),
                "n_outputs": self._n_outputs(),
                **(term_data or {}),
            }
            del held
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

    def _privacy_ledger_for(self, spec, warm, n_rows, epochs):
        """The ledger this fit spends from, after checking it has room.

        A fit from scratch opens a new ledger (noise calibrated for
        ``max_epochs`` epochs of ``n_rows``); continued training (warm start,
        later ``partial_fit`` calls) spends from the network's ledger.
        """
        if not warm:
            ledger = PrivacyLedger(spec, n_rows, self.batch_size, self.max_epochs)
        else:
            ledger = getattr(self, "_privacy_ledger", None)
            if ledger is None:
                raise PrivacyGuaranteeError(
                    "This network was trained without privacy: its weights "
                    "already depend on its training rows, and continuing with "
                    "DP-SGD cannot undo that. Fit from scratch (warm_start=False, "
                    "or a fresh estimator for partial_fit)."
                )
            ledger.target_epsilon = float(spec.target_epsilon)
        ledger.plan(n_rows, self.batch_size, epochs)
        return ledger

    def _record_privacy(self, ledger):
        """Set (or, for a fit without privacy, drop) the privacy attributes."""
        if ledger is None:
            for name in ("_privacy_ledger", "epsilon_", "delta_", "noise_multiplier_"):
                self.__dict__.pop(name, None)
            return
        self._privacy_ledger = ledger
        self.epsilon_ = ledger.epsilon
        self.delta_ = ledger.delta
        self.noise_multiplier_ = ledger.noise_multiplier

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
            ledger = self._privacy_ledger_for(
                privacy, warm, n_rows, self.max_epochs if epochs is None else epochs
            )
            private = PrivateTraining(
                ledger,
                privacy.max_grad_norm,
                self.batch_size,
                _noise_seed(seed),
                sampling_weights,
            )
        with torch.random.fork_rng(devices=_rng_devices(device)):
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
                    term_data = {**data[0].full(), **(term_data or {})}
                for term in loss_terms:
                    term.setup(net, term_data)
            with _threads_for(net.module_, self.batch_size, n_rows, device):
                net.partial_fit(data, None, epochs=epochs)
        net.loss_terms = ()
        net.private = None
        self._record_privacy(ledger)
        self.net_ = net
        self.history_ = history_frame(net.history)
        self.n_iter_ = len(net.history)
        self.device_ = device
        return self

    def _stratify(self, y_enc):
        return None

    def _prepare_targets(self, columns, sample_weight, reset, private=False):
        pass

    def _tensor_data(self, X, columns, sample_weight, device, rows=None):
        tensors = {
            "y": self._target_tensor(columns["y"], device),
            "sample_weight": torch.as_tensor(
                sample_weight, dtype=torch.float32, device=device
            ),
        }
        if "sensitive_features" in columns:
            tensors["sensitive_features"] = torch.as_tensor(
                columns["sensitive_features"], dtype=torch.int64, device=device
            )
        if "soft_targets" in columns:
            tensors["soft_targets"] = self._soft_target_tensor(
                columns["soft_targets"], device
            )
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
        outs = []
        with torch.no_grad():
            for start in range(0, X.shape[0], _PREDICT_CHUNK):
                Xb = to_tensor(X[start : start + _PREDICT_CHUNK], device, torch.float64)
                outs.append(
                    torch.func.functional_call(module, params, (Xb,)).cpu().numpy()
                )
        module.train(was_training)
        if not outs:
            return np.zeros((0, self._n_outputs()))
        return np.concatenate(outs).astype(np.float64, copy=False)

    # --- persistence ----------------------------------------------------
    def __getstate__(self):
        # a copy: object.__getstate__ returns the live __dict__
        state = dict(super().__getstate__())
        net = state.pop("net_", None)
        if net is not None:
            state.pop("history_", None)
            state["_net_state"] = {
                "module": {
                    k: v.detach().cpu().numpy()
                    for k, v in net.module_.state_dict().items()
                },
                "history": [dict(epoch) for epoch in net.history],
            }
        return state

    def __setstate__(self, state):
        net_state = state.pop("_net_state", None)
        super().__setstate__(state)
        if net_state is None:
            return
        device = resolve_device(self.device)
        net = self._build_net(
            self.n_features_in_, self._n_outputs(), device, torch.Generator(), ()
        )
        with torch.random.fork_rng(devices=_rng_devices(device)):
            net.initialize()
        net.module_.load_state_dict(
            {k: torch.as_tensor(v) for k, v in net_state["module"].items()}
        )
        net.history = History(net_state["history"])
        self.net_ = net
        self.history_ = history_frame(net.history)
        self.device_ = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


# Below this many multiply-adds per training step, intra-op threads cost more
# in synchronisation than they save (benchmarks/bench_nets.py measures it).
_SMALL_STEP_MACS = 2**24


@contextlib.contextmanager
def _threads_for(module, batch_size, n_samples, device):
    """Run small CPU training steps single-threaded; restore torch's setting."""
    macs = sum(
        m.in_features * m.out_features
        for m in module.modules()
        if isinstance(m, torch.nn.Linear)
    ) * min(batch_size or n_samples, n_samples)
    previous = torch.get_num_threads()
    small = str(device) == "cpu" and 0 < macs < _SMALL_STEP_MACS
    if small and previous > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def _noise_seed(seed):
    """The seed of a private fit's noise, derived from (not equal to) the fit's."""
    return int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])


def _check_private_terms(loss_terms, soft_targets):
    """Refuse loss terms DP-SGD cannot cover; say what soft targets leave out."""
    for term in loss_terms:
        if "sensitive_features" in getattr(term, "requires", ()):
            raise PrivacyGuaranteeError(
                f"A private fit cannot take {type(term).__name__}: a fairness "
                "loss term reads group rates over each batch (and a Lagrangian "
                "reads the whole training set between steps), so one row moves "
                "every other row's gradient and DP-SGD's per-row clipping no "
                "longer bounds its influence. For private and fair training, "
                "reweigh from noisy counts (sklfair.privacy."
                "noisy_fair_sample_weight with DPSGD(accept_weights=True)), or "
                "post-process the private net's scores with thresholds fitted on "
                "rows outside its training set."
            )
    if soft_targets is not None:
        warnings.warn(
            "soft_targets come from outside this private fit: epsilon_ covers "
            "the net's own training given them. If the teacher was fitted on "
            "these rows without privacy, the soft targets carry those rows' data "
            "and the student is not private; it is when the teacher was fitted "
            "on other data, or privately (the two epsilons then add up).",
            PrivacyWarning,
            stacklevel=4,
        )


def _private_weights(spec, weighted, sample_weight):
    """The weights a private fit samples rows by, or an error naming the risk."""
    if not weighted:
        return sample_weight
    if np.all(sample_weight == sample_weight[0]):
        return np.ones_like(sample_weight)  # equal weights: an unweighted fit
    if spec.accept_weights:
        if sample_weight.max() > 1:
            raise PrivacyGuaranteeError(
                "In a private fit a row's weight is the share of batches it may "
                "join (its gradient is clipped, then counted whole), so weights "
                f"must be at most 1; the largest is {sample_weight.max():g}. "
                "Divide them by a bound fixed without looking at the data "
                "(noisy_fair_sample_weight's are at most 1 already)."
            )
        return sample_weight
    raise PrivacyGuaranteeError(
        "A private fit was given unequal sample_weight. Weights computed from "
        "the whole data set (class balancing, ReweighingClassifier's group x "
        "label counts) let one row change every other row's weight, which "
        "DP-SGD's per-row clipping does not bound. If each row's weight depends "
        "on that row alone, or on statistics released under their own budget "
        "(sklfair.privacy.noisy_fair_sample_weight), say so with "
        "DPSGD(accept_weights=True)."
    )


def _rng_devices(device):
    if str(device).startswith("cuda"):
        index = torch.device(device).index
        return [torch.cuda.current_device() if index is None else index]
    return []
