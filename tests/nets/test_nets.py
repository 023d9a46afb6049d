"""Behaviour of TabularNetClassifier and TabularNetRegressor beyond sklearn's checks."""

import io
import pickle
import signal

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

from sklfair.nets import (
    LossTerm,
    NonFiniteLossError,
    TabularNetClassifier,
    TabularNetRegressor,
)


@pytest.fixture(scope="module")
def binary():
    return make_classification(n_samples=300, n_features=8, random_state=0)


def small(**params):
    return TabularNetClassifier(
        **{"hidden_units": (16,), "max_epochs": 10, "random_state": 0, **params}
    )


# --- input -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int8, bool])
def test_any_numeric_dtype(binary, dtype):
    X, y = binary
    Xd = (X > 0) if dtype is bool else (X * 10).astype(dtype)
    proba = small().fit(Xd, y).predict_proba(Xd)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


def test_dataframe_sets_feature_names(binary):
    X, y = binary
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = small().fit(df, y)
    assert list(clf.feature_names_in_) == list(df.columns)
    np.testing.assert_array_equal(clf.predict(df), small().fit(X, y).predict(X))


def test_object_columns_name_the_encoder(binary):
    X, y = binary
    df = pd.DataFrame(X[:, :2], columns=["a", "b"]).assign(city="x")
    with pytest.raises(ValueError, match=r"'city'.*encoder"):
        small().fit(df, y)
    with pytest.raises(ValueError, match="encoder"):
        small().fit(np.array([["a", "b"]] * 20, dtype=object), [0, 1] * 10)


def test_sparse_input_trains_like_dense(binary):
    X, y = binary
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    dense = small(max_epochs=30).fit(X, y)
    sparse = small(max_epochs=30).fit(sp.csr_matrix(X), y)
    assert abs(dense.score(X, y) - sparse.score(sp.csr_matrix(X), y)) < 0.05
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), sparse.predict_proba(X), rtol=1e-10
    )


@pytest.mark.parametrize(
    "labels", [np.array(["bad", "good"]), np.array([False, True]), np.array([3, 7])]
)
def test_any_labels(binary, labels):
    X, y = binary
    clf = small().fit(X, labels[y])
    np.testing.assert_array_equal(clf.classes_, labels)
    assert set(clf.predict(X)) <= set(labels)


def test_multiclass():
    X, y = make_classification(
        n_samples=400, n_classes=3, n_informative=5, random_state=0
    )
    clf = small(max_epochs=40).fit(X, np.array(["a", "b", "c"])[y])
    assert clf.predict_proba(X).shape == (400, 3)
    assert clf.score(X, np.array(["a", "b", "c"])[y]) > 0.7


def test_single_class_is_an_error(binary):
    X, _ = binary
    with pytest.raises(ValueError, match="at least 2 classes"):
        small().fit(X, np.zeros(len(X)))


# --- sample weights ---------------------------------------------------------------
def test_integer_weights_equal_repeated_rows_with_minibatches(binary):
    X, y = binary
    w = np.random.RandomState(0).randint(0, 4, size=len(y))
    weighted = small(batch_size=32).fit(X, y, sample_weight=w)
    repeated = small(batch_size=32).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_array_equal(weighted.predict_proba(X), repeated.predict_proba(X))


def test_zero_weights_drop_rows(binary):
    X, y = binary
    w = np.ones(len(y))
    w[::3] = 0
    dropped = small().fit(X, y, sample_weight=w)
    removed = small().fit(X[w > 0], y[w > 0])
    np.testing.assert_array_equal(dropped.predict_proba(X), removed.predict_proba(X))


def test_weights_change_the_model(binary):
    X, y = binary
    w = np.where(y == 1, 10.0, 1.0)
    plain, weighted = small().fit(X, y), small().fit(X, y, sample_weight=w)
    assert weighted.predict(X).mean() > plain.predict(X).mean()


@pytest.mark.parametrize(
    "bad, match",
    [(-1.0, "(?i)negative"), (np.nan, "NaN|infinity"), (np.inf, "NaN|infinity")],
)
def test_bad_weights(binary, bad, match):
    X, y = binary
    w = np.ones(len(y))
    w[3] = bad
    with pytest.raises(ValueError, match=match):
        small().fit(X, y, sample_weight=w)


# --- determinism, persistence -------------------------------------------------------
def test_same_seed_same_predictions_and_global_rng_untouched(binary):
    X, y = binary
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = small(dropout=0.2).fit(X, y).predict_proba(X)
    after = torch.rand(1)
    b = small(dropout=0.2).fit(X, y).predict_proba(X)
    c = small(dropout=0.2, random_state=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert before == after


def test_predictions_do_not_depend_on_batching(binary):
    X, y = binary
    clf = small(batch_norm=True).fit(X, y)
    full = clf.predict_proba(X)
    np.testing.assert_allclose(
        np.vstack([clf.predict_proba(X[i : i + 7]) for i in range(0, len(X), 7)]),
        full,
        rtol=1e-12,
    )


@pytest.mark.parametrize("dumps", ["pickle", "joblib", "skops"])
def test_round_trips_give_identical_predictions(binary, dumps):
    X, y = binary
    clf = small(batch_norm=True).fit(X, y)
    if dumps == "pickle":
        loaded = pickle.loads(pickle.dumps(clf))
    elif dumps == "joblib":
        buffer = io.BytesIO()
        joblib.dump(clf, buffer)
        buffer.seek(0)
        loaded = joblib.load(buffer)
    else:
        import skops.io as sio

        data = sio.dumps(clf)
        loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert len(loaded.history_) == len(clf.history_)


def test_unavailable_cuda_falls_back_to_cpu(binary):
    X, y = binary
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    clf = small(device="cuda").fit(X, y)
    assert clf.device_ == "cpu"


# --- the training loop ------------------------------------------------------------
def test_warm_start_continues_training(binary):
    X, y = binary
    clf = small(warm_start=True).fit(X, y)
    first = clf.net_.history[-1, "train_loss"]
    clf.fit(X, y)
    assert len(clf.history_) == 20
    assert clf.net_.history[-1, "train_loss"] < first


@pytest.mark.parametrize("how", ["fit", "partial_fit", "fit_chunks"])
def test_ctrl_c_stops_the_fit(binary, how):
    """A real Ctrl-C (SIGINT) propagates (skorch alone would swallow it and
    return a half-trained model as if it had finished); the callbacks still
    hear of the end of training."""
    ended = []

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                signal.raise_signal(signal.SIGINT)

        def on_train_end(self, net, **kwargs):
            ended.append(len(net.history))

    X, y = binary
    clf = small(lr=1e-2, max_epochs=5, callbacks=[("stop", Interrupt())])
    with pytest.raises(KeyboardInterrupt):
        if how == "fit":
            clf.fit(X, y)
        elif how == "partial_fit":
            for _ in range(5):
                clf.partial_fit(X, y, classes=np.unique(y))
        else:
            clf.fit_chunks([(X[:100], y[:100]), (X[100:], y[100:])], classes=[0, 1])
    assert ended[-1] == 2  # (partial_fit: once per call)
    if how == "fit":
        assert not hasattr(clf, "net_")


def test_a_callbacks_stop_signal_still_ends_training(binary):
    """skorch's EarlyStopping stops training by raising KeyboardInterrupt from
    a callback: that is not a Ctrl-C, and the fit returns normally."""
    X, y = binary
    stop = EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)
    clf = small(max_epochs=50, callbacks=[("stop", stop)]).fit(X, y)
    assert clf.n_iter_ == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_non_finite_loss_names_the_epoch(binary):
    class Exploding(torch.nn.Module):
        def __init__(self, n_features, n_outputs):
            super().__init__()
            self.linear = torch.nn.Linear(n_features, n_outputs)

        def forward(self, X):
            return self.linear(X) * float("inf")

    X, y = binary
    clf = small(module=Exploding)
    with pytest.raises(NonFiniteLossError, match="epoch 1"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_custom_module_and_params(binary):
    class Linear(torch.nn.Module):
        def __init__(self, n_features, n_outputs, bias=True):
            super().__init__()
            self.linear = torch.nn.Linear(n_features, n_outputs, bias=bias)

        def forward(self, X):
            return self.linear(X)

    X, y = binary
    clf = small(module=Linear, module_params={"bias": False}, lr=1e-2, max_epochs=30)
    clf.fit(X, y)
    assert clf.net_.module_.linear.bias is None
    assert clf.score(X, y) > 0.8


def test_early_stopping_restores_the_best_epoch(binary):
    X, y = binary
    rng = np.random.RandomState(0)
    y_noisy = np.where(rng.rand(len(y)) < 0.3, 1 - y, y)
    clf = TabularNetClassifier(
        hidden_units=(256, 256),
        lr=1e-2,
        max_epochs=200,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X, y_noisy)
    valid = clf.history_["valid_loss"]
    assert clf.n_iter_ < 200
    assert len(valid) == clf.n_iter_


def test_skorch_callbacks_run(binary):
    class CountBatches(Callback):
        def initialize(self):
            self.count = 0
            return self

        def on_batch_end(self, net, **kwargs):
            self.count += 1

    X, y = binary
    counter = CountBatches()
    scheduler = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    clf = small(batch_size=100, callbacks=[("count", counter), ("lr", scheduler)]).fit(
        X, y
    )
    callbacks = dict(clf.net_.callbacks_)
    assert callbacks["count"].count == 10 * 3
    assert clf.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.5**10)


class _RecordingTerm(LossTerm):
    requires = ("sensitive_features", "soft_targets")

    def __init__(self, weight):
        self.weight = weight

    def setup(self, net, data):
        self.n_groups = data["n_groups"]
        self.keys = set()

    def __call__(self, loss, outputs, batch):
        self.keys |= set(batch)
        proba = outputs.softmax(dim=1)
        return loss + self.weight * ((proba - batch["soft_targets"]) ** 2).mean()

    def epoch_summary(self):
        return {"recorded": float(len(self.keys))}


def test_loss_terms_see_the_batch(binary):
    X, y = binary
    groups = np.where(X[:, 0] > 0, "a", "b")
    soft = np.tile([0.5, 0.5], (len(y), 1))
    term = _RecordingTerm(weight=100.0)
    clf = small(max_epochs=20).fit(
        X, y, sensitive_features=groups, soft_targets=soft, loss_terms=[term]
    )
    assert term.n_groups == 2
    assert {"X", "y", "sample_weight", "sample_loss", "sensitive_features"} <= term.keys
    assert clf.history_["recorded"].iloc[-1] >= 6
    plain = small(max_epochs=20).fit(X, y)
    # pulled towards the uniform soft targets
    assert (
        np.abs(clf.predict_proba(X) - 0.5).mean()
        < np.abs(plain.predict_proba(X) - 0.5).mean()
    )


def test_missing_term_inputs_are_an_error(binary):
    X, y = binary
    with pytest.raises(ValueError, match="needs"):
        small().fit(X, y, loss_terms=[_RecordingTerm(1.0)])


def test_unused_sensitive_features_warn(binary):
    X, y = binary
    with pytest.warns(UserWarning, match="no loss term"):
        small().fit(X, y, sensitive_features=X[:, 0] > 0)


def test_soft_target_shape_is_checked(binary):
    X, y = binary
    with pytest.raises(ValueError, match="soft_targets must have shape"):
        small().fit(
            X, y, soft_targets=np.ones((len(y), 3)), loss_terms=[_RecordingTerm(1.0)]
        )


# --- regressor -------------------------------------------------------------------
def test_regressor_is_scale_free_and_multi_output():
    X, y = make_regression(n_samples=300, n_features=6, noise=1.0, random_state=0)
    reg = TabularNetRegressor(max_epochs=60, lr=1e-2, random_state=0)
    small_scale = clone(reg).fit(X, y).predict(X)
    large_scale = clone(reg).fit(X, 1000 * y + 5).predict(X)
    # standardised targets: the same fit up to float rounding and row order
    gap = np.abs(large_scale - (1000 * small_scale + 5)).mean()
    assert gap < 0.05 * np.std(1000 * y)
    Y = np.column_stack([y, -2 * y])
    multi = clone(reg).fit(X, Y)
    assert multi.predict(X).shape == (300, 2)
    assert multi.score(X, Y) > 0.9


# --- memory (issue 22) ----------------------------------------------------------
def test_class_codes_are_not_copied_to_int64(traced_peak):
    # the meta-estimators pass one-byte class codes: coding them made an
    # int64 array of every row (8 times their size)
    codes = np.random.default_rng(0).integers(0, 3, 1_000_000).astype(np.int8)
    encoded, peak = traced_peak(small()._encode_target, codes, reset=True)
    assert encoded.dtype == np.int8
    np.testing.assert_array_equal(encoded, codes)
    assert peak < 2 * codes.nbytes  # np.unique's sorted copy, nothing more
    labels = np.array(["a", "b", "c"])[codes]
    encoded = small()._encode_target(labels, reset=True)
    assert encoded.dtype == np.int8
    np.testing.assert_array_equal(encoded, codes)


def test_group_codes_are_used_in_place(traced_peak):
    from sklfair.nets._base import _encode_groups

    codes = np.random.default_rng(0).integers(0, 3, 1_000_000).astype(np.int8)
    (encoded, labels), peak = traced_peak(_encode_groups, codes, len(codes))
    assert encoded is codes and labels.tolist() == [0, 1, 2]
    assert peak < 0.1 * codes.nbytes
    # codes of another dtype, and labels, come in the smallest dtype
    encoded, _ = _encode_groups(codes.astype(np.int64), len(codes))
    assert encoded.dtype == np.int8
    encoded, labels = _encode_groups(np.array(["x", "y", "x"]), 3)
    assert encoded.dtype == np.int8 and encoded.tolist() == [0, 1, 0]


def test_prediction_chunks_hold_a_megabyte_of_activations():
    # issue 22: a chunk's widest float64 activation took 4 MiB (three of
    # them alive in a forward pass), more than a claim's whole block of rows
    from sklfair.nets._base import _predict_chunk
    from sklfair.nets._modules import MLP

    module = MLP(n_features=20, n_outputs=2, hidden_units=(64, 64))
    assert _predict_chunk(module, 20) * 64 * 8 <= 2**20


@pytest.mark.parametrize("hidden_units", [(-3,), (0,), (3.5,), (True,), [[8, 8]]])
def test_hidden_units_that_are_no_widths_are_named(hidden_units):
    X = np.random.RandomState(0).randn(40, 3)
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="hidden_units must be widths"):
        TabularNetClassifier(hidden_units=hidden_units, max_epochs=1).fit(X, y)
