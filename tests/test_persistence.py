"""Every fitted estimator, in every mode that changes its fitted state, comes
back from skops (``skops.io``) and pickle predicting bit for bit the same,
with equal fitted attributes; skops loads it only with the exact trusted
types listed in ``TRUSTED`` (the list the user guide shows, see
docs/user_guide/persistence.rst), so that a new type in a saved model fails
here and is reviewed.

Also: :mod:`sklfair._persistence` rebuilds pandas objects exactly, and the
fairlearn objects inside the reductions and threshold methods predict the
same after loading (the state is read from their ``__dict__``: this pins it
for the installed fairlearn).
"""

import functools
import pickle
import textwrap
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sklfair._persistence import decode_state, encode_state
from sklfair.constrained import FairConstrainedClassifier, FairConstrainedRegressor
from sklfair.constraints import Independence
from sklfair.deploy import (
    QuantizedNetClassifier,
    QuantizedNetRegressor,
    prune,
    quantize,
)
from sklfair.distillation import DistilledClassifier, DistilledRegressor
from sklfair.nets import TabularNetClassifier, TabularNetRegressor
from sklfair.privacy import DPSGD
from sklfair.reweighting import ReweighingClassifier

sio = pytest.importorskip("skops.io")

# fits on tiny data: small groups, unmet bounds and degenerate fits warn
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.SklfairWarning"),
    pytest.mark.filterwarnings("ignore:Reweighing.*cell:UserWarning"),
]

# [trusted-types]
#: The types ``skops.io.get_untrusted_types`` reports for each fitted model
#: (besides those skops trusts by default): what to pass as ``trusted=``.
#: The inner estimators' own types (a tree, a KD-tree) come with them.
TRUSTED = {
    "TabularNetClassifier": [
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "TabularNetRegressor": [
        "sklfair.nets._regressor.TabularNetRegressor",
    ],
    "TabularNetClassifier monotone": [
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "TabularNetClassifier private": [
        "opacus.accountants.rdp.RDPAccountant",
        "sklfair.nets._classifier.TabularNetClassifier",
        "sklfair.privacy._dpsgd.DPSGD",
        "sklfair.privacy._dpsgd.PrivacyLedger",
    ],
    "TabularNetRegressor private": [
        "opacus.accountants.rdp.RDPAccountant",
        "sklfair.nets._regressor.TabularNetRegressor",
        "sklfair.privacy._dpsgd.DPSGD",
        "sklfair.privacy._dpsgd.PrivacyLedger",
    ],
    "Pipeline ending in TabularNetClassifier": [
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "ReweighingClassifier weights": [
        "sklfair.reweighting.ReweighingClassifier",
    ],
    "ReweighingClassifier weights, DataFrame": [
        "sklfair.reweighting.ReweighingClassifier",
    ],
    "ReweighingClassifier resample": [
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklfair.reweighting.ReweighingClassifier",
    ],
    "FairConstrainedClassifier lagrangian": [
        "sklfair.constrained._classifier.FairConstrainedClassifier",
        "sklfair.constraints._classification.DemographicParity",
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "FairConstrainedClassifier penalty": [
        "sklfair.constrained._classifier.FairConstrainedClassifier",
        "sklfair.constraints._classification.DemographicParity",
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "FairConstrainedClassifier adversarial": [
        "sklfair.constrained._classifier.FairConstrainedClassifier",
        "sklfair.constraints._classification.DemographicParity",
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "FairConstrainedClassifier reductions": [
        "fairlearn.reductions._exponentiated_gradient._lagrangian._PredictorAsCallable",
        "fairlearn.reductions._exponentiated_gradient.exponentiated_gradient.ExponentiatedGradient",
        "fairlearn.reductions._moments.utility_parity.DemographicParity",
        "sklfair.constrained._classifier.FairConstrainedClassifier",
        "sklfair.constrained._fairlearn._FinalStepWeights",
        "sklfair.constraints._classification.DemographicParity",
    ],
    "FairConstrainedClassifier threshold": [
        "fairlearn.postprocessing._interpolated_thresholder.InterpolatedThresholder",
        "fairlearn.postprocessing._threshold_operation.ThresholdOperation",
        "fairlearn.postprocessing._threshold_optimizer.ThresholdOptimizer",
        "sklearn.utils._bunch.Bunch",
        "sklfair.constrained._classifier.FairConstrainedClassifier",
        "sklfair.constrained._fairlearn._Float64Scores",
        "sklfair.constraints._classification.DemographicParity",
    ],
    "FairConstrainedClassifier threshold, 3 classes": [
        "sklfair.constrained._classifier.FairConstrainedClassifier",
        "sklfair.constrained._multiclass_threshold.GroupOffsets",
        "sklfair.constraints._classification.DemographicParity",
    ],
    "FairConstrainedClassifier lagrangian, Independence": [
        "sklfair.constrained._classifier.FairConstrainedClassifier",
        "sklfair.constraints._continuous.Independence",
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "FairConstrainedClassifier penalty, Independence": [
        "sklfair.constrained._classifier.FairConstrainedClassifier",
        "sklfair.constraints._continuous.Independence",
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "FairConstrainedRegressor lagrangian": [
        "sklfair.constrained._regressor.FairConstrainedRegressor",
        "sklfair.constraints._regression.GroupMeanParity",
        "sklfair.nets._regressor.TabularNetRegressor",
    ],
    "FairConstrainedRegressor penalty": [
        "sklfair.constrained._regressor.FairConstrainedRegressor",
        "sklfair.constraints._regression.GroupMeanParity",
        "sklfair.nets._regressor.TabularNetRegressor",
    ],
    "FairConstrainedRegressor adversarial": [
        "sklfair.constrained._regressor.FairConstrainedRegressor",
        "sklfair.constraints._regression.GroupMeanParity",
        "sklfair.nets._regressor.TabularNetRegressor",
    ],
    "FairConstrainedRegressor reductions": [
        "fairlearn.reductions._exponentiated_gradient._lagrangian._PredictorAsCallable",
        "fairlearn.reductions._exponentiated_gradient.exponentiated_gradient.ExponentiatedGradient",
        "fairlearn.reductions._moments.bounded_group_loss.BoundedGroupLoss",
        "fairlearn.reductions._moments.bounded_group_loss.SquareLoss",
        "sklfair.constrained._fairlearn._FinalStepWeights",
        "sklfair.constrained._regressor.FairConstrainedRegressor",
        "sklfair.constraints._regression.BoundedGroupLoss",
    ],
    "DistilledClassifier": [
        "sklearn.tree._tree.Tree",
        "sklfair.distillation._classifier.DistilledClassifier",
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "DistilledClassifier fair": [
        "sklearn.tree._tree.Tree",
        "sklfair.constrained._lagrangian.LagrangianTerm",
        "sklfair.constraints._classification.DemographicParity",
        "sklfair.distillation._classifier.DistilledClassifier",
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "DistilledRegressor": [
        "sklearn.tree._tree.Tree",
        "sklfair.distillation._regressor.DistilledRegressor",
        "sklfair.nets._regressor.TabularNetRegressor",
    ],
    "DistilledRegressor fair": [
        "sklearn.tree._tree.Tree",
        "sklfair.constrained._lagrangian.LagrangianTerm",
        "sklfair.constraints._regression.GroupMeanParity",
        "sklfair.distillation._regressor.DistilledRegressor",
        "sklfair.nets._regressor.TabularNetRegressor",
    ],
    "prune(TabularNetClassifier)": [
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "quantize(FairConstrainedClassifier lagrangian)": [
        "sklfair.constrained._classifier.FairConstrainedClassifier",
        "sklfair.constraints._classification.DemographicParity",
        "sklfair.deploy._quantize.QuantizedNetClassifier",
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "QuantizedNetClassifier": [
        "sklfair.deploy._quantize.QuantizedNetClassifier",
        "sklfair.nets._classifier.TabularNetClassifier",
    ],
    "QuantizedNetRegressor": [
        "sklfair.deploy._quantize.QuantizedNetRegressor",
        "sklfair.nets._regressor.TabularNetRegressor",
    ],
}
# [/trusted-types]


def _net(**params):
    return TabularNetClassifier(
        **{"hidden_units": (8,), "max_epochs": 5, "random_state": 0, **params}
    )


def _regressor_net(**params):
    return TabularNetRegressor(
        **{"hidden_units": (8,), "max_epochs": 5, "random_state": 0, **params}
    )


def _private(cls):
    return cls(
        hidden_units=(8,),
        max_epochs=3,
        batch_size=None,
        random_state=0,
        privacy=DPSGD(100.0, accept_weights=True),
    )


#: name -> (unfitted model, the kind of data it is fitted on; see ``data``).
SETUPS = {
    "TabularNetClassifier": (_net(), "classification"),
    "TabularNetRegressor": (_regressor_net(), "regression"),
    "TabularNetClassifier monotone": (
        _net(monotonic_cst=[0, 1, -1, 0, 0]),
        "classification",
    ),
    "TabularNetClassifier private": (_private(TabularNetClassifier), "classification"),
    "TabularNetRegressor private": (_private(TabularNetRegressor), "regression"),
    "Pipeline ending in TabularNetClassifier": (
        make_pipeline(StandardScaler(), _net()),
        "classification",
    ),
    "ReweighingClassifier weights": (
        ReweighingClassifier(LogisticRegression(), sensitive_columns=0),
        "classification",
    ),
    "ReweighingClassifier weights, DataFrame": (
        ReweighingClassifier(LogisticRegression(), sensitive_columns="sex"),
        "frame",
    ),
    "ReweighingClassifier resample": (
        ReweighingClassifier(
            KNeighborsClassifier(),
            sensitive_columns=0,
            method="resample",
            random_state=0,
        ),
        "classification",
    ),
    **{
        f"FairConstrainedClassifier {method}": (
            FairConstrainedClassifier(
                _net(), bound=0.1, method=method, sensitive_columns=0
            ),
            "classification",
        )
        for method in ("lagrangian", "penalty", "adversarial")
    },
    "FairConstrainedClassifier reductions": (
        FairConstrainedClassifier(
            LogisticRegression(),
            bound=0.1,
            method="reductions",
            max_iter=5,
            sensitive_columns=0,
        ),
        "classification",
    ),
    "FairConstrainedClassifier threshold": (
        FairConstrainedClassifier(
            LogisticRegression(),
            bound=0.1,
            method="threshold",
            sensitive_columns=0,
            random_state=0,
        ),
        "classification",
    ),
    "FairConstrainedClassifier threshold, 3 classes": (
        FairConstrainedClassifier(
            LogisticRegression(),
            bound=0.1,
            method="threshold",
            sensitive_columns=0,
            random_state=0,
        ),
        "3 classes",
    ),
    **{
        f"FairConstrainedClassifier {method}, Independence": (
            FairConstrainedClassifier(
                _net(),
                constraint=Independence(bound=0.1),
                method=method,
                sensitive_columns=1,  # a continuous attribute
            ),
            "classification",
        )
        for method in ("lagrangian", "penalty")
    },
    **{
        f"FairConstrainedRegressor {method}": (
            FairConstrainedRegressor(
                _regressor_net(), bound=100.0, method=method, sensitive_columns=0
            ),
            "regression",
        )
        for method in ("lagrangian", "penalty", "adversarial")
    },
    "FairConstrainedRegressor reductions": (
        FairConstrainedRegressor(
            LinearRegression(),
            constraint="bounded_group_loss",
            bound=100.0,
            method="reductions",
            max_iter=2,
            sensitive_columns=0,
        ),
        "regression",
    ),
    "DistilledClassifier": (
        DistilledClassifier(
            DecisionTreeClassifier(max_depth=3, random_state=0),
            _net(),
            random_state=0,
        ),
        "classification",
    ),
    "DistilledClassifier fair": (
        DistilledClassifier(
            DecisionTreeClassifier(max_depth=3, random_state=0),
            _net(),
            constraint="demographic_parity",
            bound=0.1,
            sensitive_columns=0,
            random_state=0,
        ),
        "classification",
    ),
    "DistilledRegressor": (
        DistilledRegressor(
            DecisionTreeRegressor(max_depth=3, random_state=0),
            _regressor_net(),
            random_state=0,
        ),
        "regression",
    ),
    "DistilledRegressor fair": (
        DistilledRegressor(
            DecisionTreeRegressor(max_depth=3, random_state=0),
            _regressor_net(),
            constraint="group_mean_parity",
            bound=1.0,
            sensitive_columns=0,
            random_state=0,
        ),
        "regression",
    ),
    "QuantizedNetClassifier": (QuantizedNetClassifier(_net()), "classification"),
    # the deploy functions' copies of fitted models
    "prune(TabularNetClassifier)": (
        lambda X, y: prune(_net().fit(X, y), X, y, sparsity=0.5),
        "classification",
    ),
    "quantize(FairConstrainedClassifier lagrangian)": (
        lambda X, y: quantize(fitted("FairConstrainedClassifier lagrangian")[0]),
        "classification",
    ),
    "QuantizedNetRegressor": (QuantizedNetRegressor(_regressor_net()), "regression"),
}


def data(kind):
    """Small data; column 0 (or "sex") is a two-valued sensitive attribute."""
    if kind == "regression":
        X, y = make_regression(n_samples=120, n_features=5, random_state=0)
    else:
        X, y = make_classification(
            n_samples=120,
            n_features=5,
            n_informative=3,
            n_classes=3 if kind == "3 classes" else 2,
            random_state=0,
        )
    X[:, 0] = X[:, 0] > 0
    if kind == "frame":
        X = pd.DataFrame(X[:, 1:], columns=[f"x{i}" for i in range(4)])
        X.insert(2, "sex", np.where(np.arange(120) % 3 == 0, "f", "m"))
        X["sex"] = X["sex"].astype("category")
    return X, y


@functools.cache
def fitted(name):
    from sklearn.base import clone

    model, kind = SETUPS[name]
    X, y = data(kind)
    if not hasattr(model, "fit"):  # a function that returns a fitted model
        return model(X, y), X
    return clone(model).fit(X, y), X


METHODS = ("predict", "predict_proba", "decision_function")


def assert_same_predictions(model, loaded, X):
    for method in METHODS:
        if hasattr(model, method):
            assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))


def assert_same(a, b, path="model", seen=None):
    """``a`` and ``b`` equal: values, dtypes, types, recursively."""
    seen = set() if seen is None else seen
    assert type(a) is type(b), f"{path}: {type(a)} != {type(b)}"
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_index_equal(a.columns, b.columns, exact=True)
        for i in range(a.shape[1]):
            assert_same(a.iloc[:, i], b.iloc[:, i], f"{path}.iloc[:, {i}]", seen)
        pd.testing.assert_index_equal(a.index, b.index, exact=True)
    elif isinstance(a, pd.Series) and a.dtype == object:
        # objects (fairlearn's predictors, threshold rules) by their content
        pd.testing.assert_index_equal(a.index, b.index, exact=True)
        assert a.name == b.name, path
        assert_same(list(a), list(b), path, seen)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b, exact=True)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, path
        assert_array_equal(a, b, err_msg=path)
    elif type(a) is torch.Tensor or type(a) is torch.nn.Parameter:
        assert a.dtype == b.dtype, path
        assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=path)
    elif isinstance(a, torch.Tensor):
        pass  # torchao's int8 tensors, built from the compared ``layers_``
    elif isinstance(a, torch.nn.Module):
        assert_same(a.state_dict(), b.state_dict(), path, seen)
    elif isinstance(a, dict):
        assert set(a) == set(b), path  # attributes may be set in another order
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]", seen)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, z) in enumerate(zip(a, b)):
            assert_same(x, z, f"{path}[{i}]", seen)
    elif isinstance(a, (float, np.floating)):
        assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, (str, bytes, int, bool, type(None), np.generic, slice)):
        assert a == b, path
    elif isinstance(a, torch.device):
        assert a == b, path
    elif isinstance(a, (type, types.FunctionType, types.BuiltinFunctionType)):
        assert a is b, path
    elif isinstance(a, np.random.RandomState):
        assert_same(a.get_state(), b.get_state(), path, seen)
    elif id(a) not in seen:
        seen.add(id(a))
        state_a, state_b = vars_or_state(a), vars_or_state(b)
        assert state_a is not None, path
        if "net_" in state_a:  # an sklfair network: skorch's net by its parts
            net_a, net_b = state_a.pop("net_"), state_b.pop("net_")
            assert_same(net_a.module_, net_b.module_, f"{path}.net_.module_")
            assert_same(list(net_a.history), list(net_b.history), f"{path}.net_")
        assert_same(state_a, state_b, path, seen)


def vars_or_state(obj):
    if hasattr(obj, "__dict__"):
        return dict(vars(obj))
    return obj.__getstate__()


def skops_round_trip(model, name):
    saved = sio.dumps(model)
    assert sorted(sio.get_untrusted_types(data=saved)) == sorted(TRUSTED[name])
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.loads(saved)
    return sio.loads(saved, trusted=TRUSTED[name])


@pytest.mark.parametrize("name", list(SETUPS))
@pytest.mark.parametrize("how", ["skops", "pickle"])
def test_round_trip(name, how):
    model, X = fitted(name)
    if how == "skops":
        loaded = skops_round_trip(model, name)
    else:
        loaded = pickle.loads(pickle.dumps(model))
    assert_same_predictions(model, loaded, X)
    assert_same(model, loaded)
    # and again: a loaded model saves the same
    assert_same_predictions(model, pickle.loads(pickle.dumps(loaded)), X)


def test_every_setup_has_its_trusted_types():
    assert set(TRUSTED) == set(SETUPS)


@pytest.mark.parametrize(
    "name",
    ["FairConstrainedClassifier reductions", "FairConstrainedRegressor reductions"],
)
def test_loaded_reduction_predicts_as_fairlearn(name):
    model, X = fitted(name)
    loaded = skops_round_trip(model, name)
    rows = np.asarray(X)[:, 1:]  # without the sensitive column 0
    assert_array_equal(
        loaded.estimator_.predict(rows, random_state=0),
        model.estimator_.predict(rows, random_state=0),
    )


def test_loaded_threshold_optimizer_predicts_as_fairlearn():
    name = "FairConstrainedClassifier threshold"
    model, X = fitted(name)
    loaded = skops_round_trip(model, name)
    rows, groups = X[:, 1:], X[:, 0]
    codes = np.searchsorted(model.groups_, groups)
    for fitted_model in (model, loaded):
        assert hasattr(fitted_model.estimator_, "interpolated_thresholder_")
    assert_array_equal(
        loaded.estimator_.predict(rows, sensitive_features=codes, random_state=0),
        model.estimator_.predict(rows, sensitive_features=codes, random_state=0),
    )


def frames():
    index = pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["group", None])
    return [
        pd.DataFrame(
            {
                "float": [0.5, np.nan, 2.0, -1.0],
                "int": np.arange(4, dtype=np.int32),
                "bool": [True, False, True, True],
                "string": pd.array(["x", None, "z", "w"], dtype="string"),
                "inferred": ["x", None, "z", "w"],  # "str" under pandas 3
                "object": np.array(["x", 1, None, 2.5], dtype=object),
                "category": pd.Categorical(["u", "v", "u", None], ordered=True),
                "nullable": pd.array([1, None, 3, 4], dtype="Int64"),
                "time": pd.date_range("2026-01-01", periods=4),
            },
            index=index,
        ),
        pd.DataFrame(np.eye(3), columns=pd.Index([("a", 1), ("a", 2), ("b", 1)])),
        pd.DataFrame(np.ones((2, 2)), columns=["x", "x"], index=[10, 20]),
        pd.DataFrame(index=pd.RangeIndex(2, 8, 2, name="row")),
    ]


@pytest.mark.parametrize("frame", frames())
@pytest.mark.parametrize("how", ["encoded", "skops"])
def test_pandas_objects_come_back_equal(frame, how):
    state = {
        "frame": frame,
        "series": frame.iloc[:, 0] if frame.shape[1] else pd.Series([], dtype=float),
        "columns": frame.columns,
        "index": frame.index,
        "nested": [({"frame": frame},)],
    }
    encoded = encode_state(state)
    assert state["frame"] is frame  # not modified
    if how == "skops":
        saved = sio.dumps(encoded)
        encoded = sio.loads(saved, trusted=sio.get_untrusted_types(data=saved))
    decoded = decode_state(encoded)
    assert_same(decoded, state)


def test_state_without_pandas_is_left_as_it_is():
    state = {"coef_": np.ones(3), "classes_": [0, 1], "n_iter_": 3}
    assert encode_state(state) is state


@pytest.mark.slow
def test_user_guide_example_runs(tmp_path, monkeypatch):
    """The example of docs/user_guide/persistence.rst runs, and the file it
    saves needs exactly the listed types of its kind of model."""
    page = Path(__file__).parents[1] / "docs" / "user_guide" / "persistence.rst"
    text = page.read_text()
    block = text.split(".. code-block:: python\n\n", 1)[1].split("\n\n``", 1)[0]
    code = textwrap.dedent(block)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, str(page), "exec"), namespace)
    assert sorted(namespace["unknown"]) == sorted(
        TRUSTED["FairConstrainedClassifier threshold"]
    )
