"""The host (numpy) surrogate path of the gap terms against the torch path.

On a CPU the built-in classification constraints compute their surrogate,
their decisions and the surrogate's gradient in numpy (``_host_values``), and
the loss terms add the result through one autograd function. The torch path
(``_values`` and autograd) is the oracle: on batches of real data (German
credit) the value and the gradient with respect to the outputs must agree,
and a fit must record the same multipliers, gaps and losses.
"""

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler
from term_doubles import FakeNet

from sklfair.constrained import AdversarialTerm, LagrangianTerm, PenaltyTerm
from sklfair.constrained._gap_term import GapTerm
from sklfair.constraints import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
    Independence,
)
from sklfair.constraints._classification import _ClassificationConstraint
from sklfair.datasets import load_german_credit
from sklfair.nets import TabularNetClassifier


@pytest.fixture(scope="module")
def german():
    """Standardised numeric inputs, the label, 3 age bands as a 3-class label,
    and the sex / age-band codes of German credit."""
    bunch = load_german_credit()
    X = StandardScaler().fit_transform(
        bunch.data.select_dtypes("number").to_numpy(dtype=np.float64)
    )
    age = bunch.data["age"].to_numpy()
    bands = np.digitize(age, np.quantile(age, [1 / 3, 2 / 3]))
    sex = np.unique(bunch.sensitive["sex"].astype(str), return_inverse=True)[1]
    age_band = bunch.sensitive["age_band"].astype(str)
    return (
        X,
        bunch.target.to_numpy(),
        bands,
        sex,
        np.unique(age_band, return_inverse=True)[1],
    )


def real_batch(german, n_classes, rows, seed=0):
    """Logits of a seeded linear layer on real rows, with their labels,
    weights and groups (sex x age band: up to 4 groups)."""
    X, y, bands, sex, age_band = german
    rows = np.asarray(rows)
    torch.manual_seed(seed)
    layer = torch.nn.Linear(X.shape[1], n_classes)
    with torch.no_grad():
        outputs = 2.0 * layer(torch.as_tensor(X[rows], dtype=torch.float32))
    outputs.requires_grad_()
    labels = y if n_classes == 2 else bands
    groups = 2 * sex + (age_band > 0)
    weight = np.random.default_rng(seed).uniform(0.5, 1.5, size=len(rows))
    batch = {
        "y": torch.as_tensor(labels[rows], dtype=torch.int64),
        "sample_weight": torch.as_tensor(weight, dtype=torch.float32),
        "sensitive_features": torch.as_tensor(groups[rows], dtype=torch.int64),
        "index": torch.arange(len(rows)),
    }
    batch["sample_loss"] = torch.nn.functional.cross_entropy(
        outputs, batch["y"], reduction="none"
    )
    return outputs, batch


def set_up(term, outputs, batch):
    term.setup(
        FakeNet(),
        {
            "X": torch.zeros(len(batch["y"]), 2),
            "y": batch["y"],
            "sample_weight": batch["sample_weight"],
            "sensitive_features": batch["sensitive_features"],
            "n_groups": 4,
            "n_outputs": outputs.shape[1],
        },
    )
    return term


CASES = [
    ([DemographicParity()], 2),
    ([EqualizedOdds()], 2),
    ([EqualOpportunity()], 2),
    ([ErrorRateParity()], 2),
    ([DemographicParity(temperature=0.7)], 3),
    ([EqualizedOdds()], 3),
    ([EqualOpportunity(), ErrorRateParity(temperature=1.0)], 3),
]


@pytest.mark.parametrize("constraints, n_classes", CASES)
@pytest.mark.parametrize("method", ["lagrangian", "penalty"])
def test_host_value_and_gradient_are_the_torch_paths(
    german, constraints, n_classes, method
):
    outputs, batch = real_batch(german, n_classes, rows=np.arange(300, 556))
    # the host path on the float32 outputs; the torch path on them and, as
    # the exact oracle, on the same values in float64
    double = outputs.detach().double().requires_grad_()
    results = []
    for on_host, logits in ((True, outputs), (False, outputs), (False, double)):
        if method == "lagrangian":
            term = LagrangianTerm(constraints, bound=0.01, rho=1.5)
        else:
            term = PenaltyTerm(constraints, 2.0, bound=0.03)
        set_up(term, logits, batch)
        assert term._host_values == [True] * len(constraints)
        term._host_values = [on_host] * len(constraints)
        if method == "lagrangian":
            n_gaps = len(term.gap_names_)
            draw = np.random.default_rng(1).uniform(size=(2, n_gaps))
            term.multipliers_ = torch.from_numpy(3.0 * draw[0])
            term._running_excess = np.maximum(draw[1] - 0.5, 0.0)
        total = term(torch.tensor(0.0, dtype=logits.dtype), logits, batch)
        (grad,) = torch.autograd.grad(total, logits)
        # the call took the batch's dual step with the decisions' sums
        dual = (
            (term.multipliers_.numpy().copy(), term._running_excess.copy())
            if method == "lagrangian"
            else None
        )
        results.append((total.item(), grad.double(), dual))
    (host_value, host_grad, host_dual), torch32, torch64 = results
    assert torch64[1].abs().max() > 1e-3  # a real gradient, not zeros
    # float64 arithmetic on the host: the exact value up to float32's
    # rounding of the result
    assert host_value == pytest.approx(torch64[0], rel=1e-6, abs=1e-7)
    torch.testing.assert_close(host_grad, torch64[1], rtol=1e-6, atol=1e-9)
    # torch's float32 softmax rounds more
    assert host_value == pytest.approx(torch32[0], rel=1e-5, abs=1e-6)
    torch.testing.assert_close(host_grad, torch32[1], rtol=1e-4, atol=1e-6)
    if method == "lagrangian":  # the dual step read the same sums
        for a, b in zip(host_dual, torch64[2], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "constraint, method",
    [("demographic_parity", "lagrangian"), ("equalized_odds", "penalty")],
)
def test_a_fit_records_what_the_torch_path_records(
    german, monkeypatch, constraint, method
):
    # 5 epochs of 16 batches on German credit (sex): the multipliers, the
    # gaps and the losses of both paths agree up to float rounding
    X, y, _, sex, _ = german

    def fit():
        if method == "lagrangian":
            term = LagrangianTerm(constraint, 0.02, confidence=0.95, select_best=False)
        else:
            term = PenaltyTerm(constraint, 2.0, bound=0.02)
        net = TabularNetClassifier(
            hidden_units=(16,), max_epochs=5, batch_size=64, random_state=0
        )
        net.fit(X, y, sensitive_features=sex, loss_terms=[term])
        return term, net.predict_proba(X)

    host_term, host_proba = fit()
    assert host_term._host_values == [True]
    monkeypatch.setattr(_ClassificationConstraint, "_has_host_values", lambda s: False)
    term, proba = fit()
    assert term._host_values == [False]
    np.testing.assert_allclose(host_proba, proba, rtol=1e-4, atol=1e-5)
    assert len(host_term.history_) == len(term.history_) == 5
    for host, record in zip(host_term.history_, term.history_, strict=True):
        assert host.keys() == record.keys()
        for key in record:
            np.testing.assert_allclose(host[key], record[key], rtol=1e-4, atol=1e-6)
    if method == "lagrangian":
        # the constraint was active
        assert max(record["multipliers"].max() for record in term.history_) > 0
        np.testing.assert_allclose(
            host_term.multipliers_, term.multipliers_, rtol=1e-4, atol=1e-6
        )


def test_only_the_built_in_methods_take_the_host_path():
    for constraint in (
        DemographicParity(),
        EqualizedOdds(),
        EqualOpportunity(),
        ErrorRateParity(),
    ):
        assert constraint._has_host_values()

    class OwnSurrogate(DemographicParity):
        """A user's surrogate: numpy knows nothing of it."""

        def _values(self, outputs, batch):
            hard, mask = self._decisions(outputs, batch)
            return torch.sigmoid(outputs[:, 1:] - outputs[:, :1]), hard, mask

    class OwnPairs(EqualizedOdds):
        """Other events through ``_pairs``, which both paths read."""

        def _pairs(self, n_classes):
            return [(1, 1)]

    assert not OwnSurrogate()._has_host_values()
    assert OwnPairs()._has_host_values()
    assert not Independence()._has_host_values()


def test_classification_terms_leave_the_base_loss_to_its_one_operation_mean(german):
    # equal weights and terms that do not read the rows' losses: the loop
    # takes cross-entropy's own mean (one operation) and the batch has no
    # "sample_loss"; a term that reads them still gets them
    from sklfair.nets import LossTerm

    X, y, _, sex, _ = german
    seen = {}

    class Recording(LagrangianTerm):
        def _addition(self, outputs, batch):  # by hand or through autograd
            seen["gap term"] = "sample_loss" in batch
            return super()._addition(outputs, batch)

        def _binary_batch(self, outputs, batch, into=None):  # compiled
            seen["gap term"] = "sample_loss" in batch
            return super()._binary_batch(outputs, batch, into)

    class Reading(LossTerm):
        requires = ("sensitive_features",)

        def __call__(self, loss, outputs, batch):
            seen["reading term"] = "sample_loss" in batch
            return loss

    for terms in ([Recording("demographic_parity", 0.05)], [Reading()]):
        net = TabularNetClassifier(hidden_units=(8,), max_epochs=1, random_state=0)
        net.fit(X, y, sensitive_features=sex, loss_terms=terms)
    assert seen == {"gap term": False, "reading term": True}


def test_the_epoch_end_record_in_numpy_is_torchs(german):
    # at an epoch end on a CPU, the gaps and their standard errors come from
    # numpy bincounts; torch's index_add_ path (other devices) is the oracle
    X, y, bands, sex, age_band = german
    groups = 2 * sex + (age_band > 0)

    class Keep(LagrangianTerm):
        def on_train_end(self, net):  # keep the monitored rows
            pass

    term = Keep(["equalized_odds", "error_rate_parity"], 0.05, confidence=0.95)
    net = TabularNetClassifier(hidden_units=(8,), max_epochs=2, random_state=0)
    weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    net.fit(
        X, bands, sensitive_features=groups, sample_weight=weight, loss_terms=[term]
    )
    decisions, sample_loss = term._forward_monitor()
    weight = term._monitor["sample_weight"]
    results = []
    for host in (True, False):
        term._host_sums = host
        gaps, loss = term._gaps_and_loss(decisions, sample_loss, weight)
        results.append((gaps, loss, term._standard_errors(decisions, weight)))
    (gaps, loss, se), (torch_gaps, torch_loss, torch_se) = results
    assert gaps.shape == (9 * 12 + 12,)  # 9 (class, label) events, 12 pairs
    assert (se > 0).sum() > 50  # not all zeros
    # torch sums float32 weights in float32; numpy in float64
    np.testing.assert_allclose(gaps, torch_gaps, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(se, torch_se, rtol=1e-6, atol=1e-9)
    assert loss == torch_loss


@pytest.mark.parametrize(
    "constraint, method",
    [
        ("demographic_parity", "lagrangian"),
        (["demographic_parity", "error_rate_parity"], "lagrangian"),
        ("equalized_odds", "penalty"),
    ],
)
def test_the_gradient_by_hand_is_autograds_bitwise(
    german, monkeypatch, constraint, method
):
    # with equal weights the loop takes the base loss's and the term's
    # gradients by hand (LossTerm.gradient), without autograd; the same
    # numbers as the term's autograd function
    X, y, _, sex, _ = german
    calls = []

    def fit():
        if method == "lagrangian":
            term = LagrangianTerm(constraint, 0.02, confidence=0.95)
        else:
            term = PenaltyTerm(constraint, 2.0, bound=0.02)
        net = TabularNetClassifier(
            hidden_units=(16,), max_epochs=5, batch_size=64, random_state=0
        )
        net.fit(X, y, sensitive_features=sex, loss_terms=[term])
        calls.append(term.gives_gradient)
        return term, net

    by_hand, hand_net = fit()
    monkeypatch.setattr(
        type(by_hand), "gives_gradient", property(lambda self: False), raising=False
    )
    term, net = fit()
    assert calls == [True, False]
    np.testing.assert_array_equal(hand_net.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(
        hand_net.history_["train_loss"], net.history_["train_loss"]
    )
    for hand, record in zip(by_hand.history_, term.history_, strict=True):
        for key in record:
            np.testing.assert_array_equal(hand[key], record[key])


@pytest.mark.parametrize(
    "constraint, projection, alpha, hidden",
    [
        ("demographic_parity", True, 1.0, (32,)),
        ("equalized_odds", True, 0.7, (16, 8)),
        ("equal_opportunity", True, 1.0, ()),
        ("error_rate_parity", True, 1.0, (32,)),
        ("demographic_parity", False, 0.7, (32,)),
        ("error_rate_parity", False, 1.0, (32,)),
    ],
)
def test_the_adversary_by_hand_is_autograds_bitwise(
    german, monkeypatch, constraint, projection, alpha, hidden
):
    # the adversarial term gives the model's loss its gradient by hand (the
    # projection reads the gradient of the loss so far, which the loop
    # passes): the model trains without autograd's graph; with the
    # projection the adversary runs by hand too (ReluBackprop, its weighted
    # cross-entropy's kernels), autograd differentiating only its input
    # features; the same fit, to the bit, and no Tensor.backward
    X, y, _, sex, _ = german
    weight = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    backward = torch.Tensor.backward
    calls = []

    def counted(self, *args, **kwargs):
        calls.append(1)
        return backward(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", counted)

    def fit():
        term = AdversarialTerm(
            constraint,
            alpha=alpha,
            hidden_units=hidden,
            projection=projection,
            random_state=0,
        )
        net = TabularNetClassifier(
            hidden_units=(16,), max_epochs=4, batch_size=64, random_state=0
        )
        net.fit(X, y, sample_weight=weight, sensitive_features=sex, loss_terms=[term])
        return term, net

    by_hand, hand_net = fit()
    assert by_hand.gives_gradient and by_hand.reads_loss_gradient == projection
    assert calls == []
    monkeypatch.setattr(AdversarialTerm, "gives_gradient", property(lambda self: False))
    term, net = fit()
    assert len(calls) == 4 * 16  # 1000 rows, batches of 64: through autograd
    np.testing.assert_array_equal(hand_net.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(
        hand_net.history_["train_loss"], net.history_["train_loss"]
    )
    for a, b in zip(by_hand.adversary_.parameters(), term.adversary_.parameters()):
        assert torch.equal(a, b)
    for hand, record in zip(by_hand.history_, term.history_, strict=True):
        for key in record:
            np.testing.assert_array_equal(hand[key], record[key])


@pytest.mark.parametrize(
    "constraint, n_classes",
    [
        (DemographicParity(), 2),
        (EqualizedOdds(), 2),
        (EqualOpportunity(), 2),
        (ErrorRateParity(), 2),
        (ErrorRateParity(), 3),
        (DemographicParity(), 3),
        (EqualizedOdds(), 3),
    ],
)
def test_the_adversarys_features_by_hand_are_autograds(german, constraint, n_classes):
    """The adversary's input features and their backward pass by hand (two
    classes, and error-rate parity's log-probability of the true class)
    against autograd through ``_features``, bitwise; several classes seen
    through the log-softmax stay with autograd."""
    outputs, batch = real_batch(german, n_classes, rows=np.arange(300))
    term = set_up(AdversarialTerm(constraint, random_state=0), outputs, batch)
    by_hand = term._features_by_hand(outputs.detach(), batch)
    if n_classes == 3 and not isinstance(constraint, ErrorRateParity):
        assert by_hand is None
        return
    features, backward = by_hand
    seen = outputs.detach().requires_grad_()
    expected = term._features(seen, batch)
    assert torch.equal(features, expected.detach())
    grad = torch.randn(features.shape, generator=torch.Generator().manual_seed(0))
    (oracle,) = torch.autograd.grad(expected, seen, grad_outputs=grad)
    assert torch.equal(backward(grad), oracle)


@pytest.mark.parametrize(
    "kinds",
    [
        ("lagrangian", "penalty"),
        ("lagrangian", "adversary"),
        ("penalty", "lagrangian", "adversary"),
    ],
)
def test_several_terms_by_hand_are_autograds_bitwise(german, monkeypatch, kinds):
    # the loop adds the terms' gradients as autograd's engine does (the
    # newest term's first, the base loss's last), and gives the adversary
    # the loss so far's gradient in that order too: the same fit, to the
    # bit, whatever the number of terms
    X, y, _, sex, _ = german
    weight = np.random.RandomState(1).uniform(0.5, 2.0, len(y))

    def make(kind):
        if kind == "lagrangian":
            return LagrangianTerm("demographic_parity", 0.02, confidence=0.95)
        if kind == "penalty":
            return PenaltyTerm("equalized_odds", 2.0, bound=0.02)
        return AdversarialTerm("equalized_odds", alpha=0.5, random_state=0)

    def fit():
        terms = [make(kind) for kind in kinds]
        net = TabularNetClassifier(
            hidden_units=(16,), max_epochs=4, batch_size=64, random_state=0
        )
        net.fit(X, y, sample_weight=weight, sensitive_features=sex, loss_terms=terms)
        return net, terms

    hand_net, hand_terms = fit()
    assert all(term.gives_gradient for term in hand_terms)
    off = property(lambda self: False)
    monkeypatch.setattr(GapTerm, "gives_gradient", off)
    monkeypatch.setattr(AdversarialTerm, "gives_gradient", off)
    net, terms = fit()
    np.testing.assert_array_equal(hand_net.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(
        hand_net.history_["train_loss"], net.history_["train_loss"]
    )
    for hand, term in zip(hand_terms, terms, strict=True):
        for a, b in zip(hand.history_, term.history_, strict=True):
            for key in b:
                np.testing.assert_array_equal(a[key], b[key])


def test_the_gradient_by_hand_refuses_outputs_numpy_cannot_hold(german):
    # bfloat16 outputs take the torch path of the batch sums: their surrogate
    # has no gradient on the host, and the term says so instead of dropping it
    outputs, batch = real_batch(german, 2, rows=np.arange(256))
    term = set_up(PenaltyTerm("demographic_parity", 50.0, bound=0.0), outputs, batch)
    assert term.gives_gradient
    value, grad = term.gradient(outputs, batch)
    assert grad.shape == outputs.shape and np.count_nonzero(grad.numpy())
    with pytest.raises(RuntimeError, match="bfloat16"):
        term.gradient(outputs.detach().to(torch.bfloat16), batch)
