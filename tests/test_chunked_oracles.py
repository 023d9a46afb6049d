"""Fair fits out of core, checked as a user would on real data.

Taiwan credit default (6000 shuffled rows, one-hot and scaled, ``sex`` kept
as a string column) is written to parquet; the oracles are a hand count of
Kamiran & Calders' weights ``P(g) P(y) / P(g, y)``, fairlearn's metrics on
the fitted model's predictions, and the in-memory ``fit`` on the same rows.
"""

import functools

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair._chunked import check_held_out, stream_rates
from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_taiwan_credit
from sklfair.distillation import DistilledClassifier
from sklfair.exceptions import SensitiveAttributeError, UnseenGroupWarning
from sklfair.nets import ParquetChunks, TabularNetClassifier
from sklfair.reweighting import ReweighingClassifier


@pytest.fixture(scope="module")
def credit(tmp_path_factory):
    """6000 training and 2000 held-out rows of Taiwan credit, as parquet
    files in row groups of 1000 (sex a string column, the rest float32)."""
    X, y = load_taiwan_credit(return_X_y=True)
    frame = X.assign(default=np.asarray(y)).sample(8000, random_state=0)
    features = frame.drop(columns=["default", "sex"])
    encode = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
        verbose_feature_names_out=False,
    ).fit(features)
    data = pd.DataFrame(
        encode.transform(features).astype(np.float32),
        columns=encode.get_feature_names_out(),
    ).assign(sex=frame["sex"].astype(str).to_numpy(), default=frame["default"].values)
    folder = tmp_path_factory.mktemp("credit")
    train, test = data.iloc[:6000], data.iloc[6000:].reset_index(drop=True)
    train.to_parquet(folder / "train.parquet", row_group_size=1000)
    test.to_parquet(folder / "test.parquet", row_group_size=1000)
    return folder, train, test


def _chunks(path, **kwargs):
    kwargs.setdefault("random_state", 0)
    # the string sensitive column needs the pandas path (transform=)
    return ParquetChunks(path, target="default", transform=lambda X: X, **kwargs)


def _net(epochs=2):
    return TabularNetClassifier(hidden_units=(16,), max_epochs=epochs, random_state=0)


def _split(frame):
    return frame.drop(columns="default"), frame["default"].to_numpy()


def test_streamed_weights_equal_the_hand_count(credit):
    folder, train, _ = credit
    clf = ReweighingClassifier(_net(1), sensitive_columns="sex")
    clf.fit_chunks(_chunks(folder / "train.parquet", batch_rows=700))
    group, label = train["sex"], train["default"]
    for g in ("female", "male"):
        for k in (0, 1):
            expected = (
                (group == g).mean()
                * (label == k).mean()
                / ((group == g) & (label == k)).mean()
            )
            assert clf.weights_.loc[g, k] == pytest.approx(expected, rel=1e-14)
    np.testing.assert_array_equal(clf.groups_, ["female", "male"])
    assert clf.group_sizes_.sum() == 6000
    assert "sex" not in clf.estimator_.feature_names_in_


@pytest.mark.parametrize("method", ["lagrangian", "penalty", "adversarial"])
def test_held_out_gap_is_fairlearns_on_the_chunk(credit, method):
    folder, train, test = credit
    clf = FairConstrainedClassifier(
        _net(2), bound=0.05, method=method, sensitive_columns="sex", random_state=0
    )
    clf.fit_chunks(
        _chunks(folder / "train.parquet"),
        validation_chunks=_chunks(folder / "test.parquet", batch_rows=300),
    )
    for frame, measured in [
        (test, clf.validation_gaps_["demographic_parity"]),
        (train, clf.constraint_violation_ + 0.05),
    ]:
        X, y = _split(frame)
        expected = demographic_parity_difference(
            y, clf.predict(X), sensitive_features=X["sex"]
        )
        assert measured == pytest.approx(expected, abs=1e-12)


def test_group_only_in_later_chunks_and_class_missing_from_chunks(credit):
    _, train, _ = credit
    X, y = _split(train)
    by_group = np.argsort(X["sex"].to_numpy(), kind="stable")
    by_label = np.argsort(y, kind="stable")
    for order in (by_group, by_label):
        Xs, ys = X.iloc[order].reset_index(drop=True), y[order]
        chunks = [(Xs[i : i + 1500], ys[i : i + 1500]) for i in range(0, 6000, 1500)]
        chunked = ReweighingClassifier(_net(1), sensitive_columns="sex")
        full = ReweighingClassifier(_net(1), sensitive_columns="sex").fit(Xs, ys)
        pd.testing.assert_frame_equal(
            chunked.fit_chunks(chunks).weights_, full.weights_
        )
        clf = FairConstrainedClassifier(
            _net(1), bound=0.1, sensitive_columns="sex", random_state=0
        ).fit_chunks(chunks, validation_chunks=chunks)
        np.testing.assert_array_equal(clf.group_sizes_, full.group_sizes_)
        expected = demographic_parity_difference(
            ys, clf.predict(Xs), sensitive_features=Xs["sex"]
        )
        assert clf.validation_gaps_["demographic_parity"] == pytest.approx(expected)


def test_one_row_chunks(credit):
    _, train, _ = credit
    X, y = _split(train.iloc[:300])
    chunks = [(X[i : i + 1], y[i : i + 1]) for i in range(300)]
    chunked = ReweighingClassifier(_net(1), sensitive_columns="sex")
    full = ReweighingClassifier(_net(1), sensitive_columns="sex").fit(X, y)
    pd.testing.assert_frame_equal(chunked.fit_chunks(chunks).weights_, full.weights_)
    clf = FairConstrainedClassifier(
        _net(1), bound=0.2, sensitive_columns="sex", random_state=0
    ).fit_chunks(chunks, validation_chunks=chunks)
    expected = demographic_parity_difference(
        y, clf.predict(X), sensitive_features=X["sex"]
    )
    assert clf.validation_gaps_["demographic_parity"] == pytest.approx(expected)


def test_bad_chunks_raise_clear_errors(credit):
    _, train, _ = credit
    X, y = _split(train)
    reordered = X.iloc[3000:][list(X.columns[::-1])]
    with pytest.raises(ValueError, match="Chunk 1: The feature names should match"):
        ReweighingClassifier(_net(1), sensitive_columns="sex").fit_chunks(
            [(X[:3000], y[:3000]), (reordered, y[3000:])]
        )
    with pytest.raises(SensitiveAttributeError, match="Chunk 1: .*'sex' is not in X"):
        FairConstrainedClassifier(_net(1), sensitive_columns="sex").fit_chunks(
            [(X[:3000], y[:3000]), (X[3000:].drop(columns="sex"), y[3000:])]
        )
    missing = X.copy()
    missing.loc[4000, "sex"] = None
    with pytest.raises(SensitiveAttributeError, match="Chunk 1: .*1 missing value"):
        ReweighingClassifier(_net(1), sensitive_columns="sex").fit_chunks(
            [(missing[:3000], y[:3000]), (missing[3000:], y[3000:])]
        )


def test_a_file_without_a_column_is_named_at_construction(credit, tmp_path):
    # a directory of parquet files, one of which lacks the sensitive column:
    # not pyarrow's bare "No match for FieldRef" in the middle of a pass
    _, train, _ = credit
    train.iloc[:3000].to_parquet(tmp_path / "a.parquet")
    train.iloc[3000:].drop(columns="sex").to_parquet(tmp_path / "b.parquet")
    with pytest.raises(
        ValueError, match=r"\['sex'\] are not in the parquet file .*b\.parquet"
    ):
        _chunks(tmp_path)


def test_files_with_their_columns_in_another_order(credit, tmp_path):
    _, train, _ = credit
    train.iloc[:3000].to_parquet(tmp_path / "a.parquet", row_group_size=1000)
    train.iloc[3000:][list(train.columns[::-1])].to_parquet(
        tmp_path / "b.parquet", row_group_size=1000
    )
    chunked = ReweighingClassifier(_net(1), sensitive_columns="sex")
    chunked.fit_chunks(_chunks(tmp_path))
    full = ReweighingClassifier(_net(1), sensitive_columns="sex").fit(*_split(train))
    pd.testing.assert_frame_equal(chunked.weights_, full.weights_)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ReweighingClassifier(_net(2), sensitive_columns="sex"),
        lambda: FairConstrainedClassifier(
            _net(2), bound=0.05, sensitive_columns="sex", random_state=0
        ),
        lambda: DistilledClassifier(
            _net(1), _net(1), sensitive_columns="sex", random_state=0
        ),
    ],
    ids=["reweighing", "lagrangian", "distilled"],
)
def test_the_same_reader_gives_the_same_fit_twice(credit, make):
    # pass k of a fit reads the row groups in the order of random_state + k,
    # whatever fits read the same ParquetChunks before
    folder, train, test = credit
    X_test, _ = _split(test)
    if isinstance(make(), DistilledClassifier):  # the teacher sees every column
        X_test = X_test.assign(sex=(X_test["sex"] == "male").astype(np.float32))
        chunks = ParquetChunks(
            folder / "train.parquet",
            target="default",
            transform=lambda X: X.assign(sex=(X["sex"] == "male").astype(np.float32)),
            random_state=0,
        )
    else:
        chunks = _chunks(folder / "train.parquet")
    first = make().fit_chunks(chunks).predict_proba(X_test)
    second = make().fit_chunks(chunks).predict_proba(X_test)
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.float64
    np.testing.assert_allclose(first.sum(axis=1), 1.0)


def test_the_nets_fit_chunks_is_reproducible_on_one_reader(credit):
    folder, _, test = credit
    chunks = ParquetChunks(
        folder / "train.parquet",
        target="default",
        transform=lambda X: X.drop(columns="sex"),
        random_state=0,
    )
    X_test = test.drop(columns=["default", "sex"])
    first = _net(2).fit_chunks(chunks, classes=[0, 1]).predict_proba(X_test)
    second = _net(2).fit_chunks(chunks, classes=[0, 1]).predict_proba(X_test)
    np.testing.assert_array_equal(first, second)


def test_chunked_fit_is_close_to_the_in_memory_fit(credit):
    folder, train, test = credit
    X, y = _split(train)
    X_test, y_test = _split(test)

    def make():
        return FairConstrainedClassifier(
            _net(4), bound=0.025, sensitive_columns="sex", random_state=0
        )

    chunked = make().fit_chunks(
        _chunks(folder / "train.parquet"),
        validation_chunks=_chunks(folder / "test.parquet"),
    )
    in_memory = make().fit(X, y)
    for model in (chunked, in_memory):
        predicted = model.predict(X_test)
        gap = demographic_parity_difference(
            y_test, predicted, sensitive_features=X_test["sex"]
        )
        assert gap <= 0.025 + 0.03
        assert np.mean(predicted == y_test) > 0.75
    assert abs(chunked.score(X_test, y_test) - in_memory.score(X_test, y_test)) < 0.03


# --- held-out chunks: named in the messages, checked before training ---------


def _held_out_setup(credit):
    """Training chunks of the credit rows, a FairConstrainedClassifier after
    its counting pass over them, and that pass."""
    _, train, _ = credit
    X, y = _split(train)
    chunks = [(X[:3000], y[:3000]), (X[3000:], y[3000:])]
    clf = FairConstrainedClassifier(_net(1), bound=0.1, sensitive_columns="sex")
    return clf, clf._scan_chunks(chunks, why="a test"), chunks


def test_held_out_chunks_are_checked_before_training(credit):
    folder, _, test = credit
    clf, scan, chunks = _held_out_setup(credit)
    X, y = _split(test)
    no_sex = X.drop(columns="sex")
    missing = X.assign(sex=X["sex"].where(X.index != 7))
    nan_feature = X.assign(**{X.columns[0]: X.iloc[:, 0].where(X.index != 3)})
    for held_out, error, message in [
        ([(X, y), (no_sex, y)], SensitiveAttributeError, "chunk 1: .*'sex' is not"),
        ([(missing, y)], SensitiveAttributeError, "chunk 0: .*1 missing value"),
        ([(X, y[:-1])], ValueError, "chunk 0: X has 2000 rows but y has 1999"),
        ([(X.assign(extra=1.0), y)], ValueError, "chunk 0: The feature names"),
        ([(nan_feature, y)], ValueError, r"chunk 0: X has missing values .*\['"),
    ]:
        with pytest.raises(error, match=f"^validation_chunks, {message}"):
            check_held_out(clf, held_out, scan)
    with pytest.raises(ValueError, match="validation_chunks have no row of a group"):
        check_held_out(clf, [(X.assign(sex="other"), y)], scan)
    with pytest.raises(ValueError, match="Chunk 0 of validation_chunks is a Data"):
        check_held_out(clf, [X], scan)
    # a reader: its first chunk, and the next pass still starts from pass 0
    reader = ParquetChunks(
        folder / "test.parquet",
        target="default",
        transform=lambda X: X.drop(columns="sex"),
        random_state=0,
    )
    with pytest.raises(SensitiveAttributeError, match="^validation_chunks, chunk 0"):
        check_held_out(clf, reader, scan)
    reader = _chunks(folder / "test.parquet")
    check_held_out(clf, reader, scan)
    assert reader._passes == 0
    check_held_out(clf, chunks, scan)
    check_held_out(clf, iter([(no_sex, y)]), scan)  # not read: held otherwise


def test_held_out_chunks_are_named_after_training(credit):
    # what only the measuring pass finds (a later chunk of a reader, a
    # one-shot iterator) names validation_chunks, not "Chunk 0" of training
    _, _, test = credit
    clf, _, chunks = _held_out_setup(credit)
    clf.fit_chunks(chunks)
    X, y = _split(test)
    measure = functools.partial(
        stream_rates,
        clf,
        constraints=[clf.constraint_],
        predict=clf.estimator_.predict,
        labels=clf.groups_,
        classes=clf.classes_,
        source="validation_chunks",
    )
    nan_feature = X.assign(**{X.columns[0]: X.iloc[:, 0].where(X.index != 3)})
    for held_out, message in [
        ([(X, y), (X.drop(columns="sex"), y)], "chunk 1: .*'sex' is not in X"),
        ([(nan_feature.drop(columns="sex"), y)], "chunk 0: .*'sex' is not in X"),
        ([(nan_feature, y)], "chunk 0: Input X contains NaN"),
        ([(X[X.columns[::-1]], y)], "chunk 0: The feature names should match"),
    ]:
        with pytest.raises(ValueError, match=f"^validation_chunks, {message}"):
            measure(iter(held_out))
    with pytest.raises(ValueError, match="validation_chunks have no row of a"):
        with pytest.warns(UnseenGroupWarning, match="of validation_chunks have"):
            measure([(X.assign(sex="other"), y)])
    # the training chunks keep their names
    with pytest.raises(ValueError, match=r"^Chunk 0: .*'sex' is not in X"):
        stream_rates(
            clf,
            [(X.drop(columns="sex"), y)],
            [clf.constraint_],
            clf.estimator_.predict,
            labels=clf.groups_,
            classes=clf.classes_,
        )


def test_chunk_with_x_and_y_of_different_lengths(credit):
    # was numpy's "operands could not be broadcast together" in the scan
    _, train, _ = credit
    X, y = _split(train)
    with pytest.raises(ValueError, match="^Chunk 1: X has 3000 rows but y has 2999"):
        ReweighingClassifier(_net(1), sensitive_columns="sex").fit_chunks(
            [(X[:3000], y[:3000]), (X[3000:], y[3000:-1])]
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda: ReweighingClassifier(_net(1), sensitive_columns="sex"),
        lambda: FairConstrainedClassifier(_net(1), sensitive_columns="sex"),
        lambda: DistilledClassifier(_net(1), _net(1), sensitive_columns="sex"),
    ],
    ids=["reweighing", "lagrangian", "distilled"],
)
def test_nan_in_a_feature_names_its_chunk_and_column(credit, make):
    # was "Chunk term_rows: Input X contains NaN" (the sample of rows the
    # loss terms set up on) or a failure in the middle of the training
    _, train, _ = credit
    X, y = _split(train)
    column = X.columns[0]
    X = X.assign(  # a numeric sex: the teacher of the distilled model sees it
        sex=(X["sex"] == "male").astype(np.float32),
        **{column: X[column].where(X.index != 4000)},
    )
    with pytest.raises(
        ValueError, match=rf"^Chunk 1: X has missing values .* \['{column}'\]"
    ):
        make().fit_chunks([(X[:3000], y[:3000]), (X[3000:], y[3000:])])


def test_validation_chunks_fail_before_training_or_keep_the_model(credit, tmp_path):
    folder, train, test = credit
    X, y = _split(train)
    X_test, y_test = _split(test)
    chunks = [(X[:3000], y[:3000]), (X[3000:], y[3000:])]

    def make():
        return FairConstrainedClassifier(
            _net(1), bound=0.1, sensitive_columns="sex", random_state=0
        )

    clf = make()
    with pytest.raises(
        SensitiveAttributeError, match="^validation_chunks, chunk 0: .*'sex' is not"
    ):
        clf.fit_chunks(chunks, validation_chunks=[(X_test.drop(columns="sex"), y_test)])
    assert not hasattr(clf, "estimator_")  # refused before training
    with pytest.raises(TypeError, match="takes validation_chunks= an iterable"):
        make().fit_chunks(chunks, validation_chunks=str(folder / "test.parquet"))
    # NaN in the sensitive column of a later row group: found only after training
    bad = test.assign(sex=test["sex"].where(test.index != 1500))
    bad.to_parquet(tmp_path / "bad.parquet", row_group_size=1000)
    reader = ParquetChunks(
        tmp_path / "bad.parquet",
        target="default",
        transform=lambda X: X,
        shuffle=False,
    )
    with pytest.warns(
        UserWarning,
        match=r"^validation_chunks, chunk 1: .*missing.*"
        "The model is trained and kept",
    ):
        clf = make().fit_chunks(chunks, validation_chunks=reader)
    assert clf.validation_gaps_ is None and clf.validation_violation_ is None
    assert clf.constraint_violation_ is not None
    reference = make().fit_chunks(chunks)
    np.testing.assert_array_equal(
        clf.predict_proba(X_test), reference.predict_proba(X_test)
    )
