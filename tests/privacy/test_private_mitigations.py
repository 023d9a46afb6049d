"""A private (DP-SGD) net inside a mitigation: allowed where the guarantee
covers what the mitigation reads, a clear error where it would not."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from sklfair.constrained import FairConstrainedClassifier
from sklfair.distillation import DistilledClassifier
from sklfair.exceptions import PrivacyGuaranteeError
from sklfair.nets import TabularNetClassifier
from sklfair.privacy import DPSGD, noisy_fair_sample_weight
from sklfair.reweighting import ReweighingClassifier

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]


def data(n=400, seed=0):
    rng = np.random.RandomState(seed)
    group = rng.randint(2, size=n)
    X = np.column_stack([rng.normal(size=n) + group, rng.normal(size=n), group])
    y = (X[:, 0] + rng.normal(0, 0.5, n) > 0.5).astype(int)
    return X, y, group


def private_net(**params):
    return TabularNetClassifier(
        hidden_units=(8,),
        max_epochs=2,
        batch_size=None,
        random_state=0,
        privacy=DPSGD(50.0, **params),
    )


@pytest.mark.parametrize(
    "meta, match",
    [
        (
            ReweighingClassifier(private_net(), sensitive_columns=[2]),
            "group x label counts",
        ),
        (
            FairConstrainedClassifier(
                private_net(), method="threshold", sensitive_columns=[2]
            ),
            "group thresholds",
        ),
        (
            FairConstrainedClassifier(
                private_net(), method="reductions", sensitive_columns=[2]
            ),
            "exact group rates",
        ),
        (
            DistilledClassifier(LogisticRegression(), private_net(), n_augment=1),
            "two people",
        ),
    ],
)
def test_a_mitigation_reading_outside_the_guarantee_is_refused(meta, match):
    X, y, _ = data()
    with pytest.raises(PrivacyGuaranteeError, match=match):
        meta.fit(X, y)


def test_the_lagrangian_term_is_refused_by_the_private_net():
    X, y, _ = data()
    clf = FairConstrainedClassifier(private_net(), sensitive_columns=[2])
    with pytest.raises(PrivacyGuaranteeError):
        clf.fit(X, y)


def test_noisy_reweighing_weights_train_a_private_net():
    X, y, group = data()
    weight = noisy_fair_sample_weight(y, group, epsilon=1.0, random_state=0)
    net = private_net(accept_weights=True).fit(X[:, :2], y, sample_weight=weight)
    assert net.epsilon_ <= 50.0 + 1e-6
    assert net.predict(X[:, :2]).shape == y.shape
