"""Tests for sklfair.model_selection: constrained_refit and pareto_front."""

import pickle

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from sklfair.model_selection import constrained_refit, pareto_front

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]

# ---------------------------------------------------------------- real search

SEX = 1  # column of the diabetes data holding the patients' sex (two values)
GRID = {"C": np.logspace(-3, 2, 11)}


def dp_gap_scorer(estimator, X, y):
    """Demographic parity gap between the two sexes, negated (lower is better)."""
    pred = estimator.predict(X)
    sex = X[:, SEX] > 0
    return -abs(pred[sex].mean() - pred[~sex].mean())


@pytest.fixture(scope="module")
def diabetes():
    X, target = load_diabetes(return_X_y=True)
    y = (target > np.median(target)).astype(int)
    return X, y


@pytest.fixture(scope="module")
def cv():
    return StratifiedKFold(n_splits=5, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def oracle(diabetes, cv):
    """Mean accuracy and mean gap per C, computed fold by fold without sklfair."""
    X, y = diabetes
    accuracy, gap = [], []
    for C in GRID["C"]:
        fold_acc, fold_gap = [], []
        for train, test in cv.split(X, y):
            pred = LogisticRegression(C=C).fit(X[train], y[train]).predict(X[test])
            fold_acc.append(accuracy_score(y[test], pred))
            fold_gap.append(
                demographic_parity_difference(
                    y[test], pred, sensitive_features=X[test, SEX]
                )
            )
        accuracy.append(np.mean(fold_acc))
        gap.append(np.mean(fold_gap))
    return np.array(accuracy), np.array(gap)


def expected_choice(accuracy, gap, bound):
    """The selection rule written out as a plain loop."""
    best = None
    for i in range(len(accuracy)):
        if gap[i] > bound:
            continue
        if best is None or (accuracy[i], -gap[i]) > (accuracy[best], -gap[best]):
            best = i
    return best


def make_search(cv, refit):
    return GridSearchCV(
        LogisticRegression(),
        GRID,
        scoring={"accuracy": "accuracy", "dp_gap": dp_gap_scorer},
        cv=cv,
        refit=refit,
    )


@pytest.fixture(scope="module")
def cv_results(diabetes, cv):
    return make_search(cv, refit=False).fit(*diabetes).cv_results_


BINDING_BOUND = 0.12


@pytest.fixture(scope="module")
def constrained_search(diabetes, cv):
    refit = constrained_refit("accuracy", "dp_gap", bound=BINDING_BOUND)
    return make_search(cv, refit).fit(*diabetes)


def test_search_results_match_the_oracle(cv_results, oracle):
    # the test's scorer computes the gap that fairlearn computes
    accuracy, gap = oracle
    np.testing.assert_allclose(cv_results["mean_test_accuracy"], accuracy)
    np.testing.assert_allclose(-cv_results["mean_test_dp_gap"], gap)


def test_the_bound_binds_on_this_data(oracle):
    # guards the tests below against a bound that never excludes the best score
    accuracy, gap = oracle
    assert expected_choice(accuracy, gap, BINDING_BOUND) != int(np.argmax(accuracy))
    assert expected_choice(accuracy, gap, 1.0) == int(np.argmax(accuracy))


def test_constrained_refit_in_grid_search(constrained_search, diabetes, oracle):
    accuracy, gap = oracle
    expected = expected_choice(accuracy, gap, BINDING_BOUND)
    search = constrained_search
    assert search.best_index_ == expected
    assert search.best_params_ == {"C": GRID["C"][expected]}
    assert gap[search.best_index_] <= BINDING_BOUND
    # the refitted model is the chosen candidate fitted on all the data
    X, y = diabetes
    full = LogisticRegression(C=GRID["C"][expected]).fit(X, y)
    np.testing.assert_allclose(search.best_estimator_.coef_, full.coef_)


@pytest.mark.parametrize("bound", [0.0955, 0.10, 0.12, 0.16, 0.2, 0.26, 0.3])
def test_constrained_refit_on_real_results(cv_results, oracle, bound):
    accuracy, gap = oracle
    expected = expected_choice(accuracy, gap, bound)
    assert expected is not None
    assert constrained_refit("accuracy", "dp_gap", bound=bound)(cv_results) == expected


def test_no_candidate_within_bound_names_the_smallest_gap(diabetes, cv, oracle):
    accuracy, gap = oracle
    smallest = int(np.argmin(gap))
    bound = gap[smallest] / 2
    search = make_search(cv, constrained_refit("accuracy", "dp_gap", bound=bound))
    with pytest.raises(ValueError) as excinfo:
        search.fit(*diabetes)
    message = str(excinfo.value)
    assert f"the smallest gap is {gap[smallest]:.4g}" in message
    assert f"candidate {smallest}" in message
    assert repr(GRID["C"][smallest]) in message


def test_pareto_front_of_a_real_search(cv_results, oracle):
    accuracy, gap = oracle
    front = pareto_front(cv_results, "accuracy", "dp_gap")
    expected = brute_force_front(accuracy, gap)
    assert sorted(front.index) == sorted(np.flatnonzero(expected))
    np.testing.assert_allclose(front["gap"], gap[front.index])
    np.testing.assert_allclose(front["score"], accuracy[front.index])
    np.testing.assert_allclose(front["param_C"], GRID["C"][front.index])
    assert front["gap"].is_monotonic_increasing
    # the constrained choice for any bound lies on the front
    for bound in (0.1, 0.2, 0.3):
        chosen = constrained_refit("accuracy", "dp_gap", bound=bound)(cv_results)
        assert chosen in front.index


# ---------------------------------------------------------------- hand-made dicts


def results(accuracy, gap, **extra):
    n = len(accuracy)
    out = {
        "params": [{"C": float(c)} for c in range(n)],
        "mean_test_accuracy": np.asarray(accuracy, dtype=float),
        "mean_test_gap": -np.asarray(gap, dtype=float),
    }
    out.update(extra)
    return out


def test_picks_best_score_within_bound():
    cv_results = results([0.9, 0.8, 0.85, 0.7], [0.2, 0.05, 0.06, 0.0])
    assert constrained_refit("accuracy", "gap", bound=0.05)(cv_results) == 1
    assert constrained_refit("accuracy", "gap", bound=0.06)(cv_results) == 2
    assert constrained_refit("accuracy", "gap", bound=0.01)(cv_results) == 3
    assert constrained_refit("accuracy", "gap", bound=1.0)(cv_results) == 0


def test_returns_a_python_int():
    index = constrained_refit("accuracy", "gap", 0.1)(results([0.5, 0.6], [0, 0]))
    assert type(index) is int


def test_bound_is_inclusive_up_to_rounding():
    gap = (0.1 + 0.2) / 2 * np.ones(2)  # 0.15000000000000002
    cv_results = results([0.7, 0.6], gap)
    assert constrained_refit("accuracy", "gap", bound=0.15)(cv_results) == 0


def test_ties_break_by_smaller_gap_then_rank_then_position():
    cv_results = results([0.8, 0.8, 0.8], [0.04, 0.01, 0.03])
    assert constrained_refit("accuracy", "gap", 0.05)(cv_results) == 1
    cv_results = results(
        [0.8, 0.8, 0.8], [0.02, 0.02, 0.02], rank_test_accuracy=np.array([3, 1, 2])
    )
    assert constrained_refit("accuracy", "gap", 0.05)(cv_results) == 1
    cv_results = results([0.8, 0.8], [0.02, 0.02])  # no rank key: first one
    assert constrained_refit("accuracy", "gap", 0.05)(cv_results) == 0


def test_positive_gap_columns_are_read_as_gaps():
    negated = results([0.9, 0.8], [0.2, 0.01])
    plain = dict(negated, mean_test_gap=-negated["mean_test_gap"])
    refit = constrained_refit("accuracy", "gap", bound=0.05)
    assert refit(negated) == refit(plain) == 1
    front_negated = pareto_front(negated, "accuracy", "gap")
    front_plain = pareto_front(plain, "accuracy", "gap")
    pd.testing.assert_frame_equal(front_negated, front_plain)
    assert (front_plain["gap"] >= 0).all()


def test_mixed_signs_are_not_a_gap():
    cv_results = results([0.9, 0.8], [0.2, -0.1])
    with pytest.raises(ValueError, match="both positive and negative"):
        constrained_refit("accuracy", "gap", 0.05)(cv_results)
    with pytest.raises(ValueError, match="both positive and negative"):
        pareto_front(cv_results, "accuracy", "gap")


def test_nan_candidates_are_skipped():
    cv_results = results([np.nan, 0.8, 0.95], [0.0, 0.01, np.nan])
    assert constrained_refit("accuracy", "gap", 0.05)(cv_results) == 1
    front = pareto_front(cv_results, "accuracy", "gap", all_candidates=True)
    assert front.loc[1, "pareto"]
    assert not front.loc[0, "pareto"] and not front.loc[2, "pareto"]
    all_nan = results([np.nan, 0.8], [0.0, np.nan])
    with pytest.raises(ValueError, match="Every candidate has a NaN"):
        constrained_refit("accuracy", "gap", 0.05)(all_nan)


def test_none_within_bound_reports_smallest_gap_and_params():
    cv_results = results([0.9, 0.7, 0.8], [0.3, 0.12, 0.12])
    with pytest.raises(ValueError) as excinfo:
        constrained_refit("accuracy", "gap", bound=0.1)(cv_results)
    message = str(excinfo.value)
    # two candidates share the smallest gap; the better-scoring one is named
    assert "smallest gap is 0.12 (candidate 2, params {'C': 2.0}" in message
    assert "bound=0.1" in message


def test_missing_scorer_lists_available_names():
    cv_results = results([0.9], [0.1])
    with pytest.raises(ValueError, match=r"'roc_auc'.*\['accuracy', 'gap'\]"):
        constrained_refit("roc_auc", "gap")(cv_results)
    with pytest.raises(ValueError, match=r"constraint 'dp'.*\['accuracy', 'gap'\]"):
        constrained_refit("accuracy", "dp")(cv_results)
    with pytest.raises(ValueError, match="constraint 'dp'"):
        pareto_front(cv_results, "accuracy", "dp")
    single = {"params": [{}], "mean_test_score": np.array([0.5])}
    with pytest.raises(ValueError, match="single scorer: pass a dict"):
        constrained_refit("accuracy", "gap")(single)


def test_constraint_none_uses_the_only_other_scorer():
    cv_results = results([0.9, 0.8], [0.2, 0.01])
    assert constrained_refit(bound=0.05)(cv_results) == 1
    assert list(pareto_front(cv_results).index) == [1, 0]
    assert pareto_front(cv_results).attrs == {"score": "accuracy", "constraint": "gap"}
    cv_results["mean_test_eo"] = np.zeros(2)
    with pytest.raises(ValueError, match=r"has 2: \['gap', 'eo'\]"):
        constrained_refit(bound=0.05)(cv_results)
    with pytest.raises(ValueError, match="same scorer"):
        constrained_refit("accuracy", "accuracy")(cv_results)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"bound": -0.1}, ValueError),
        ({"bound": float("nan")}, ValueError),
        ({"bound": "0.1"}, ValueError),
        ({"bound": True}, ValueError),
        ({"score": 3}, TypeError),
        ({"constraint": ["gap"]}, TypeError),
    ],
)
def test_argument_validation(kwargs, error):
    with pytest.raises(error):
        constrained_refit(**kwargs)


def test_refit_callable_pickles_and_clones(constrained_search, cv):
    refit = constrained_refit("accuracy", "dp_gap", bound=0.2)
    restored = pickle.loads(pickle.dumps(refit))
    cv_results = results([0.9, 0.8], [0.3, 0.1])
    cv_results["mean_test_dp_gap"] = cv_results.pop("mean_test_gap")
    assert restored(cv_results) == refit(cv_results) == 1
    assert repr(restored) == repr(refit)
    assert repr(clone(make_search(cv, refit)).refit) == repr(refit)
    restored_search = pickle.loads(pickle.dumps(constrained_search))
    assert restored_search.best_index_ == constrained_search.best_index_
    assert restored_search.refit(restored_search.cv_results_) == (
        constrained_search.best_index_
    )


# ---------------------------------------------------------------- pareto_front


def brute_force_front(score, gap):
    score, gap = np.asarray(score), np.asarray(gap)
    n = len(score)
    front = np.zeros(n, dtype=bool)
    for i in range(n):
        if not (np.isfinite(score[i]) and np.isfinite(gap[i])):
            continue
        front[i] = not any(
            score[j] >= score[i]
            and gap[j] <= gap[i]
            and (score[j] > score[i] or gap[j] < gap[i])
            for j in range(n)
            if j != i and np.isfinite(score[j]) and np.isfinite(gap[j])
        )
    return front


def test_pareto_front_by_hand():
    # (score, gap): 0 (.70,.02) front; 1 (.75,.04) front; 2 (.72,.05) dominated
    # by 1; 3 (.80,.12) front; 4 (.80,.15) dominated by 3; 5 = 1 (tie, kept)
    cv_results = results(
        [0.70, 0.75, 0.72, 0.80, 0.80, 0.75],
        [0.02, 0.04, 0.05, 0.12, 0.15, 0.04],
        std_test_accuracy=np.full(6, 0.01),
        std_test_gap=np.full(6, 0.02),
    )
    front = pareto_front(cv_results, "accuracy", "gap")
    assert list(front.index) == [0, 1, 5, 3]
    assert front.index.name == "candidate"
    assert list(front.columns) == [
        "params",
        "param_C",
        "score",
        "gap",
        "std_score",
        "std_gap",
    ]
    assert front.loc[3, "params"] == {"C": 3.0}
    np.testing.assert_allclose(front["gap"], [0.02, 0.04, 0.04, 0.12])
    everything = pareto_front(cv_results, "accuracy", "gap", all_candidates=True)
    assert len(everything) == 6
    assert everything["pareto"].tolist() == [True, True, True, False, True, False]
    assert list(everything.index) == [0, 1, 5, 2, 3, 4]


def test_pareto_front_with_several_parameters():
    cv_results = {
        "params": [
            {"C": 1.0, "penalty": "l2"},
            {"C": 10.0, "penalty": "l1"},
            {"C": 10.0},
        ],
        "mean_test_accuracy": np.array([0.7, 0.8, 0.6]),
        "mean_test_gap": np.array([-0.1, -0.2, -0.3]),
    }
    front = pareto_front(cv_results, "accuracy", "gap")
    assert list(front.index) == [0, 1]
    assert front["param_penalty"].tolist() == ["l2", "l1"]
    assert "std_score" not in front.columns


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.5, 0.6, 0.7, 0.8, float("nan")]),
            st.sampled_from([0.0, 0.05, 0.1, 0.2]),
        ),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from([0.0, 0.05, 0.1, 0.2]),
)
def test_front_and_refit_agree_with_brute_force(pairs, bound):
    score = np.array([p[0] for p in pairs])
    gap = np.array([p[1] for p in pairs])
    cv_results = results(score, gap)
    expected = brute_force_front(score, gap)
    front = pareto_front(cv_results, "accuracy", "gap")
    assert sorted(front.index) == list(np.flatnonzero(expected))
    assert front["gap"].is_monotonic_increasing
    everything = pareto_front(cv_results, "accuracy", "gap", all_candidates=True)
    assert everything.sort_index()["pareto"].tolist() == expected.tolist()

    refit = constrained_refit("accuracy", "gap", bound=bound)
    feasible = np.isfinite(score) & (gap <= bound)
    if not feasible.any():
        with pytest.raises(ValueError, match="No candidate|Every candidate"):
            refit(cv_results)
        return
    chosen = refit(cv_results)
    assert feasible[chosen]
    assert score[chosen] == np.nanmax(np.where(feasible, score, np.nan))
    assert expected[chosen]  # the constrained choice is never dominated
