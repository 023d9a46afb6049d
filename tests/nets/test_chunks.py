"""Fits that never hold every row: ``partial_fit``, ``fit_chunks``, ParquetChunks."""

import gc
import weakref

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from sklfair.nets import ParquetChunks, TabularNetClassifier, TabularNetRegressor


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=3000, n_features=10, n_informative=6, random_state=0
    )
    return X, y


def _chunks(X, y, size, w=None):
    return [
        (X[i : i + size], y[i : i + size]) + (() if w is None else (w[i : i + size],))
        for i in range(0, len(y), size)
    ]


# --- partial_fit ---------------------------------------------------------
def test_first_partial_fit_equals_one_epoch_of_fit(data):
    X, y = data
    full = TabularNetClassifier(max_epochs=1, random_state=0).fit(X, y)
    part = TabularNetClassifier(max_epochs=9, random_state=0)
    part.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(full.predict_proba(X), part.predict_proba(X))
    assert part.n_iter_ == 1


def test_partial_fit_continues_the_optimizer(data):
    X, y = data
    clf = TabularNetClassifier(batch_size=100, random_state=0)
    for Xc, yc in _chunks(X, y, 500):
        clf.partial_fit(Xc, yc, classes=np.array([0, 1]))
    # one Adam step per batch, counted across the calls: the state is kept
    state = clf.net_.optimizer_.state_dict()["state"][0]
    assert int(state["step"]) == 30
    assert clf.n_iter_ == 6
    for _ in range(9):
        for Xc, yc in _chunks(X, y, 500):
            clf.partial_fit(Xc, yc)
    reference = TabularNetClassifier(max_epochs=10, random_state=0).fit(X, y)
    assert clf.score(X, y) >= reference.score(X, y) - 0.02


def test_partial_fit_after_fit_continues(data):
    X, y = data
    clf = TabularNetClassifier(max_epochs=2, random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    clf.partial_fit(X[:500], y[:500])
    assert clf.n_iter_ == 3
    assert not np.array_equal(before, clf.predict_proba(X))


def test_partial_fit_string_labels_and_a_chunk_without_every_class(data):
    X, y = data
    labels = np.array(["bad", "good"])[y]
    clf = TabularNetClassifier(random_state=0)
    only_good = labels == "good"
    clf.partial_fit(X[only_good], labels[only_good], classes=["bad", "good"])
    clf.partial_fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["bad", "good"])
    assert set(clf.predict(X)) <= {"bad", "good"}


@pytest.mark.parametrize(
    "first, second, match",
    [
        (dict(), None, "classes must be passed on the first call"),
        (dict(classes=[0, 1]), dict(classes=[0, 1, 2]), "not the same as the classes"),
        (dict(classes=[0]), None, "at least 2 classes"),
    ],
)
def test_partial_fit_class_errors(data, first, second, match):
    X, y = data
    clf = TabularNetClassifier()
    with pytest.raises(ValueError, match=match):
        clf.partial_fit(X, y, **first)
        clf.partial_fit(X, y, **second)


def test_partial_fit_rejects_new_labels_and_widths(data):
    X, y = data
    clf = TabularNetClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not seen before"):
        clf.partial_fit(X[:10], np.full(10, 2))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:10, :5], y[:10])


def test_regressor_partial_fit_keeps_the_first_target_scale():
    X, y = make_regression(n_samples=2000, n_features=5, noise=5.0, random_state=0)
    y = y * 1000 + 5e4  # targets far from unit scale
    reg = TabularNetRegressor(hidden_units=(32,), lr=1e-2, random_state=0)
    for _ in range(20):
        for Xc, yc in _chunks(X, y, 400):
            reg.partial_fit(Xc, yc)
    first = y[:400]
    np.testing.assert_allclose(reg._y_mean, [first.mean()])
    assert r2_score(y, reg.predict(X)) > 0.95 * r2_score(
        y, LinearRegression().fit(X, y).predict(X)
    )


# --- fit_chunks ------------------------------------------------------------
def test_one_chunk_equals_fit(data):
    X, y = data
    w = np.random.default_rng(0).integers(0, 3, len(y)).astype(float)
    ref = TabularNetClassifier(max_epochs=3, random_state=0).fit(X, y, w)
    got = TabularNetClassifier(max_epochs=3, random_state=0)
    got.fit_chunks([(X, y, w)], classes=[0, 1])
    np.testing.assert_array_equal(ref.predict_proba(X), got.predict_proba(X))
    assert got.n_iter_ == 3


def test_integer_weights_equal_repeated_rows_in_a_chunked_fit(data):
    X, y = data
    w = np.random.default_rng(1).integers(0, 3, len(y))
    rows = np.repeat(np.arange(len(y)), w)
    params = dict(max_epochs=2, random_state=0, batch_size=64)
    weighted = TabularNetClassifier(**params).fit_chunks(
        [(X[:1500], y[:1500], w[:1500]), (X[1500:], y[1500:], w[1500:])],
        classes=[0, 1],
    )
    first, second = rows[rows < 1500], rows[rows >= 1500]
    repeated = TabularNetClassifier(**params).fit_chunks(
        [(X[first], y[first]), (X[second], y[second])], classes=[0, 1]
    )
    np.testing.assert_array_equal(weighted.predict_proba(X), repeated.predict_proba(X))


def test_chunked_fit_learns_like_fit(data):
    X, y = data
    chunks = [dict(X=Xc, y=yc) for Xc, yc in _chunks(X, y, 500)]
    chunked = TabularNetClassifier(max_epochs=10, random_state=0)
    chunked.fit_chunks(chunks, classes=[0, 1])
    full = TabularNetClassifier(max_epochs=10, random_state=0).fit(X, y)
    assert chunked.n_iter_ == 10
    assert len(chunked.history_) == 10  # one history row per pass, not per chunk
    assert chunked.score(X, y) >= full.score(X, y) - 0.02


def test_callable_source_is_read_once_per_epoch(data):
    X, y = data
    passes = []

    def source():
        passes.append(1)
        return iter(_chunks(X, y, 1000))

    TabularNetClassifier(max_epochs=4).fit_chunks(source, classes=[0, 1])
    # one pass per epoch, plus one opening that peeks at the first chunk and
    # then continues as the first epoch
    assert len(passes) == 4


def test_generator_is_fine_for_one_pass_and_an_error_for_more(data):
    X, y = data
    clf = TabularNetClassifier(max_epochs=1, random_state=0)
    clf.fit_chunks((c for c in _chunks(X, y, 1000)), classes=[0, 1])
    assert clf.n_iter_ == 1
    fresh = TabularNetClassifier(max_epochs=3)
    with pytest.raises(ValueError, match="one-shot iterator.*max_epochs"):
        fresh.fit_chunks((c for c in _chunks(X, y, 1000)), classes=[0, 1])
    assert not hasattr(fresh, "net_")  # refused before any work


def test_only_one_chunk_is_alive_at_a_time(data):
    X, y = data
    alive = []
    peaks = []

    def source():
        for Xc, yc in _chunks(X, y, 300):
            Xc = Xc.copy()
            alive.append(weakref.ref(Xc))
            gc.collect()
            peaks.append(sum(ref() is not None for ref in alive))
            yield Xc, yc

    TabularNetClassifier(max_epochs=2).fit_chunks(source, classes=[0, 1])
    # the chunk being yielded plus at most the one before it (still bound to
    # a local while the next one is produced)
    assert max(peaks) <= 2


def test_regressor_fit_chunks():
    X, y = make_regression(n_samples=2000, n_features=5, noise=1.0, random_state=0)
    reg = TabularNetRegressor(max_epochs=30, lr=1e-2, random_state=0)
    reg.fit_chunks(_chunks(X, y, 500))
    assert r2_score(y, reg.predict(X)) > 0.95


@pytest.mark.parametrize(
    "chunks, error, match",
    [
        ([], ValueError, "no chunk"),
        ("train.parquet", TypeError, "ParquetChunks"),
        (42, TypeError, "iterable"),
        ([[1, 2]], ValueError, "expected an \\(X, y\\)"),
        ([{"X": np.ones((2, 2))}], ValueError, "expected 'X', 'y'"),
    ],
)
def test_bad_chunk_sources(chunks, error, match):
    with pytest.raises(error, match=match):
        TabularNetClassifier().fit_chunks(chunks, classes=[0, 1])


def test_bad_chunks_name_their_position(data):
    X, y = data
    bad = X[:500].copy()
    bad[3, 2] = np.nan
    chunks = [(X[:500], y[:500]), (bad, y[:500])]
    with pytest.raises(ValueError, match="Chunk 1: .*NaN"):
        TabularNetClassifier(max_epochs=1).fit_chunks(chunks, classes=[0, 1])
    with pytest.raises(ValueError, match="Chunk 1: .*features"):
        TabularNetClassifier().fit_chunks(
            [(X[:500], y[:500]), (X[:500, :3], y[:500])], classes=[0, 1]
        )
    with pytest.raises(ValueError, match="needs classes"):
        TabularNetClassifier().fit_chunks([(X, y)])
    with pytest.raises(ValueError, match="first chunk has only zero"):
        TabularNetClassifier().fit_chunks(
            [(X[:10], y[:10], np.zeros(10)), (X, y)], classes=[0, 1]
        )


def test_chunks_with_only_zero_weights_are_skipped(data):
    X, y = data
    w = np.ones(len(y))
    ref = TabularNetClassifier(max_epochs=2, random_state=0)
    ref.fit_chunks([(X[:1500], y[:1500], w[:1500])], classes=[0, 1])
    got = TabularNetClassifier(max_epochs=2, random_state=0)
    got.fit_chunks(
        [(X[:1500], y[:1500], w[:1500]), (X[1500:], y[1500:], 0 * w[1500:])],
        classes=[0, 1],
    )
    np.testing.assert_array_equal(ref.predict_proba(X), got.predict_proba(X))


def test_a_source_that_runs_dry_is_an_error_not_a_shorter_fit(data):
    X, y = data
    generator = (c for c in _chunks(X, y, 1000))
    clf = TabularNetClassifier(max_epochs=2)
    with pytest.raises(ValueError, match="no row with a non-zero weight"):
        clf.fit_chunks(lambda: generator, classes=[0, 1])


# --- ParquetChunks ---------------------------------------------------------
@pytest.fixture
def parquet_dir(tmp_path, data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["label"] = y
    frame["weight"] = 1.0 + (np.arange(len(y)) % 3)
    for part in range(3):
        frame.iloc[part * 1000 : (part + 1) * 1000].to_parquet(
            tmp_path / f"part-{part}.parquet", row_group_size=250
        )
    return tmp_path, frame


def test_parquet_chunks_cover_every_row_once_per_pass(parquet_dir):
    path, frame = parquet_dir
    chunks = ParquetChunks(path, "label", sample_weight="weight", batch_rows=100)
    assert chunks.n_rows == len(frame)
    assert chunks.features == [f"x{i}" for i in range(10)]
    for _ in range(2):
        parts = list(chunks)
        assert max(len(Xc) for Xc, _, _ in parts) == 100
        seen = pd.concat([Xc.assign(label=yc, weight=wc) for Xc, yc, wc in parts])
        # features arrive as float32, the nets' training precision
        expected = frame.astype({c: np.float32 for c in chunks.features})
        pd.testing.assert_frame_equal(
            seen.sort_values("x0").reset_index(drop=True),
            expected.sort_values("x0").reset_index(drop=True),
        )


def test_parquet_row_group_order_is_shuffled_per_pass(parquet_dir):
    path, _ = parquet_dir
    chunks = ParquetChunks(path, "label", random_state=0)
    first = [Xc["x0"].iloc[0] for Xc, _ in chunks]
    second = [Xc["x0"].iloc[0] for Xc, _ in chunks]
    assert sorted(first) == sorted(second) and first != second
    again = [Xc["x0"].iloc[0] for Xc, _ in ParquetChunks(path, "label", random_state=0)]
    assert again == first


def test_fit_from_parquet_keeps_feature_names(parquet_dir):
    path, frame = parquet_dir
    chunks = ParquetChunks(path, "label", features=["x0", "x1", "x2", "x3", "x4"])
    clf = TabularNetClassifier(max_epochs=3, random_state=0)
    clf.fit_chunks(chunks, classes=[0, 1])
    np.testing.assert_array_equal(clf.feature_names_in_, chunks.features)
    assert clf.score(frame[chunks.features], frame["label"]) > 0.7


def test_parquet_chunks_errors(parquet_dir):
    path, _ = parquet_dir
    with pytest.raises(ValueError, match="'income'\\] are not in the parquet"):
        ParquetChunks(path, "income")
    with pytest.raises(ValueError, match="batch_rows"):
        ParquetChunks(path, "label", batch_rows=0)


def test_parquet_strings_need_a_transform(tmp_path):
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "job": rng.choice(["clerk", "nurse", "pilot"], 2000),
            "income": rng.normal(50, 10, 2000),
        }
    )
    frame["label"] = ((frame["job"] == "pilot") | (frame["income"] > 60)).astype(int)
    frame.to_parquet(tmp_path / "loans.parquet", row_group_size=500)
    with pytest.raises(ValueError, match=r"\['job'\] .* not numeric.*transform"):
        ParquetChunks(tmp_path / "loans.parquet", "label")
    features = frame[["job", "income"]]
    pre = make_column_transformer(
        (OneHotEncoder(sparse_output=False), ["job"]), (StandardScaler(), ["income"])
    ).fit(features.sample(300, random_state=0))
    chunks = ParquetChunks(tmp_path / "loans.parquet", "label", transform=pre.transform)
    clf = TabularNetClassifier(max_epochs=30, lr=1e-2, random_state=0)
    clf.fit_chunks(chunks, classes=[0, 1])
    assert clf.n_features_in_ == 4
    assert clf.score(pre.transform(features), frame["label"]) > 0.95


def test_parquet_nulls_are_rejected_with_the_chunk_named(tmp_path, data):
    X, y = data
    frame = pd.DataFrame(X[:1000, :3], columns=["a", "b", "c"]).assign(y=y[:1000])
    frame.loc[700, "b"] = None
    frame.to_parquet(tmp_path / "gaps.parquet", row_group_size=500)
    chunks = ParquetChunks(tmp_path / "gaps.parquet", "y", shuffle=False)
    with pytest.raises(ValueError, match="Chunk 1: .*NaN"):
        TabularNetClassifier(max_epochs=1).fit_chunks(chunks, classes=[0, 1])


@pytest.mark.parametrize("position", [0, 1])
def test_a_chunk_with_missing_values_is_named(position):
    rng = np.random.RandomState(0)
    X = rng.randn(200, 3)
    y = (X[:, 0] > 0).astype(int)
    X[100 * position + 5, 1] = np.nan
    chunks = [(X[:100], y[:100]), (X[100:], y[100:])]
    with pytest.raises(ValueError, match=f"^Chunk {position}: Input X contains NaN"):
        TabularNetClassifier(max_epochs=1).fit_chunks(chunks, classes=[0, 1])


def test_a_column_only_in_a_later_file_is_not_left_out_silently(tmp_path):
    frame = pd.DataFrame({"a": np.arange(10.0), "y": np.arange(10) % 2})
    frame.to_parquet(tmp_path / "a.parquet")
    frame.assign(b=1.0).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(ValueError, match=r"b.parquet has columns \['b'\]"):
        ParquetChunks(tmp_path, target="y")
    assert ParquetChunks(tmp_path, target="y", features=["a"]).features == ["a"]
