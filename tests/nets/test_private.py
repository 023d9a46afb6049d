"""Private training (``privacy=DPSGD(...)``) through the one training loop."""

import pickle

import numpy as np
import pytest
import torch
from opacus.accountants import RDPAccountant
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from sklfair.constrained import FairConstrainedClassifier
from sklfair.distillation import DistilledClassifier
from sklfair.exceptions import (
    PrivacyBudgetError,
    PrivacyGuaranteeError,
    PrivacyWarning,
)
from sklfair.nets import TabularNetClassifier, TabularNetRegressor
from sklfair.privacy import DPSGD, noisy_fair_sample_weight
from sklfair.reweighting import ReweighingClassifier

# small data and short fits: the feasibility and degeneracy warnings are
# beside the point here (tests/constrained/test_feasibility.py tests them)
pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning"),
]

N = 400


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=N, n_features=6, random_state=0)


def private(epsilon=3.0, **params):
    spec = params.pop("spec", DPSGD(epsilon))
    return TabularNetClassifier(
        **{
            "hidden_units": (8,),
            "max_epochs": 4,
            "batch_size": 64,
            "random_state": 0,
            "privacy": spec,
            **params,
        }
    )


def rdp_epsilon(noise_multiplier, sample_rate, steps, delta):
    """opacus's RDP accountant, run by hand on the steps a fit should take."""
    accountant = RDPAccountant()
    accountant.history = [(noise_multiplier, sample_rate, steps)]
    return accountant.get_epsilon(delta=delta)


class BatchRows(Callback):
    """The row ids (first column times N) of every batch."""

    def initialize(self):
        self.rows = []
        return self

    def on_batch_begin(self, net, batch=None, **kwargs):
        self.rows.append(torch.round(batch[0][:, 0] * N).long().tolist())


class BatchSizes(Callback):
    def initialize(self):
        self.sizes = []
        return self

    def on_batch_begin(self, net, batch=None, **kwargs):
        self.sizes.append(len(batch[0]))


# --- the guarantee and its accounting ----------------------------------------
def test_fit_spends_the_target_over_every_planned_step(data):
    X, y = data
    clf = private().fit(X, y)
    assert clf.delta_ == 1 / N
    assert 2.95 < clf.epsilon_ <= 3.0
    # 4 epochs of ceil(400 / 64) = 7 steps at sample rate 1/7, counted by an
    # accountant that knows nothing of the fit
    expected = rdp_epsilon(clf.noise_multiplier_, 1 / 7, 4 * 7, 1 / N)
    assert clf.epsilon_ == pytest.approx(expected, rel=1e-12)
    assert "train_loss" not in clf.history_.columns  # an unprotected statistic
    assert "train_loss" in private(privacy=None).fit(X, y).history_.columns


def test_a_step_sums_the_clipped_gradients_of_the_rows_sampled(data, monkeypatch):
    """Without noise, a full-batch SGD step is minus the sum of the sampled rows'
    clipped gradients over the expected batch size, ``sum(w)``; a row of
    weight ``w`` is sampled with probability ``w``."""
    import sklfair.privacy._dpsgd as dpsgd

    monkeypatch.setattr(dpsgd, "_noise_multiplier", lambda *args: 0.0)
    X, y = data
    X = X.copy()
    X[:, 0] = np.arange(N) / N  # the row's id, read back from each batch
    w = np.where(np.arange(N) % 2 == 0, 1.0, 0.25)
    sampled = BatchRows()
    common = dict(optimizer="sgd", lr=1.0, batch_size=None, hidden_units=(5,))
    start = private(**common, privacy=None, max_epochs=0).fit(X, y)
    clf = private(
        **common,
        max_epochs=1,
        spec=DPSGD(max_grad_norm=0.05, accept_weights=True),
        callbacks=[("rows", sampled)],
    ).fit(X, y, sample_weight=w)
    (rows,) = sampled.rows
    assert set(range(0, N, 2)) <= set(rows)  # weight 1: always in
    assert 30 < len(set(range(1, N, 2)) & set(rows)) < 70  # a quarter of 200

    module = start.net_.module_
    params = {k: v.detach() for k, v in module.named_parameters()}

    def row_loss(p, x, target):
        logits = torch.func.functional_call(module, p, (x[None],))
        return torch.nn.functional.cross_entropy(logits, target[None])

    grads = torch.func.vmap(torch.func.grad(row_loss), in_dims=(None, 0, 0))(
        params,
        torch.as_tensor(X[rows], dtype=torch.float32),
        torch.as_tensor(y[rows]),
    )
    norms = torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in grads.values()))
    factor = (0.05 / (norms + 1e-6)).clamp(max=1.0)
    assert (factor < 1).float().mean() > 0.5  # the clipping binds for most rows
    for name, value in clf.net_.module_.named_parameters():
        step = torch.einsum("i,i...", factor, grads[name]) / w.sum()
        torch.testing.assert_close(value.detach(), params[name] - step)


def test_batches_are_poisson_samples(data):
    X, y = data
    sizes = BatchSizes()
    private(callbacks=[("sizes", sizes)], max_epochs=6).fit(X, y)
    # 6 epochs of 7 steps; each row joins each batch with probability 1/7
    assert len(sizes.sizes) == 42
    assert len(set(sizes.sizes)) > 5
    assert np.mean(sizes.sizes) == pytest.approx(N / 7, abs=5)


def test_empty_batches_still_take_their_noisy_step():
    X, y = make_classification(
        n_samples=6, n_features=3, n_informative=2, n_redundant=0, random_state=0
    )
    sizes = BatchSizes()
    clf = private(batch_size=1, max_epochs=5, callbacks=[("sizes", sizes)])
    before = clf.set_params(max_epochs=0, privacy=None).fit(X, y).net_.module_
    before = [p.detach().clone() for p in before.parameters()]
    clf.set_params(max_epochs=5, privacy=DPSGD(3.0)).fit(X, y)
    # 5 epochs of 6 steps at rate 1/6: about a third of the batches are empty
    assert len(sizes.sizes) < 30
    assert clf.epsilon_ == pytest.approx(
        rdp_epsilon(clf.noise_multiplier_, 1 / 6, 30, 1 / 6), rel=1e-12
    )
    after = list(clf.net_.module_.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(after, before))


# --- spending beyond the budget ------------------------------------------------
def test_partial_fit_stops_at_the_budget_even_after_pickling(data):
    X, y = data
    clf = private(max_epochs=3)
    spent = []
    for _ in range(2):
        spent.append(clf.partial_fit(X, y, classes=[0, 1]).epsilon_)
    clf = pickle.loads(pickle.dumps(clf))
    spent.append(clf.partial_fit(X, y).epsilon_)
    assert spent[0] < spent[1] < spent[2] <= 3.0
    with pytest.raises(PrivacyBudgetError, match="beyond target_epsilon=3"):
        clf.partial_fit(X, y)
    assert clf.epsilon_ == spent[2]  # refused before any step


def test_warm_start_cannot_spend_twice_but_early_stopping_saves(data):
    X, y = data
    clf = private(warm_start=True).fit(X, y)
    with pytest.raises(PrivacyBudgetError):
        clf.fit(X, y)
    stopped = private(
        early_stopping=True, n_iter_no_change=1, max_epochs=40, lr=0.05
    ).fit(X, y)
    assert stopped.n_iter_ < 40
    assert stopped.epsilon_ < 3.0
    # 360 training rows (40 held out): epochs of ceil(360 / 64) = 6 steps; the
    # noise was planned for 40 epochs, the epsilon counts the epochs run
    assert stopped.delta_ == 1 / 360
    assert stopped.epsilon_ == pytest.approx(
        rdp_epsilon(stopped.noise_multiplier_, 1 / 6, 6 * stopped.n_iter_, 1 / 360),
        rel=1e-12,
    )


def test_refit_without_privacy_makes_no_claim(data):
    X, y = data
    clf = private().fit(X, y)
    clf.set_params(privacy=None).fit(X, y)
    assert not hasattr(clf, "epsilon_")
    with pytest.raises(PrivacyGuaranteeError, match="trained without privacy"):
        private(privacy=None, warm_start=True).fit(X, y).set_params(
            privacy=DPSGD()
        ).fit(X, y)


# --- what the guarantee cannot cover ------------------------------------------
@pytest.mark.parametrize(
    "make_fit",
    [
        pytest.param(
            lambda X, y, A: FairConstrainedClassifier(
                private(), method="lagrangian"
            ).fit(X, y, sensitive_features=A),
            id="lagrangian",
        ),
        pytest.param(
            lambda X, y, A: FairConstrainedClassifier(private(), method="penalty").fit(
                X, y, sensitive_features=A
            ),
            id="penalty",
        ),
        pytest.param(
            lambda X, y, A: ReweighingClassifier(private()).fit(
                X, y, sensitive_features=A
            ),
            id="reweighing",
        ),
        pytest.param(
            lambda X, y, A: private().fit(X, y, sample_weight=1.0 + A),
            id="unequal-weights",
        ),
        pytest.param(
            lambda X, y, A: private(spec=DPSGD(accept_weights=True)).fit(
                X, y, sample_weight=1.0 + A
            ),
            id="weights-above-1",
        ),
        pytest.param(
            lambda X, y, A: private(batch_norm=True).fit(X, y), id="batch-norm"
        ),
        pytest.param(
            lambda X, y, A: private().fit_chunks([(X, y)], classes=[0, 1]),
            id="chunks",
        ),
    ],
)
def test_what_would_break_the_guarantee_is_refused(data, make_fit):
    X, y = data
    A = (X[:, 0] > 0).astype(int)
    with pytest.raises(PrivacyGuaranteeError):
        make_fit(X, y, A)


def test_weights_equal_or_declared_per_row(data):
    X, y = data
    plain = private().fit(X, y).predict_proba(X)
    equal = private().fit(X, y, sample_weight=np.full(N, 2.0)).predict_proba(X)
    np.testing.assert_array_equal(plain, equal)
    A = (X[:, 0] > 0).astype(int)
    w = noisy_fair_sample_weight(y, A, epsilon=0.5, random_state=0)
    spec = DPSGD(2.5, accept_weights=True)
    clf = private(spec=spec).fit(X, y, sample_weight=w)
    assert clf.epsilon_ <= 2.5  # + 0.5 for the counts: 3 in all


# --- through the public API of the other estimators ---------------------------
def test_private_student_of_a_distillation(data):
    X, y = data
    student = private(lr=0.05, max_epochs=10)
    distilled = DistilledClassifier(teacher=LogisticRegression(), student=student)
    with pytest.warns(PrivacyWarning, match="teacher"):
        distilled.fit(X, y)
    assert distilled.student_.epsilon_ <= 3.0
    assert distilled.score(X, y) > 0.7


def test_private_regressor_trains_on_targets_as_given():
    X, y = make_regression(n_samples=N, n_features=4, noise=1.0, random_state=0)
    y = y / y.std()
    reg = TabularNetRegressor(
        hidden_units=(16,), max_epochs=10, lr=2e-2, random_state=0, privacy=DPSGD(8.0)
    ).fit(X, y)
    assert reg.epsilon_ <= 8.0
    assert reg.score(X, y) > 0.7
    # no mean or scale of y is kept: they would leak, unprotected
    shifted = TabularNetRegressor(**reg.get_params(deep=False)).fit(X, y + 100.0)
    assert shifted.score(X, y + 100.0) < reg.score(X, y)


def test_privacy_parameters_are_searchable(data):
    X, y = data
    search = GridSearchCV(
        private(batch_size=None, lr=0.05), {"privacy__target_epsilon": [1.0, 8.0]}, cv=2
    ).fit(X, y)
    assert search.cv_results_["param_privacy__target_epsilon"].tolist() == [1.0, 8.0]
    best = search.best_estimator_
    assert best.epsilon_ <= best.privacy.target_epsilon
