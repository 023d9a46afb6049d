"""A private net on real credit data, checked against oracles outside sklfair:
opacus's accountants and calibration run by hand, per-row gradients by
torch.func, and the refusals of budgets no noise can reach."""

import math

import numpy as np
import pytest
import torch
from opacus.accountants import PRVAccountant, RDPAccountant
from opacus.accountants.utils import get_noise_multiplier
from opacus.optimizers import DPOptimizer
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.callbacks import Callback

from sklfair.datasets import load_german_credit
from sklfair.distillation import DistilledClassifier
from sklfair.exceptions import PrivacyWarning
from sklfair.nets import NonFiniteLossError, TabularNetClassifier
from sklfair.privacy import DPSGD

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def german():
    bunch = load_german_credit()
    features = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    )
    X = features.fit_transform(bunch.data).astype(np.float32)
    return X, np.asarray(bunch.target)


def private(spec, **params):
    return TabularNetClassifier(
        **{
            "hidden_units": (8,),
            "batch_size": 128,
            "max_epochs": 3,
            "random_state": 0,
            "privacy": spec,
            **params,
        }
    )


@pytest.mark.parametrize(
    "mechanism, accountant", [("rdp", RDPAccountant), ("prv", PRVAccountant)]
)
def test_noise_and_epsilon_are_opacus_calibration_and_accounting(
    german, mechanism, accountant
):
    X, y = german
    clf = private(DPSGD(2.0, target_delta=1e-5, accountant=mechanism)).fit(X, y)
    steps, rate = 3 * math.ceil(1000 / 128), 1 / math.ceil(1000 / 128)
    assert clf.noise_multiplier_ == get_noise_multiplier(
        target_epsilon=2.0,
        target_delta=1e-5,
        sample_rate=rate,
        steps=steps,
        accountant=mechanism,
    )
    by_hand = accountant()
    by_hand.history = [(clf.noise_multiplier_, rate, steps)]
    assert clf.epsilon_ == pytest.approx(by_hand.get_epsilon(delta=1e-5), rel=1e-9)
    assert 1.98 < clf.epsilon_ <= 2.0
    assert clf.delta_ == 1e-5


class Batches(Callback):
    """Each Poisson batch's rows and the parameters it was computed at."""

    def initialize(self):
        self.batches = []
        return self

    def on_batch_begin(self, net, batch=None, **kwargs):
        params = {k: v.detach().clone() for k, v in net.module_.named_parameters()}
        self.batches.append({"X": batch[0], "y": batch[1], "params": params})


def test_every_rows_gradient_is_clipped_before_the_sum(german, monkeypatch):
    """opacus's per-sample gradients are each row's own gradient (torch.func),
    and what is summed is every one of them clipped to max_grad_norm."""
    X, y = german
    batches = Batches()
    clip_and_accumulate = DPOptimizer.clip_and_accumulate

    def spy(optimizer):
        clip_and_accumulate(optimizer)
        summed = [p.summed_grad.clone() for p in optimizer.params]
        batches.batches[-1]["summed"] = summed

    monkeypatch.setattr(DPOptimizer, "clip_and_accumulate", spy)
    clf = private(
        DPSGD(3.0, max_grad_norm=0.3),
        hidden_units=(6,),
        batch_size=250,
        max_epochs=1,
        callbacks=[("batches", batches)],
    ).fit(X, y)
    module = clf.net_.module_
    names = [name for name, _ in module.named_parameters()]

    def row_loss(params, x, target):
        logits = torch.func.functional_call(module, params, (x[None],))
        return torch.nn.functional.cross_entropy(logits, target[None])

    assert len(batches.batches) == 4
    for batch in batches.batches:
        grads = torch.func.vmap(torch.func.grad(row_loss), in_dims=(None, 0, 0))(
            batch["params"], batch["X"], batch["y"]
        )
        norms = torch.sqrt(sum(grads[k].flatten(1).pow(2).sum(1) for k in names))
        factor = (0.3 / (norms + 1e-6)).clamp(max=1.0)
        assert torch.all(norms * factor <= 0.3 + 1e-6)
        for name, summed in zip(names, batch["summed"]):
            torch.testing.assert_close(
                summed, torch.einsum("i,i...", factor, grads[name])
            )


@pytest.mark.parametrize("mechanism", ["rdp", "prv"])
def test_a_budget_no_noise_reaches_is_named(german, mechanism):
    """opacus says only "The privacy budget is too low."; the net names the
    budget, the plan and what to change."""
    X, y = german
    with pytest.raises(ValueError, match=r"target_epsilon=0\.001 at delta=0\.001"):
        private(DPSGD(1e-3, accountant=mechanism)).fit(X, y)


def test_delta_above_one_over_n_is_warned_about(german):
    X, y = german
    with pytest.warns(PrivacyWarning, match=r"target_delta=0\.01\) is above 1 / n"):
        clf = private(DPSGD(3.0, target_delta=0.01), max_epochs=1).fit(X, y)
    assert clf.delta_ == 0.01  # the guarantee stated is still the one computed


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_a_net_first_fitted_for_zero_epochs_calibrates_on_its_first_steps(german, how):
    """max_epochs=0 plans no step; the training that follows used to step with
    infinite noise (NaN weights, a NonFiniteLossError blaming lr)."""
    X, y = german
    clf = private(DPSGD(3.0), max_epochs=0, warm_start=how == "warm_start")
    if how == "warm_start":
        clf.fit(X, y).set_params(max_epochs=2).fit(X, y)
        epochs = 2
    else:
        clf.partial_fit(X, y, classes=[0, 1])
        epochs = 1
    steps = epochs * math.ceil(1000 / 128)
    assert clf.noise_multiplier_ == get_noise_multiplier(
        target_epsilon=3.0, target_delta=1e-3, sample_rate=1 / 8, steps=steps
    )
    assert 2.95 < clf.epsilon_ <= 3.0
    assert all(torch.isfinite(p).all() for p in clf.net_.module_.parameters())


def test_a_failed_warm_fit_reports_the_epsilon_its_steps_spent(german):
    """The weights keep the steps a failed continued fit took: epsilon_ must
    count them (it kept the earlier value), as the budget check already did."""
    X, y = german
    clf = private(DPSGD(10.0), max_epochs=1, warm_start=True).fit(X, y)
    before = clf.epsilon_
    # a raised budget lets the same noise take more steps
    clf.set_params(privacy=DPSGD(20.0), lr=1e30, max_epochs=2)
    with pytest.raises(NonFiniteLossError):
        clf.fit(X, y)
    ledger = clf._privacy_ledger
    spent = ledger.accountant.get_epsilon(delta=ledger.delta)
    assert clf.epsilon_ == spent > before


def test_a_private_student_publishes_no_exact_figure_of_its_rows(german):
    """A private fit's history holds no exact loss of the training rows: not
    train_loss, nor the distillation term's distill_kl."""
    X, y = german
    teacher = LogisticRegression(max_iter=500).fit(X, y)
    with pytest.warns(PrivacyWarning):
        student = DistilledClassifier(teacher, private(DPSGD(3.0))).fit(X, y)
    columns = set(student.history_.columns)
    assert not columns & {"train_loss", "distill_kl"}
