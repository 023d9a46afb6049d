"""The tensors of the one training loop (``nets._data``): X used in place,
gathered block by block, and the training rows a loss term receives."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import sklfair.nets._data as data_module
from sklfair.nets._compact import compact_rows
from sklfair.nets._data import TensorData, TrainingRows


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 3, size=(400, 3)).astype(np.float32)  # many duplicates
    y = rng.integers(0, 2, size=400)
    w = rng.integers(0, 4, size=400).astype(float)
    return X, y, w


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_tensor_uses_the_callers_rows_in_place(rows, dtype):
    X, y, w = rows
    X = np.ascontiguousarray(X, dtype=dtype)
    kept, _ = compact_rows(X, [y], w)
    data = TensorData(X, {"y": torch.as_tensor(y[kept])}, "cpu", rows=kept)
    assert data.X.data_ptr() == X.ctypes.data  # no copy of X, float64 included
    expected = X[kept].astype(np.float32)
    batch = data.batch(torch.arange(5))
    assert batch["X"].dtype == torch.float32
    np.testing.assert_array_equal(batch["X"].numpy(), expected[:5])
    epoch = next(data.batches(torch.arange(len(kept)), len(kept)))
    np.testing.assert_array_equal(epoch["X"].numpy(), expected)
    np.testing.assert_array_equal(data.features().numpy(), expected)


def test_a_read_only_array_is_used_in_place():
    X = np.arange(12.0).reshape(6, 2)
    X.flags.writeable = False
    data = TensorData(X, {}, "cpu")
    assert data.X.data_ptr() == X.ctypes.data
    np.testing.assert_array_equal(data.features().numpy(), X)


@pytest.mark.parametrize("sparse", [False, True])
def test_blocks_of_batches_equal_batches_gathered_one_by_one(monkeypatch, sparse):
    """Gathering a block of batches at once changes nothing in the batches,
    the last, shorter batch included (dense and a sparse X kept sparse)."""
    monkeypatch.setattr(data_module, "_BLOCK_BYTES", 6 * 5 * 4)  # 6 rows of 5
    if sparse:
        monkeypatch.setattr(data_module, "_DENSIFY_LIMIT_BYTES", 0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(23, 5)).astype(np.float32)
    X[X < 0] = 0
    rows = rng.permutation(23)[:19]
    tensors = {"y": torch.arange(19), "sample_weight": torch.rand(19)}
    data = TensorData(sp.csr_array(X) if sparse else X, tensors, "cpu", rows=rows)
    assert isinstance(data.X, torch.Tensor) is not sparse
    assert data.block_rows(3) == 6
    perm = torch.randperm(19, generator=torch.Generator().manual_seed(0))
    batches = list(data.batches(perm, 3))
    assert [len(b["index"]) for b in batches] == [3] * 6 + [1]
    for k, batch in enumerate(batches):
        index = perm[3 * k : 3 * k + 3]
        expected = data.batch(index)
        np.testing.assert_array_equal(
            batch["X"].numpy(), X[rows[index.numpy()]].astype("f4")
        )
        for key in ("index", "y", "sample_weight"):
            torch.testing.assert_close(batch[key], expected[key], rtol=0, atol=0)


def test_training_rows_hand_the_loop_tensors_and_gather_on_demand(rows):
    X, y, w = rows
    kept, merged = compact_rows(X, [y], w)
    weight = torch.as_tensor(merged / merged.mean(), dtype=torch.float32)
    data = TensorData(
        X.astype(np.float64),
        {"y": torch.as_tensor(y[kept]), "sample_weight": weight},
        "cpu",
        rows=kept,
    )
    term_data = TrainingRows(data, {"n_groups": 0, "n_outputs": 2})
    assert list(term_data) == ["X", "y", "sample_weight", "n_groups", "n_outputs"]
    assert term_data["sample_weight"] is weight  # the loop's own tensor
    assert term_data["n_outputs"] == 2
    index = torch.tensor([4, 0, 7])
    np.testing.assert_array_equal(term_data.features(index).numpy(), X[kept[[4, 0, 7]]])
    np.testing.assert_array_equal(term_data["X"].numpy(), X[kept])
    assert term_data["X"].dtype == torch.float32


def test_codes_and_positions_are_held_narrow_and_batches_see_int64(rows):
    # issue 22: the loop's per-row tensors were int64 (8 bytes a row each);
    # codes are now held in the smallest integer dtype, row positions in
    # int32, and batches (and a term's reads) widen them to int64 as before
    X, y, w = rows
    kept, merged = compact_rows(X, [y], w)
    tensors = {
        "y": torch.as_tensor(y[kept].astype(np.int8)),
        "sample_weight": torch.as_tensor(merged, dtype=torch.float32),
        "sensitive_features": torch.as_tensor((X[kept, 0] > 0).astype(np.int8)),
    }
    data = TensorData(X, tensors, "cpu", rows=kept)
    assert data.rows.dtype == torch.int32
    index = torch.randperm(len(kept), dtype=torch.int32)[:7]
    batch = data.batch(index)
    for key in ("index", "y", "sensitive_features"):
        assert batch[key].dtype == torch.int64
    np.testing.assert_array_equal(batch["index"].numpy(), index.numpy())
    np.testing.assert_array_equal(batch["y"].numpy(), y[kept][index.numpy()])
    np.testing.assert_array_equal(batch["X"].numpy(), X[kept[index.numpy()]])
    term_data = TrainingRows(data, {"n_groups": 2, "n_outputs": 2})
    assert term_data["y"].dtype == torch.int64
    np.testing.assert_array_equal(term_data["y"].numpy(), y[kept])
    assert term_data["sample_weight"] is tensors["sample_weight"]
    picked = torch.tensor([3, 0])
    taken = term_data.take("sensitive_features", picked)
    assert taken.dtype == torch.int64 and taken.untyped_storage().nbytes() == 16
    np.testing.assert_array_equal(taken.numpy(), (X[kept[[3, 0]], 0] > 0))


class _Recorder:
    """A loss term that keeps the loop's tensors it was set up with."""

    requires = ("sensitive_features",)

    def setup(self, net, data):
        self.tensors = dict(data._data.tensors)
        self.rows = data._data.rows

    def __call__(self, loss, outputs, batch):
        self.dtypes = {k: v.dtype for k, v in batch.items() if k != "sample_loss"}
        return loss

    def after_step(self, net, outputs, batch):
        pass

    def epoch_summary(self):
        return {}

    def on_train_end(self, net):
        pass


def test_a_fit_holds_ten_bytes_per_row_of_training_tensors():
    # issue 22: the targets, group codes and row positions of a fit took 8
    # bytes a row each (with the 4 of the weights, 28); now 1 + 1 + 4 + 4
    from sklfair.nets import TabularNetClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    y = rng.choice(["no", "yes"], size=2000)
    groups = rng.integers(0, 3, size=2000)  # int64, as a user passes them
    term = _Recorder()
    TabularNetClassifier(hidden_units=(4,), max_epochs=1, random_state=0).fit(
        X, y, sensitive_features=groups, loss_terms=[term]
    )
    held = [*term.tensors.values(), term.rows]
    per_row = sum(t.element_size() for t in held)
    assert per_row == 10
    assert term.dtypes["y"] == term.dtypes["sensitive_features"] == torch.int64
    assert term.dtypes["index"] == torch.int64
