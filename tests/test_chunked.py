"""Fair fits out of core: ``fit_chunks`` of the meta-estimators.

The oracles: the in-memory ``fit`` on the concatenated chunks (reweighing's
table, the groups and their sizes), fairlearn's metrics on the predictions
of all the rows (the streamed claim and the held-out gaps), and the
in-memory constrained fit on a sample of the same real data (the bound on
held-out rows).
"""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    equalized_odds_difference,
)
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_adult
from sklfair.distillation import DistilledClassifier
from sklfair.exceptions import SensitiveAttributeError, SmallGroupWarning
from sklfair.nets import ParquetChunks, TabularNetClassifier
from sklfair.reweighting import ReweighingClassifier


def _frame(n, seed=0, n_groups=3):
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, n)
    x = rng.normal(size=(n, 3))
    x[:, 1] += group  # a proxy of the group among the features
    logit = x[:, 0] + 0.8 * group - 0.8 + 0.5 * rng.normal(size=n)
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2"]).assign(
        sex=group.astype(float), y=(logit > 0).astype(int)
    )
    return frame


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A parquet file of 3000 rows in row groups of 500, and held-out rows."""
    frame = _frame(3600)
    path = tmp_path_factory.mktemp("chunks") / "train.parquet"
    frame.iloc[:3000].to_parquet(path, row_group_size=500)
    return path, frame.iloc[:3000], frame.iloc[3000:]


def _chunks(path, **kwargs):
    return ParquetChunks(path, target="y", shuffle=False, **kwargs)


def _net(epochs=3):
    return TabularNetClassifier(hidden_units=(16,), max_epochs=epochs, random_state=0)


# --- reweighing -----------------------------------------------------------


def test_reweighing_weights_equal_the_in_memory_fit(data):
    path, _, _ = data
    chunks = _chunks(path, batch_rows=700)
    X = pd.concat([X for X, _ in chunks])  # as read: float32 columns
    y = np.concatenate([y for _, y in chunks])
    chunked = ReweighingClassifier(_net(), sensitive_columns="sex")
    chunked.fit_chunks(chunks)
    full = ReweighingClassifier(_net(), sensitive_columns="sex").fit(X, y)
    pd.testing.assert_frame_equal(chunked.weights_, full.weights_)
    np.testing.assert_array_equal(chunked.groups_, full.groups_)
    np.testing.assert_array_equal(chunked.group_sizes_, full.group_sizes_)
    assert list(chunked.feature_names_in_) == list(full.feature_names_in_)
    assert chunked.estimator_.n_features_in_ == 3  # the sensitive column dropped
    assert chunked.score(X, y) > 0.75


def test_reweighing_with_sample_weights_and_dict_chunks():
    frame = _frame(1200, seed=1)
    X, y = frame[["x0", "x1", "x2"]], frame["y"].to_numpy()
    groups = np.where(frame["sex"] > 0, "m", "f")
    w = np.random.default_rng(2).integers(0, 4, len(y)).astype(float)
    chunks = [
        {
            "X": X[i : i + 400],
            "y": y[i : i + 400],
            "sample_weight": w[i : i + 400],
            "sensitive_features": groups[i : i + 400],
        }
        for i in range(0, 1200, 400)
    ]
    chunked = ReweighingClassifier(_net(1)).fit_chunks(chunks)
    full = ReweighingClassifier(_net(1)).fit(
        X, y, sample_weight=w, sensitive_features=groups
    )
    pd.testing.assert_frame_equal(chunked.weights_, full.weights_)
    np.testing.assert_array_equal(chunked.group_sizes_, full.group_sizes_)


def test_reweighing_refuses_what_it_cannot_stream(data):
    path, train, _ = data
    chunks = _chunks(path)
    with pytest.raises(ValueError, match="method='resample'"):
        ReweighingClassifier(
            _net(), sensitive_columns="sex", method="resample"
        ).fit_chunks(chunks)
    with pytest.raises(TypeError, match="has no fit_chunks"):
        ReweighingClassifier(LogisticRegression(), sensitive_columns="sex").fit_chunks(
            chunks
        )
    generator = (c for c in chunks)
    with pytest.raises(ValueError, match="one-shot iterator"):
        ReweighingClassifier(_net(), sensitive_columns="sex").fit_chunks(generator)
    with pytest.raises(SensitiveAttributeError, match="'race' is not in X"):
        ReweighingClassifier(_net(), sensitive_columns="race").fit_chunks(chunks)


def test_continuous_column_needs_cut_points():
    frame = _frame(900)
    frame["age"] = np.random.default_rng(3).uniform(18, 80, len(frame)).round(1)
    X, y = frame.drop(columns=["y", "sex"]), frame["y"]
    chunks = [(X[i : i + 300], y[i : i + 300]) for i in range(0, 900, 300)]
    with pytest.raises(SensitiveAttributeError, match="sensitive_bins="):
        ReweighingClassifier(_net(1), sensitive_columns="age").fit_chunks(chunks)
    bins = {"age": [30.0, 50.0]}
    chunked = ReweighingClassifier(
        _net(1), sensitive_columns="age", sensitive_bins=bins
    ).fit_chunks(chunks)
    full = ReweighingClassifier(
        _net(1), sensitive_columns="age", sensitive_bins=bins
    ).fit(X, y)
    pd.testing.assert_frame_equal(chunked.weights_, full.weights_)
    assert chunked.sensitive_bins_.keys() == full.sensitive_bins_.keys()


def test_small_group_warns_as_in_fit():
    frame = _frame(600, n_groups=2)
    frame.loc[:9, "sex"] = 7.0  # ten rows of a small group, in the first chunk
    X, y = frame.drop(columns="y"), frame["y"]
    chunks = [(X[i : i + 200], y[i : i + 200]) for i in range(0, 600, 200)]
    with pytest.warns(SmallGroupWarning, match="7.0: 10 rows"):
        ReweighingClassifier(_net(1), sensitive_columns="sex").fit_chunks(chunks)


# --- constrained ----------------------------------------------------------


@pytest.mark.parametrize(
    "method, constraint",
    [
        ("lagrangian", "demographic_parity"),
        ("penalty", "equalized_odds"),
        ("adversarial", "demographic_parity"),
    ],
)
def test_constrained_claim_and_held_out_gaps_match_fairlearn(data, method, constraint):
    path, train, test = data
    clf = FairConstrainedClassifier(
        _net(4),
        constraint=constraint,
        bound=0.5,
        method=method,
        sensitive_columns="sex",
        random_state=0,
    )
    held_out = [(test.drop(columns="y"), test["y"])]
    clf.fit_chunks(_chunks(path, batch_rows=800), validation_chunks=iter(held_out))
    metric = {
        "demographic_parity": demographic_parity_difference,
        "equalized_odds": equalized_odds_difference,
    }[constraint]
    for rows, measured in [
        (train, clf.constraint_violation_ + 0.5),
        (test, clf.validation_gaps_[constraint]),
    ]:
        predicted = clf.predict(rows.drop(columns="y"))
        expected = metric(rows["y"], predicted, sensitive_features=rows["sex"])
        assert measured == pytest.approx(expected, abs=1e-9)
    assert clf.validation_violation_ == pytest.approx(
        clf.validation_gaps_[constraint] - 0.5, abs=1e-9
    )
    assert clf.method_ == method
    assert len(clf.history_) == clf.n_iter_ == 4
    np.testing.assert_array_equal(clf.classes_, [0, 1])


def test_constrained_lagrangian_meets_a_tight_bound_on_held_out_rows(data):
    path, _, test = data
    held_out = [(test.drop(columns="y"), test["y"])]
    loose = FairConstrainedClassifier(
        _net(8), bound=1.0, sensitive_columns="sex", random_state=0
    ).fit_chunks(_chunks(path), validation_chunks=held_out)
    tight = FairConstrainedClassifier(
        _net(8), bound=0.1, sensitive_columns="sex", random_state=0
    ).fit_chunks(_chunks(path), validation_chunks=held_out)
    # the groups' base rates differ by far more than the bound
    assert loose.validation_gaps_["demographic_parity"] > 0.2
    assert tight.validation_gaps_["demographic_parity"] <= 0.1 + 0.05
    assert tight.constraint_violation_ <= 0.0


@pytest.fixture
def lagrangian_steps(monkeypatch):
    """The LagrangianTerms set up during a test, and the step count at each
    of their evaluations (an epoch end, or the end of a chunk)."""
    from sklfair.constrained import LagrangianTerm

    evaluated, terms = [], []
    evaluate, setup = LagrangianTerm._evaluate, LagrangianTerm.setup

    def record_setup(self, net, rows):
        setup(self, net, rows)
        terms.append(self)

    def record_evaluate(self, epoch):
        evaluated.append(self._steps)
        return evaluate(self, epoch)

    monkeypatch.setattr(LagrangianTerm, "setup", record_setup)
    monkeypatch.setattr(LagrangianTerm, "_evaluate", record_evaluate)
    return terms, evaluated


def test_constrained_lagrangian_one_pass_moves_and_selects_per_chunk(
    data, lagrangian_steps
):
    # one pass over 6 chunks: the multipliers step by dual_lr per chunk's
    # batches, and the network is evaluated (margin renewed, best parameters
    # kept) after each chunk, not only at the end of the pass
    terms, evaluated = lagrangian_steps
    path, _, test = data
    net = TabularNetClassifier(
        hidden_units=(16,), max_epochs=1, batch_size=100, random_state=0
    )
    clf = FairConstrainedClassifier(
        net, bound=0.1, sensitive_columns="sex", random_state=0
    )
    clf.fit_chunks(
        _chunks(path), validation_chunks=[(test.drop(columns="y"), test["y"])]
    )
    (term,) = terms
    assert term._dual_step == pytest.approx(term.dual_lr / 5)  # 500 rows / 100
    # after each of the 6 chunks, and at the end of the pass
    assert evaluated == [5, 10, 15, 20, 25, 30, 30]
    assert clf.constraint_violation_ <= 0.0


def test_constrained_refuses_what_it_cannot_stream(data):
    path, _, _ = data
    chunks = _chunks(path)
    for method in ("threshold", "reductions"):
        clf = FairConstrainedClassifier(
            LogisticRegression(), method=method, sensitive_columns="sex"
        )
        with pytest.raises(ValueError, match="method='lagrangian', 'penalty'"):
            clf.fit_chunks(chunks)
    clf = FairConstrainedClassifier(
        _net(),
        sensitive_columns="sex",
        method_params={"validation_fraction": 0.2},
    )
    with pytest.raises(ValueError, match="validation_chunks="):
        clf.fit_chunks(chunks)
    clf = FairConstrainedClassifier(_net(), sensitive_columns="sex")
    with pytest.raises(ValueError, match="one-shot iterator"):
        clf.fit_chunks(iter(list(chunks)))
    with pytest.raises(SensitiveAttributeError, match="'sensitive_features' key"):
        FairConstrainedClassifier(_net()).fit_chunks(chunks)


# --- distillation ---------------------------------------------------------


def test_distilled_student_learns_the_frozen_teacher_per_chunk(data):
    path, train, test = data
    X, y = train.drop(columns="y"), train["y"]
    teacher = FrozenEstimator(LogisticRegression().fit(X, y))
    clf = DistilledClassifier(
        teacher,
        _net(15),
        constraint="demographic_parity",
        bound=0.5,
        sensitive_columns="sex",
        random_state=0,
    ).fit_chunks(_chunks(path, batch_rows=700))
    assert clf.n_transfer_samples_ == 3000
    assert "distill_kl" in clf.history_.columns
    agreement = np.mean(clf.predict(X) == teacher.predict(X))
    # the student does not see the group, the teacher does
    assert agreement > 0.8
    # the sample of up to 50,000 rows holds all 3000 here
    assert clf.fidelity_ == pytest.approx(agreement)
    expected = demographic_parity_difference(
        y, clf.predict(X), sensitive_features=X["sex"]
    )
    assert clf.constraint_violation_ == pytest.approx(expected - 0.5, abs=1e-9)


def test_distilled_fair_student_steps_its_multipliers_per_chunk(data, lagrangian_steps):
    # the fair student's lagrangian streams as the constrained one does: its
    # multipliers step by dual_lr per chunk's batches, and it is evaluated
    # after each chunk of a one-pass fit
    terms, evaluated = lagrangian_steps
    path, train, _ = data
    X, y = train.drop(columns="y"), train["y"]
    DistilledClassifier(
        FrozenEstimator(LogisticRegression().fit(X, y)),
        TabularNetClassifier(
            hidden_units=(16,), max_epochs=1, batch_size=100, random_state=0
        ),
        constraint="demographic_parity",
        bound=0.1,
        sensitive_columns="sex",
        random_state=0,
    ).fit_chunks(_chunks(path))
    (term,) = terms
    assert term._dual_step == pytest.approx(term.dual_lr / 5)  # 500 rows / 100
    assert evaluated == [5, 10, 15, 20, 25, 30, 30]


def test_distilled_teacher_fitted_by_its_own_fit_chunks(data):
    path, _, test = data
    clf = DistilledClassifier(_net(10), _net(10), random_state=0)
    clf.fit_chunks(_chunks(path))
    assert clf.teacher_.n_features_in_ == 4  # the teacher sees the group
    assert clf.student_.n_features_in_ == 4  # no sensitive_columns: nothing dropped
    assert clf.score(test.drop(columns="y"), test["y"]) > 0.75


def test_distilled_refuses_what_it_cannot_stream(data):
    path, train, _ = data
    chunks = _chunks(path)
    teacher = FrozenEstimator(
        LogisticRegression().fit(train.drop(columns="y"), train["y"])
    )
    with pytest.raises(ValueError, match="n_augment"):
        DistilledClassifier(teacher, _net(), n_augment=1).fit_chunks(chunks)
    with pytest.raises(TypeError, match="FrozenEstimator"):
        DistilledClassifier(LogisticRegression(), _net()).fit_chunks(chunks)
    with pytest.raises(TypeError, match="sklfair network"):
        DistilledClassifier(
            teacher, make_pipeline(StandardScaler(), _net())
        ).fit_chunks(chunks)


# --- real data: Adult written to parquet ----------------------------------


@pytest.fixture(scope="module")
def adult(tmp_path_factory):
    """Adult's training set encoded and written to parquet in 8 row groups
    (sex as a 0/1 column), and its test set encoded the same way."""
    X, y = load_adult(return_X_y=True)
    X_test, y_test = load_adult(subset="test", return_X_y=True)
    encode = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
        verbose_feature_names_out=False,
    ).fit(X.drop(columns="sex"))

    def frame(X, y):
        encoded = encode.transform(X.drop(columns="sex")).astype(np.float32)
        names = [f"f{i}" for i in range(encoded.shape[1])]
        return pd.DataFrame(encoded, columns=names).assign(
            sex=(X["sex"] == "Male").to_numpy(np.float32), y=np.asarray(y)
        )

    path = tmp_path_factory.mktemp("adult") / "train.parquet"
    train = frame(X, y)
    train.to_parquet(path, row_group_size=4096)
    return path, train, frame(X_test, y_test)


@pytest.mark.slow
def test_adult_chunked_bound_holds_on_held_out_rows_as_a_sample_fit_does(adult):
    path, train, test = adult
    X_test, y_test = test.drop(columns="y"), test["y"]

    def constrained(epochs):
        return FairConstrainedClassifier(
            TabularNetClassifier(max_epochs=epochs, random_state=0),
            bound=0.05,
            sensitive_columns="sex",
            random_state=0,
        )

    chunked = constrained(10).fit_chunks(
        ParquetChunks(path, target="y", random_state=0),
        validation_chunks=[(X_test, y_test)],
    )
    sample = train.sample(8000, random_state=0)
    in_memory = constrained(20).fit(sample.drop(columns="y"), sample["y"])

    def held_out(model):
        predicted = model.predict(X_test)
        gap = demographic_parity_difference(
            y_test, predicted, sensitive_features=X_test["sex"]
        )
        return gap, np.mean(predicted == y_test)

    gap, accuracy = held_out(chunked)
    sample_gap, sample_accuracy = held_out(in_memory)
    print(
        f"Adult DP bound 0.05, held out: chunked gap {gap:.4f} accuracy "
        f"{accuracy:.4f}; in-memory on 8k rows gap {sample_gap:.4f} accuracy "
        f"{sample_accuracy:.4f}"
    )
    assert chunked.validation_gaps_["demographic_parity"] == pytest.approx(gap)
    assert gap <= max(0.05, sample_gap) + 0.01
    assert accuracy >= sample_accuracy - 0.01
    assert chunked.group_sizes_.sum() == len(train)


# --- the nets' hook ------------------------------------------------------


def test_net_chunks_carry_integer_group_codes_only():
    X, y = _frame(200)[["x0", "x1"]], _frame(200)["y"].to_numpy()
    chunks = [{"X": X, "y": y, "sensitive_features": np.full(200, 0.5)}]
    term_rows = {"X": X, "y": y, "sensitive_features": np.zeros(200, dtype=int)}
    from sklfair.constrained import PenaltyTerm

    with pytest.raises(ValueError, match="Chunk 0: .*integer group codes"):
        _net(1)._fit_chunks(
            chunks,
            classes=[0, 1],
            loss_terms=[PenaltyTerm("demographic_parity", 1.0)],
            term_rows=term_rows,
            term_data={"n_groups": 2, "n_rows": 200},
        )


def test_classes_must_cover_the_labels(data):
    path, _, _ = data
    with pytest.raises(ValueError, match=r"class label\(s\) \[1\]"):
        ReweighingClassifier(_net(1), sensitive_columns="sex").fit_chunks(
            _chunks(path), classes=[0]
        )
