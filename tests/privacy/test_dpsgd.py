"""The DPSGD specification and its accounting, against opacus's own engine."""

import numpy as np
import pytest
import torch
from opacus import PrivacyEngine
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.utils._param_validation import InvalidParameterError
from torch.utils.data import DataLoader, TensorDataset

from sklfair.nets import TabularNetClassifier
from sklfair.privacy import DPSGD, private_training

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning")
@pytest.mark.parametrize("mechanism", ["rdp", "prv"])
def test_epsilon_and_noise_match_opacus_privacy_engine(mechanism):
    """Same rows, batch size, epochs and budget: opacus's PrivacyEngine, run
    on its own DataLoader, picks the same noise and spends the same epsilon."""
    n, batch, epochs, delta = 1000, 32, 2, 1e-4
    X, y = make_classification(n_samples=n, n_features=5, random_state=0)
    spec = DPSGD(2.0, target_delta=delta, accountant=mechanism)
    clf = TabularNetClassifier(
        hidden_units=(4,), batch_size=batch, max_epochs=epochs, privacy=spec
    ).fit(X, y)

    module = torch.nn.Linear(5, 2)
    loader = DataLoader(
        TensorDataset(torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)),
        batch_size=batch,
    )
    engine = PrivacyEngine(accountant=mechanism)
    module, optimizer, loader = engine.make_private_with_epsilon(
        module=module,
        optimizer=torch.optim.SGD(module.parameters(), lr=0.1),
        data_loader=loader,
        target_epsilon=2.0,
        target_delta=delta,
        epochs=epochs,
        max_grad_norm=1.0,
    )
    for _ in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(module(xb), yb).backward()
            optimizer.step()
    assert clf.noise_multiplier_ == optimizer.noise_multiplier
    assert clf.epsilon_ == pytest.approx(engine.get_epsilon(delta), rel=1e-9)
    assert clf.epsilon_ <= 2.0


def test_spec_is_a_searchable_parameter_object():
    spec = DPSGD(1.0, max_grad_norm=0.5)
    assert spec.get_params() == {
        "target_epsilon": 1.0,
        "target_delta": None,
        "max_grad_norm": 0.5,
        "accountant": "rdp",
        "accept_weights": False,
    }
    net = TabularNetClassifier(privacy=spec)
    copy = clone(net)
    assert copy.privacy is not spec and copy.privacy.get_params() == spec.get_params()
    net.set_params(privacy__target_epsilon=2.0)
    assert net.privacy.target_epsilon == 2.0
    assert private_training(net) is spec


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"target_epsilon": -1.0}, InvalidParameterError, "target_epsilon"),
        ({"target_delta": 1.0}, InvalidParameterError, "target_delta"),
        ({"max_grad_norm": 0}, InvalidParameterError, "max_grad_norm"),
        ({"accountant": "gdp"}, InvalidParameterError, "accountant"),
        ({"target_epsilon": np.inf}, ValueError, "privacy=None"),
    ],
)
def test_bad_specs_are_named_at_fit(params, error, match):
    X, y = make_classification(n_samples=40, random_state=0)
    with pytest.raises(error, match=match):
        TabularNetClassifier(privacy=DPSGD(**params)).fit(X, y)


def test_a_net_takes_only_a_dpsgd():
    X, y = make_classification(n_samples=40, random_state=0)
    with pytest.raises(InvalidParameterError, match="privacy"):
        TabularNetClassifier(privacy={"target_epsilon": 3.0}).fit(X, y)
