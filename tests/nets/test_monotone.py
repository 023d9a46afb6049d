"""Monotone nets: ``monotonic_cst`` holds by construction, for any weights."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklfair.constrained import FairConstrainedClassifier
from sklfair.exceptions import BoundNotMetWarning
from sklfair.nets import TabularNetClassifier, TabularNetRegressor, monotonic_cst_for
from sklfair.nets._modules import MLP, MonotoneMLP

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(
        n_samples=300, n_features=5, n_informative=3, random_state=0
    )
    return X, y


def assert_monotone(predict, X, cst, n_grid=15, tol=1e-9):
    """``predict`` moves with each constrained column along a grid, per row."""
    lo, hi = X.min(axis=0) - 1, X.max(axis=0) + 1
    rows = X[:8]
    for j, sign in enumerate(cst):
        if sign == 0:
            continue
        grid = np.linspace(lo[j], hi[j], n_grid)
        Z = np.repeat(rows, n_grid, axis=0)
        Z[:, j] = np.tile(grid, len(rows))
        out = np.asarray(predict(Z)).reshape(len(rows), n_grid, -1)
        steps = sign * np.diff(out, axis=1)
        assert steps.min() >= -tol, (j, steps.min())


def test_classifier_monotone_on_grid_against_the_data(binary):
    X, y = binary
    # constraints chosen against the data's own trend: they must hold anyway
    cst = [1, -1, 0, 1, -1]
    clf = TabularNetClassifier(
        monotonic_cst=cst, hidden_units=(16, 16), max_epochs=15, random_state=0
    ).fit(X, y)
    assert isinstance(clf.net_.module_, MonotoneMLP)
    assert_monotone(lambda Z: clf.predict_proba(Z)[:, 1], X, cst)


def test_regressor_monotone_every_output():
    X, y = make_regression(n_samples=200, n_features=4, n_targets=2, random_state=0)
    cst = [-1, 0, 1, 0]
    reg = TabularNetRegressor(
        monotonic_cst=cst, hidden_units=(8,), max_epochs=10, random_state=0
    ).fit(X, y)
    assert_monotone(reg.predict, X, cst)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    hidden=st.lists(st.integers(1, 6), max_size=3),
    activation=st.sampled_from(["relu", "leaky_relu", "elu", "tanh", "sigmoid"]),
    binary=st.booleans(),
    scale=st.floats(0.1, 20.0),
)
def test_module_monotone_for_any_parameters(seed, hidden, activation, binary, scale):
    """Random (large, negative) raw parameters, random inputs and steps."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cst = rng.integers(-1, 2, size=4)
    cst[rng.integers(4)] = rng.choice([-1, 1])
    net = MonotoneMLP(
        n_features=4,
        n_outputs=2 if binary else 3,
        monotonic_cst=cst,
        hidden_units=hidden,
        activation=activation,
        binary=binary,
    ).double()
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0, scale)
    x = torch.as_tensor(rng.normal(0, 3, size=(64, 4)))
    base = net(x)
    for j in np.flatnonzero(cst):
        step = torch.zeros_like(x)
        step[:, j] = torch.as_tensor(rng.exponential(2.0, size=64))
        moved = net(x + step)
        diff = cst[j] * (moved - base)
        if binary:  # the second logit (probability of classes_[1]) moves
            diff = diff[:, 1]
        assert diff.min().item() >= -1e-9 * (1 + base.abs().max().item())


def test_dict_by_name_and_all_zero(binary):
    X, y = binary
    df = pd.DataFrame(X, columns=list("abcde"))
    by_name = TabularNetClassifier(
        monotonic_cst={"b": 1}, hidden_units=(8,), max_epochs=3, random_state=0
    ).fit(df, y)
    by_list = TabularNetClassifier(
        monotonic_cst=[0, 1, 0, 0, 0], hidden_units=(8,), max_epochs=3, random_state=0
    ).fit(df, y)
    np.testing.assert_allclose(by_name.predict_proba(df), by_list.predict_proba(df))
    # no constraint at all is the plain network
    zero = TabularNetClassifier(
        monotonic_cst={"b": 0}, hidden_units=(8,), max_epochs=3, random_state=0
    ).fit(df, y)
    plain = TabularNetClassifier(hidden_units=(8,), max_epochs=3, random_state=0)
    plain.fit(df, y)
    assert type(zero.net_.module_) is MLP
    np.testing.assert_array_equal(zero.predict_proba(df), plain.predict_proba(df))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"monotonic_cst": {"zz": 1}}, "not fitted on"),
        ({"monotonic_cst": {"a": 2}}, r"monotonic_cst\['a'\] must be -1, 0 or 1"),
        ({"monotonic_cst": [1, 0]}, "2 entries but X has 5 columns"),
        ({"monotonic_cst": [1, 0, 0, 0, 3]}, r"only -1, 0 or 1; got \[3\]"),
        ({"monotonic_cst": [1, 0, 0, 0, 0], "batch_norm": True}, "batch_norm"),
        ({"monotonic_cst": [1, 0, 0, 0, 0], "activation": "gelu"}, "never"),
        ({"monotonic_cst": [1, 0, 0, 0, 0], "module": MLP}, "custom module"),
    ],
)
def test_bad_constraints_are_named(binary, params, match):
    X, y = binary
    df = pd.DataFrame(X, columns=list("abcde"))
    with pytest.raises(ValueError, match=match):
        TabularNetClassifier(max_epochs=1, **params).fit(df, y)


def test_dict_needs_feature_names_and_multiclass_is_refused(binary):
    X, y = binary
    with pytest.raises(ValueError, match="not fitted on data with feature names"):
        TabularNetClassifier(monotonic_cst={"a": 1}, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="multiclass"):
        TabularNetClassifier(monotonic_cst=[1, 0, 0, 0, 0], max_epochs=1).fit(
            X, np.arange(len(y)) % 3
        )


def test_pipeline_constraints_by_original_column(binary):
    X, y = binary
    df = pd.DataFrame(X[:, :3], columns=["income", "debt", "age"])
    df["city"] = np.where(X[:, 3] > 0, "north", "south")
    pre = make_column_transformer(
        (OneHotEncoder(sparse_output=False), ["city"]),
        (StandardScaler(), ["income", "debt", "age"]),
    ).set_output(transform="pandas")
    cst = monotonic_cst_for(pre.fit(df), {"income": -1, "debt": 1})
    assert cst == {"standardscaler__income": -1, "standardscaler__debt": 1}
    model = make_pipeline(
        pre,
        TabularNetClassifier(
            monotonic_cst=cst, hidden_units=(8,), max_epochs=5, random_state=0
        ),
    ).fit(df, y)
    net = model[-1]
    assert_monotone(
        lambda Z: net.predict_proba(pd.DataFrame(Z, columns=net.feature_names_in_))[
            :, 1
        ],
        pre.transform(df).to_numpy(),
        [
            {"standardscaler__income": -1, "standardscaler__debt": 1}.get(c, 0)
            for c in net.feature_names_in_
        ],
    )
    with pytest.raises(ValueError, match="'city'.*2 transformed columns"):
        monotonic_cst_for(pre, {"city": 1})
    with pytest.raises(ValueError, match="'zip'"):
        monotonic_cst_for(pre, {"zip": 1})


def test_fair_and_monotone_in_one_fit():
    rng = np.random.RandomState(0)
    n = 600
    group = rng.randint(2, size=n)
    income = rng.normal(group, 1.0)
    debt = rng.normal(0, 1.0, n)
    y = (income - debt + rng.normal(0, 0.7, n) > 0.5).astype(int)
    X = pd.DataFrame({"income": income, "debt": debt, "noise": rng.normal(size=n)})
    X["group"] = group
    net = TabularNetClassifier(
        monotonic_cst={"income": 1, "debt": -1},
        hidden_units=(16,),
        max_epochs=40,
        lr=1e-2,
        random_state=0,
    )
    fair = FairConstrainedClassifier(
        net, bound=0.05, method="lagrangian", sensitive_columns="group"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundNotMetWarning)
        fair.fit(X, y)
    assert isinstance(fair.estimator_.net_.module_, MonotoneMLP)
    assert any(c.startswith("multiplier") for c in fair.history_.columns)
    # the constraint acted: the gap is far below the unconstrained net's
    plain = clone(net).fit(X.drop(columns="group"), y)
    gap_plain = np.ptp(
        pd.Series(plain.predict(X.drop(columns="group"))).groupby(group).mean()
    )
    gap_fair = np.ptp(pd.Series(fair.predict(X)).groupby(group).mean())
    assert gap_fair < 0.1 < gap_plain
    cols = ["income", "debt", "noise", "group"]
    assert_monotone(
        lambda Z: fair.predict_proba(pd.DataFrame(Z, columns=cols))[:, 1],
        X.to_numpy(),
        [1, -1, 0, 0],
    )


# opacus hooks the first layer, whose input needs no gradient
@pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning")
def test_per_sample_gradients_for_dp_sgd():
    """opacus computes the module's per-sample gradients (DP-SGD needs them)."""
    opacus = pytest.importorskip("opacus")
    torch.manual_seed(0)
    params = dict(
        n_features=4,
        n_outputs=2,
        monotonic_cst=[1, -1, 0, 0],
        hidden_units=(8,),
        binary=True,
    )
    net = MonotoneMLP(**params)
    wrapped = opacus.GradSampleModule(net, loss_reduction="sum")
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    torch.nn.functional.cross_entropy(wrapped(x), y, reduction="sum").backward()
    one = MonotoneMLP(**params)
    one.load_state_dict(net.state_dict())
    torch.nn.functional.cross_entropy(one(x[5:6]), y[5:6], reduction="sum").backward()
    per_sample = dict(net.named_parameters())
    for name, p in one.named_parameters():
        torch.testing.assert_close(p.grad, per_sample[name].grad_sample[5])


def _all_monotone(n_features, n_outputs, **params):
    """Constrain every input: the estimator checks then exercise MonotoneMLP."""
    if n_outputs > 2:  # multiclass checks: no constraint is possible
        return MLP(n_features=n_features, n_outputs=n_outputs, **params)
    cst = [1 if i % 2 == 0 else -1 for i in range(n_features)]
    return MonotoneMLP(
        n_features=n_features,
        n_outputs=n_outputs,
        monotonic_cst=cst,
        binary=n_outputs == 2,
        **params,
    )


def _all_monotone_regression(n_features, n_outputs, **params):
    cst = [1 if i % 2 == 0 else -1 for i in range(n_features)]
    return MonotoneMLP(
        n_features=n_features, n_outputs=n_outputs, monotonic_cst=cst, **params
    )


@parametrize_with_checks(
    [
        TabularNetClassifier(
            module=_all_monotone,
            module_params={"hidden_units": (16,)},
            max_epochs=50,
            lr=1e-2,
            random_state=0,
        ),
        TabularNetRegressor(
            module=_all_monotone_regression,
            module_params={"hidden_units": (16,)},
            max_epochs=50,
            lr=1e-2,
            random_state=0,
        ),
    ]
)
def test_monotone_module_passes_estimator_checks(estimator, check):
    check(estimator)
