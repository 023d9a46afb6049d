"""The training-loop terms against independent oracles.

The surrogate gaps are recomputed here by hand (a softmax and a loop over the
groups and events, no sklfair arithmetic) to check the value and the gradient
of the Lagrangian and penalty terms; the decisions' gaps the terms record are
checked against fairlearn's metrics on the fitted network's predictions.
"""

import numpy as np
import pytest
import torch
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    selection_rate,
)
from skorch.callbacks import Callback
from term_doubles import FakeNet

import sklfair.constrained._gap_term as gap_term_module
from sklfair.constrained import AdversarialTerm, LagrangianTerm, PenaltyTerm
from sklfair.constraints import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
)
from sklfair.constraints._rates import gap_standard_errors
from sklfair.nets import TabularNetClassifier, TabularNetRegressor

# --------------------------------------------------------------------------
# the oracle
# --------------------------------------------------------------------------


def reference_events(constraint, outputs, y, hard=False):
    """(value, event mask) pairs of a constraint, written out by hand."""
    n_classes = outputs.shape[1]
    proba = torch.softmax(outputs / constraint.temperature, dim=1)
    if hard:
        proba = torch.nn.functional.one_hot(outputs.argmax(1), n_classes).double()
    classes = [1] if n_classes == 2 else list(range(n_classes))
    everyone = torch.ones(len(y), dtype=torch.bool)
    if isinstance(constraint, ErrorRateParity):
        return [(1.0 - proba[torch.arange(len(y)), y], everyone)]
    if isinstance(constraint, DemographicParity):
        return [(proba[:, c], everyone) for c in classes]
    if isinstance(constraint, EqualOpportunity):
        return [(proba[:, c], y == c) for c in classes]
    # equalized odds: binary TPR then FPR; else every (class, label) pair
    pairs = [(c, k) for c in classes for k in range(n_classes)]
    pairs = pairs[::-1] if n_classes == 2 else pairs
    return [(proba[:, c], y == k) for c, k in pairs]


def reference_gaps(constraint, outputs, batch, n_groups, hard=False):
    """Ordered pairwise differences of weighted group rates, and validity."""
    y, groups, weight = batch["y"], batch["sensitive_features"], batch["sample_weight"]
    gaps, valid = [], []
    for value, event in reference_events(constraint, outputs, y, hard):
        rates, present = [], []
        for g in range(n_groups):
            rows = event & (groups == g)
            w = weight[rows].to(value.dtype)
            present.append(bool(w.sum() > 0))
            rates.append((w * value[rows]).sum() / w.sum().clamp_min(1e-12))
        for a in range(n_groups):
            for b in range(n_groups):
                if a != b:
                    gaps.append(rates[a] - rates[b])
                    valid.append(present[a] and present[b])
    return torch.stack(gaps), torch.tensor(valid)


def make_batch(n=64, n_groups=3, n_classes=2, seed=0, drop_group=None):
    gen = torch.Generator().manual_seed(seed)
    groups = torch.randint(n_groups, (n,), generator=gen)
    if drop_group is not None:
        groups[groups == drop_group] = (drop_group + 1) % n_groups
    outputs = torch.randn(n, n_classes, generator=gen, requires_grad=True)
    y = torch.randint(n_classes, (n,), generator=gen)
    batch = {
        "y": y,
        "sample_weight": torch.rand(n, generator=gen) + 0.5,
        "sensitive_features": groups,
        "sample_loss": torch.nn.functional.cross_entropy(outputs, y, reduction="none"),
        "index": torch.arange(n),
    }
    return outputs, batch


def set_up(term, batch, outputs, n_groups=3):
    data = {
        "X": torch.zeros(len(batch["y"]), 2),
        "y": batch["y"],
        "sample_weight": batch["sample_weight"],
        "sensitive_features": batch["sensitive_features"],
        "n_groups": n_groups,
        "n_outputs": outputs.shape[1],
    }
    term.setup(FakeNet(), data)
    return term


# --------------------------------------------------------------------------
# one batch: value and gradient against the oracle
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "constraints, n_classes",
    [
        ([DemographicParity(bound=0.05)], 2),
        ([EqualizedOdds(bound=0.05)], 2),
        ([EqualizedOdds(bound=0.05, temperature=0.7)], 3),
        ([EqualOpportunity(bound=0.05)], 3),
        ([ErrorRateParity(bound=0.05)], 3),
        ([DemographicParity(bound=0.05)], 3),
        ([DemographicParity(bound=0.02), ErrorRateParity(bound=0.08)], 2),
    ],
)
def test_lagrangian_value_and_gradient_are_the_augmented_lagrangian(
    constraints, n_classes
):
    outputs, batch = make_batch(n_classes=n_classes, seed=3)
    term = set_up(LagrangianTerm(constraints, rho=1.5), batch, outputs)
    n_gaps = len(term.gap_names_)
    gen = torch.Generator().manual_seed(1)
    term.multipliers_ = torch.rand(n_gaps, generator=gen, dtype=torch.float64)
    term.margin_ = torch.full((n_gaps,), 0.01, dtype=torch.float64)
    # the running gaps' excess over the target, as the dual step leaves it
    running = torch.rand(n_gaps, generator=gen, dtype=torch.float64) - 0.5
    term._running_excess = running.clamp_min(0).numpy()
    # the call also takes the batch's dual step: the slope is the one before
    multipliers = term.multipliers_.clone()
    total = term(torch.tensor(0.0), outputs, batch)
    (grad,) = torch.autograd.grad(total, outputs)

    excess = []
    for constraint in constraints:
        surrogate, valid = reference_gaps(constraint, outputs, batch, 3)
        excess.append((surrogate - (constraint.bound - 0.01)) * valid)
    excess = torch.cat(excess)
    # lambda + rho * max(0, running excess): the penalty's slope is taken at
    # the running gaps, not at the batch's
    slope = multipliers.float() + 1.5 * running.clamp_min(0).float()
    expected = (slope * excess).sum()
    (expected_grad,) = torch.autograd.grad(expected, outputs)
    assert total.item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-6)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("constraint", [EqualizedOdds(), ErrorRateParity()])
def test_penalty_is_the_hinge_on_the_surrogate_gaps(constraint):
    outputs, batch = make_batch()
    term = set_up(PenaltyTerm(constraint, 3.0, bound=0.1), batch, outputs)
    total = term(torch.tensor(0.0), outputs, batch)
    (grad,) = torch.autograd.grad(total, outputs)
    surrogate, valid = reference_gaps(constraint, outputs, batch, 3)
    expected = 3.0 * ((surrogate - 0.1).clamp_min(0) * valid).sum()
    (expected_grad,) = torch.autograd.grad(expected, outputs)
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-6)


def test_an_absent_group_gives_no_gap_and_a_finite_term():
    outputs, batch = make_batch(drop_group=1)
    term = set_up(LagrangianTerm("demographic_parity", 0.0), batch, outputs)
    term.multipliers_ = torch.ones(len(term.gap_names_), dtype=torch.float64)
    total = term(torch.tensor(0.0), outputs, batch)
    (grad,) = torch.autograd.grad(total, outputs)
    surrogate, valid = reference_gaps(DemographicParity(), outputs, batch, 3)
    assert valid.tolist() == [("1" not in n[-6:]) for n in term.gap_names_]
    expected = (surrogate * valid).sum()
    assert total.item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-6)
    assert torch.isfinite(grad).all()


def test_low_temperature_surrogates_approach_the_decisions():
    outputs, batch = make_batch(n=200)
    outputs = outputs.detach() * 3
    hard, _ = reference_gaps(DemographicParity(), outputs, batch, 3, hard=True)
    errors = []
    for t in (1.0, 0.1, 0.001):
        term = set_up(LagrangianTerm(DemographicParity(temperature=t)), batch, outputs)
        _, sums = term._batch_sums(outputs, batch)
        surrogate, _ = term._gaps(sums, 0, 2)
        errors.append(np.abs(surrogate - hard.numpy()).max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-3


def test_dual_step_follows_the_decisions_gaps():
    outputs, batch = make_batch(n=300, seed=2)
    term = set_up(
        LagrangianTerm("demographic_parity", 0.01, smoothing=0.0), batch, outputs
    )
    term(torch.tensor(0.0), outputs, batch)
    term.after_step(None, outputs, batch)
    # the decisions' weighted selection rates per group, by fairlearn
    decisions = outputs.argmax(1).numpy()
    rates = MetricFrame(
        metrics=selection_rate,
        y_true=batch["y"].numpy(),
        y_pred=decisions,
        sensitive_features=batch["sensitive_features"].numpy(),
        sample_params={"sample_weight": batch["sample_weight"].numpy()},
    ).by_group.to_numpy()
    gaps = [rates[a] - rates[b] for a in range(3) for b in range(3) if a != b]
    expected = np.clip(term._dual_step * (np.array(gaps) - 0.01), 0, None)
    # the dual arithmetic runs on the host in float64
    assert term.multipliers_.dtype == torch.float64
    np.testing.assert_allclose(term.multipliers_.numpy(), expected, rtol=1e-5)
    # the penalty's slope at the next batch: the same gaps' excess
    np.testing.assert_allclose(
        term._running_excess, np.clip(np.array(gaps) - 0.01, 0, None), rtol=1e-5
    )


def test_dual_step_with_held_out_rows_uses_their_decisions_only():
    outputs, batch = make_batch(n=200, seed=4)
    term = LagrangianTerm(
        "demographic_parity", 0.0, smoothing=0.0, validation_fraction=0.3
    )
    weight = batch["sample_weight"].double().numpy().copy()
    set_up(term, batch, outputs)  # zeroes the held-out rows' weights in place
    held = term._held_out.numpy()
    assert (batch["sample_weight"].numpy()[held] == 0).all()
    term(torch.tensor(0.0), outputs, batch)
    term.after_step(None, outputs, batch)
    decisions = (outputs.argmax(1) == 1).double().numpy()
    codes = batch["sensitive_features"].numpy()
    rates = [
        np.average(decisions[cell], weights=weight[cell])
        for cell in (held & (codes == g) for g in range(3))
    ]
    gaps = [rates[a] - rates[b] for a in range(3) for b in range(3) if a != b]
    expected = np.clip(term._dual_step * np.array(gaps), 0, None)
    np.testing.assert_allclose(term.multipliers_.numpy(), expected, rtol=1e-5)


# --------------------------------------------------------------------------
# standard errors by hand
# --------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_gap_standard_errors_by_hand(weighted):
    rng = np.random.RandomState(0)
    n = 600
    groups = rng.randint(3, size=n)
    pred = (rng.rand(n) < 0.3 + 0.15 * groups).astype(float)
    w = rng.randint(1, 4, size=n).astype(float) if weighted else np.ones(n)
    se = gap_standard_errors(
        torch.as_tensor(pred[:, None]),
        None,
        torch.as_tensor(groups),
        torch.as_tensor(w),
        3,
    )
    # oracle: weighted rate variance / Kish's effective size, per group
    rate_var = []
    for g in range(3):
        wg, pg = w[groups == g], pred[groups == g]
        rate = np.average(pg, weights=wg)
        variance = np.average((pg - rate) ** 2, weights=wg)
        rate_var.append(variance / (wg.sum() ** 2 / (wg**2).sum()))
    expected = [
        np.sqrt(rate_var[a] + rate_var[b]) for a in range(3) for b in range(3) if a != b
    ]
    np.testing.assert_allclose(se.numpy(), expected, rtol=1e-10)
    if not weighted:  # the textbook binomial standard error
        p0, p1 = pred[groups == 0].mean(), pred[groups == 1].mean()
        n0, n1 = (groups == 0).sum(), (groups == 1).sum()
        binomial = np.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
        assert se[0].item() == pytest.approx(binomial, rel=1e-10)


# --------------------------------------------------------------------------
# in the training loop
# --------------------------------------------------------------------------


def biased_data(n=1500, seed=0):
    rng = np.random.RandomState(seed)
    group = rng.randint(2, size=n)
    X = np.column_stack([rng.normal(size=n) + 1.2 * group, rng.normal(size=n)])
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.5, size=n) > 0.6).astype(int)
    return X, y, group


def fit_net(terms, seed=0, **params):
    X, y, group = biased_data()
    params = {"hidden_units": (16,), "max_epochs": 15, "lr": 1e-2, **params}
    net = TabularNetClassifier(random_state=seed, **params)
    net.fit(X, y, sensitive_features=group if terms else None, loss_terms=terms)
    return net, demographic_parity_difference(
        y, net.predict(X), sensitive_features=group
    )


def test_lagrangian_meets_the_bound_and_records_fairlearns_gap():
    _, unconstrained = fit_net([])
    term = LagrangianTerm("demographic_parity", 0.05)
    _, constrained = fit_net([term])
    assert unconstrained > 0.3
    assert constrained <= 0.05
    assert len(term.history_) == 15
    kept = term.history_[term.best_epoch_]
    assert np.nanmax(kept["gaps"]) == pytest.approx(constrained, abs=1e-6)
    assert max(h["multipliers"].max() for h in term.history_) > 0


def test_epoch_end_evaluation_in_chunks_records_the_exact_gaps(monkeypatch):
    # 1500 rows in chunks of 128 (the last one short) give the gaps of the
    # whole predictions
    monkeypatch.setattr(gap_term_module, "MONITOR_CHUNK", 128)
    term = LagrangianTerm("demographic_parity", 0.05)
    _, constrained = fit_net([term])
    kept = term.history_[term.best_epoch_]
    assert np.nanmax(kept["gaps"]) == pytest.approx(constrained, abs=1e-6)


def test_a_loose_second_constraint_changes_nothing():
    alone = LagrangianTerm([DemographicParity(bound=0.05)])
    both = LagrangianTerm([DemographicParity(bound=0.05), ErrorRateParity(bound=1.0)])
    fit_net([alone])
    fit_net([both])
    assert both.gap_names_[0].startswith("demographic_parity: ")
    assert both.gap_names_[-1].startswith("error_rate_parity: ")
    for a, b in zip(alone.history_, both.history_, strict=True):
        np.testing.assert_array_equal(a["gaps"], b["gaps"][:2])
        assert b["multipliers"][2:].max() == 0.0


def test_two_constraints_in_one_fit_meet_both_bounds():
    rng = np.random.RandomState(0)
    n = 1500
    group = rng.randint(2, size=n)
    X = np.column_stack([rng.normal(size=n) + 0.4 * group, rng.normal(size=n)])
    noise = rng.normal(0, 1.0, size=n) + 0.6 * (group == 0) * rng.normal(size=n)
    y = (X[:, 0] + 0.5 * X[:, 1] + noise > 0.3).astype(int)
    term = LagrangianTerm([DemographicParity(bound=0.07), ErrorRateParity(bound=0.07)])
    net = TabularNetClassifier(
        hidden_units=(16,), max_epochs=15, lr=1e-2, random_state=0
    )
    pred = net.fit(X, y, sensitive_features=group, loss_terms=[term]).predict(X)
    dp = demographic_parity_difference(y, pred, sensitive_features=group)
    errors = MetricFrame(
        metrics=lambda t, p: np.mean(t != p),
        y_true=y,
        y_pred=pred,
        sensitive_features=group,
    ).difference()
    unconstrained = TabularNetClassifier(
        hidden_units=(16,), max_epochs=15, lr=1e-2, random_state=0
    ).fit(X, y)
    assert (
        demographic_parity_difference(
            y, unconstrained.predict(X), sensitive_features=group
        )
        > 0.1
    )
    assert dp <= 0.07 and errors <= 0.07
    np.testing.assert_allclose(term.bounds_, 0.07)


def test_best_epoch_is_restored_before_the_callbacks_hear_of_train_end():
    class Snapshot(Callback):
        def on_train_end(self, net, **kwargs):
            self.params = [p.detach().clone() for p in net.module_.parameters()]

    snapshot = Snapshot()
    term = LagrangianTerm("demographic_parity", 0.05)
    net, _ = fit_net([term], max_epochs=10, callbacks=[("snapshot", snapshot)])
    assert term.best_epoch_ < len(term.history_) - 1  # a restore happened
    for seen, kept in zip(snapshot.params, net.net_.module_.parameters(), strict=True):
        torch.testing.assert_close(seen, kept)
    # the term holds no data after the fit, and left no callback behind
    assert term._monitor is None and term._net is None
    names = {name for name, _ in net.net_.callbacks_}
    assert names == {"epoch_timer", "print_log", "snapshot"}


def test_penalty_and_adversarial_terms_reduce_the_gap():
    _, unconstrained = fit_net([])
    assert fit_net([PenaltyTerm("demographic_parity", 5.0)])[1] < unconstrained / 2
    adversarial = AdversarialTerm("demographic_parity", alpha=3.0, random_state=0)
    assert fit_net([adversarial])[1] < 0.75 * unconstrained
    with pytest.raises(ValueError, match="one constraint"):
        fit_net([AdversarialTerm(["demographic_parity", "error_rate_parity"])])


def test_regression_term_in_the_loop():
    rng = np.random.RandomState(0)
    group = rng.randint(2, size=800)
    X = np.column_stack([rng.normal(size=800), group + rng.normal(0, 0.1, 800)])
    y = X[:, 0] + 2 * group
    # the net standardises y, so the term's bound is in units of y's std
    term = LagrangianTerm("group_mean_parity", 0.1)
    net = TabularNetRegressor(max_epochs=30, lr=1e-2, random_state=0)
    net.fit(X, y, sensitive_features=group, loss_terms=[term])
    pred = net.predict(X)
    gap = abs(pred[group == 1].mean() - pred[group == 0].mean())
    assert abs(y[group == 1].mean() - y[group == 0].mean()) > 1.5
    assert gap <= 0.1 * y.std() + 1e-6


def test_confidence_margin_is_z_standard_errors_of_the_kept_network():
    term = LagrangianTerm("demographic_parity", 0.3, confidence=0.95)
    net, _ = fit_net([term], max_epochs=8)
    X, _, group = biased_data()
    pred = net.predict(X)
    rates = [pred[group == g].mean() for g in (0, 1)]
    sizes = [(group == g).sum() for g in (0, 1)]
    se = np.sqrt(sum(r * (1 - r) / n for r, n in zip(rates, sizes, strict=True)))
    kept = term.history_[term.best_epoch_]
    # the history is measured in float32, predict in float64
    np.testing.assert_allclose(kept["margin"], 1.6448536 * se, rtol=1e-3)
    assert np.nanmax(kept["gaps"]) <= 0.3 - kept["margin"].max()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"confidence": 0.3}, "confidence"),
    ],
)
def test_bad_validation_fraction_and_confidence(params, match):
    term = LagrangianTerm("demographic_parity", 0.1, **params)
    with pytest.raises(ValueError, match=match):
        fit_net([term], max_epochs=1)


def test_held_out_rows_are_not_fitted():
    # random labels: a wide net memorises the rows it fits, not the others
    rng = np.random.RandomState(0)
    n = 600
    group = rng.randint(2, size=n)
    X = np.column_stack([rng.normal(size=(n, 8)), group])
    y = rng.randint(2, size=n)

    def fit(fraction):
        term = LagrangianTerm(
            "demographic_parity", 1.0, validation_fraction=fraction, select_best=False
        )
        net = TabularNetClassifier(
            hidden_units=(256, 256), max_epochs=60, lr=1e-2, random_state=0
        )
        net.fit(X, y, sensitive_features=group, loss_terms=[term])
        return term, np.mean(net.predict(X) == y)

    _, memorised = fit(0.0)
    term, accuracy = fit(0.25)
    assert memorised > 0.97
    # the fitted three quarters memorised, the held-out quarter near chance
    assert 0.75 < accuracy < 0.75 + 0.25 * 0.7
    last = term.history_[-1]
    assert last["validation_loss"] > 3 * last["loss"]  # "loss": every row
    assert np.isfinite(last["validation_gaps"]).all()


# --------------------------------------------------------------------------
# the host (numpy) and device (torch) batch sums, and the adversary's one pass
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "constraints, n_classes",
    [
        ([DemographicParity()], 2),
        ([EqualizedOdds()], 3),
        ([EqualOpportunity(), ErrorRateParity()], 3),
    ],
)
@pytest.mark.parametrize("held_out", [False, True])
def test_host_and_device_batch_sums_agree(constraints, n_classes, held_out):
    # On a CPU the sums are numpy bincounts; elsewhere torch's index_add_.
    # Both paths run here, on the same batch, with event masks, weights and
    # held-out weights, and against the hand-written oracle.
    outputs, batch = make_batch(n=200, n_classes=n_classes, seed=5)
    term = set_up(LagrangianTerm(constraints, bound=0.05), batch, outputs)
    dual = batch["sample_weight"] * (torch.arange(200) % 3 == 0) if held_out else None
    assert term._host_sums
    host_parts, host = term._batch_sums(outputs, batch, dual_weight=dual)
    term._host_sums = False
    device_parts, device = term._batch_sums(outputs, batch, dual_weight=dual)
    for a, b in zip(host, device, strict=True):
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    surrogate, valid = term._gaps(host, 0, 2)
    expected = torch.cat([reference_gaps(c, outputs, batch, 3)[0] for c in constraints])
    np.testing.assert_allclose(
        surrogate[valid], expected.detach().numpy()[valid], rtol=1e-5, atol=1e-6
    )
    # the linear term and its gradient from either path
    coefficients = np.linspace(-1.0, 1.0, len(term.gap_names_)) * valid
    grads = []
    for parts, sums in ((host_parts, host), (device_parts, device)):
        linear = term._linear_term(parts, sums, coefficients, torch.tensor(0.0))
        grads.append(torch.autograd.grad(linear, outputs, retain_graph=True)[0])
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-7)


def test_zero_slopes_add_no_graph_but_the_value():
    # every gap within a loose bound and no multiplier: the penalty adds its
    # value (0) and no backward pass through the surrogate
    outputs, batch = make_batch(seed=7)
    term = set_up(PenaltyTerm("demographic_parity", 2.0, bound=1.0), batch, outputs)
    loss = batch["sample_loss"].mean()
    total = term(loss, outputs, batch)
    assert total.grad_fn is not None and total.item() == pytest.approx(loss.item())
    (grad,) = torch.autograd.grad(total, outputs, retain_graph=True)
    (expected,) = torch.autograd.grad(loss, outputs)
    torch.testing.assert_close(grad, expected)
    parts, sums = term._batch_sums(outputs, batch)
    zero = np.zeros(len(term.gap_names_))
    assert term._linear_term(parts, sums, zero, loss) is None


@pytest.mark.parametrize("constraint", ["demographic_parity", "equalized_odds"])
def test_adversary_step_from_the_projection_pass_is_its_own_gradient(constraint):
    # The projected call takes the adversary's parameter gradients from the
    # same backward pass as the projection; its step must be the step of a
    # separate backward pass of its own loss on the detached outputs.
    outputs, batch = make_batch(n=128, n_classes=2, seed=6)
    loss = batch["sample_loss"].mean()
    terms = []
    for _ in range(2):
        term = AdversarialTerm(constraint, alpha=1.5, lr=0.01, random_state=0)
        terms.append(set_up(term, batch, outputs))
    fused, separate = terms
    total = fused(loss, outputs, batch)
    fused.after_step(None, outputs, batch)
    separate.after_step(None, outputs, batch)  # no pending pass: its own
    for a, b in zip(
        fused.adversary_.parameters(), separate.adversary_.parameters(), strict=True
    ):
        torch.testing.assert_close(a, b)
    assert any(
        not torch.equal(a, b)
        for a, b in zip(
            fused.adversary_.parameters(),
            set_up(
                AdversarialTerm(constraint, random_state=0), batch, outputs
            ).adversary_.parameters(),
            strict=True,
        )
    )
    # the model's gradient: the base loss's, minus its component along the
    # adversary's gradient, minus alpha times the adversary's gradient
    (grad,) = torch.autograd.grad(total, outputs, retain_graph=True)
    reference = AdversarialTerm(constraint, alpha=1.5, random_state=0)
    set_up(reference, batch, outputs)
    adv = reference._adversary_loss(reference._features(outputs, batch), batch)
    g_pred = torch.autograd.grad(loss, outputs, retain_graph=True)[0]
    g_adv = torch.autograd.grad(adv, outputs, retain_graph=True)[0]
    unit = g_adv / g_adv.norm()
    expected = g_pred - (g_pred * unit).sum() * unit - 1.5 * g_adv
    torch.testing.assert_close(grad, expected, rtol=1e-5, atol=1e-7)


def many_small_groups(seed=0):
    """Two large groups with different base rates and eight of 40 rows each."""
    rng = np.random.RandomState(seed)
    sizes = [2000, 1000] + [40] * 8
    group = np.repeat(np.arange(len(sizes)), sizes)
    X = rng.normal(size=(len(group), 3))
    X[:, 0] += 0.5 * (group == 0)
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.5, len(group)) > 1.0).astype(int)
    return X, y, group


def test_many_small_groups_do_not_collapse_the_net():
    # a batch of 64 holds 0.75 rows of a small group on average: its batch
    # gaps are noise, which a penalty on the batch gaps turned into a net
    # predicting nearly nobody positive (about 5% here, accuracy within 5
    # points of the majority class)
    X, y, group = many_small_groups()
    term = LagrangianTerm("demographic_parity", 0.05, confidence=0.95)
    net = TabularNetClassifier(
        hidden_units=(16,), max_epochs=30, batch_size=64, lr=1e-2, random_state=0
    )
    net.fit(X, y, sensitive_features=group, loss_terms=[term])
    pred = net.predict(X)
    majority = 1 - y.mean()
    assert pred.mean() > 0.3 * y.mean()
    assert np.mean(pred == y) > majority + 0.06
    # every gap meets the bound, or the floor where two groups are too small
    # to resolve the bound at all; the two large groups' gap is resolvable
    kept = term.history_[term.best_epoch_]["gaps"]
    assert (kept <= np.maximum(term.bounds_, term.floors_) + 1e-9).all()
    large = term.gap_names_.index("selection_rate[1][0 - 1]")
    assert term.floors_[large] < 0.06
    rates = [pred[group == g].mean() for g in (0, 1)]
    assert abs(rates[0] - rates[1]) <= max(0.05, term.floors_[large]) + 1e-9
    assert y[group == 0].mean() - y[group == 1].mean() > 0.1
