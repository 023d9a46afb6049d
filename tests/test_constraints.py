"""Tests of sklfair.constraints: rates and gaps against fairlearn's metrics and
hand computations, the batch surrogates, the fairlearn Moments, and the loss
terms inside the one training loop."""

import copy

import numpy as np
import pytest
import torch
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equal_opportunity_difference,
    equalized_odds_difference,
)
from fairlearn.reductions import (
    BoundedGroupLoss as FairlearnBoundedGroupLoss,
)
from fairlearn.reductions import (
    DemographicParity as FairlearnDemographicParity,
)
from fairlearn.reductions import (
    EqualizedOdds as FairlearnEqualizedOdds,
)
from fairlearn.reductions import (
    ErrorRateParity as FairlearnErrorRateParity,
)
from fairlearn.reductions import TruePositiveRateParity

import sklfair.constraints as constraints_module
from sklfair.constraints import (
    AdversarialTerm,
    BoundedGroupLoss,
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    ErrorRateParity,
    GroupLossParity,
    GroupMeanParity,
    LagrangianTerm,
    PenaltyTerm,
    resolve_constraint,
)
from sklfair.nets import TabularNetClassifier, TabularNetRegressor

CLASSIFICATION = [DemographicParity, EqualizedOdds, EqualOpportunity, ErrorRateParity]


def _random_decisions(n=300, n_groups=3, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    groups = rng.randint(n_groups, size=n)
    pred = (rng.rand(n) < 0.3 + 0.15 * groups + 0.2 * y).astype(int)
    weight = rng.randint(1, 4, size=n).astype(float)
    return y, pred, groups, weight


# --------------------------------------------------------------------------
# gaps of decisions vs fairlearn's metrics
# --------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "constraint, metric",
    [
        (DemographicParity(), demographic_parity_difference),
        (EqualizedOdds(), equalized_odds_difference),
        (EqualOpportunity(), equal_opportunity_difference),
    ],
)
def test_max_gap_is_fairlearn_difference(constraint, metric, weighted):
    y, pred, groups, weight = _random_decisions()
    sample_weight = weight if weighted else None
    expected = metric(y, pred, sensitive_features=groups, sample_weight=sample_weight)
    got = constraint.max_gap(y, np.eye(2)[pred], groups, sample_weight)
    assert got == pytest.approx(expected)
    assert expected > 0.05  # the data do have a gap


def test_error_rate_gap_is_metricframe_difference():
    y, pred, groups, weight = _random_decisions(seed=1)

    def error(y_true, y_pred, sample_weight):
        return np.average(y_true != y_pred, weights=sample_weight)

    frame = MetricFrame(
        metrics=error,
        y_true=y,
        y_pred=pred,
        sensitive_features=groups,
        sample_params={"sample_weight": weight},
    )
    got = ErrorRateParity().max_gap(y, np.eye(2)[pred], groups, weight)
    assert got == pytest.approx(frame.difference())


def test_gaps_are_ordered_pairs_and_named():
    y, pred, groups, _ = _random_decisions(n_groups=2)
    constraint = EqualizedOdds()
    gaps = constraint.gaps(y, np.eye(2)[pred], groups)
    names = constraint.gap_names(2, 2, ["f", "m"])
    assert names == [
        "true_positive_rate[f - m]",
        "true_positive_rate[m - f]",
        "false_positive_rate[f - m]",
        "false_positive_rate[m - f]",
    ]
    tpr = [pred[(groups == g) & (y == 1)].mean() for g in (0, 1)]
    fpr = [pred[(groups == g) & (y == 0)].mean() for g in (0, 1)]
    expected = [tpr[0] - tpr[1], tpr[1] - tpr[0], fpr[0] - fpr[1], fpr[1] - fpr[0]]
    np.testing.assert_allclose(gaps, expected)


def test_multiclass_demographic_parity_is_one_vs_rest():
    rng = np.random.RandomState(0)
    groups = rng.randint(2, size=200)
    pred = rng.randint(3, size=200)
    gaps = DemographicParity().gaps(np.zeros(200, int), np.eye(3)[pred], groups)
    assert gaps.shape == (6,)  # 3 classes x 2 ordered pairs
    for c in range(3):
        rate = [np.mean(pred[groups == g] == c) for g in (0, 1)]
        assert gaps[2 * c] == pytest.approx(rate[0] - rate[1])


def test_randomized_decisions_compare_expected_rates():
    # one group always selected with probability .8, the other .5
    proba = np.array([[0.2, 0.8]] * 5 + [[0.5, 0.5]] * 5)
    groups = np.repeat([0, 1], 5)
    assert DemographicParity().max_gap(np.zeros(10, int), proba, groups) == (
        pytest.approx(0.3)
    )


def test_regression_gaps_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.5, 2.0, 2.0, 5.0])
    groups = np.array([0, 0, 1, 1])
    assert GroupMeanParity().max_gap(y, pred, groups) == pytest.approx(3.5 - 1.75)
    mse = [np.mean([0.25, 0.0]), np.mean([1.0, 1.0])]
    assert GroupLossParity().max_gap(y, pred, groups) == pytest.approx(mse[1] - mse[0])
    np.testing.assert_allclose(BoundedGroupLoss().gaps(y, pred, groups), mse)


# --------------------------------------------------------------------------
# batch surrogates
# --------------------------------------------------------------------------


def _batch(n=64, n_groups=3, n_classes=2, seed=0, drop_group=None):
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
    }
    return outputs, batch


@pytest.mark.parametrize("cls", CLASSIFICATION)
def test_batch_hard_gaps_match_numpy_gaps(cls):
    outputs, batch = _batch()
    constraint = cls()
    surrogate, hard, valid = constraint.batch_gaps(outputs, batch, 3)
    decisions = np.eye(2)[outputs.argmax(1).numpy()]
    expected = constraint.gaps(
        batch["y"].numpy(),
        decisions,
        batch["sensitive_features"].numpy(),
        batch["sample_weight"].numpy(),
    )
    assert valid.all()
    np.testing.assert_allclose(hard.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert surrogate.requires_grad and not hard.requires_grad


def test_low_temperature_surrogate_approaches_hard_gaps():
    outputs, batch = _batch(n=200)
    outputs = outputs.detach() * 3
    hard = DemographicParity().batch_gaps(outputs, batch, 3)[1]
    errors = [
        (DemographicParity(temperature=t).batch_gaps(outputs, batch, 3)[0] - hard)
        .abs()
        .max()
        for t in (1.0, 0.1, 0.001)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-3


def test_absent_group_gives_invalid_gaps_not_nan():
    outputs, batch = _batch(drop_group=1)
    surrogate, hard, valid = DemographicParity().batch_gaps(outputs, batch, 3)
    names = DemographicParity().gap_names(3, 2)
    for name, ok in zip(names, valid.tolist()):
        assert ok == ("1" not in name.split("[")[-1])
    assert torch.isfinite(surrogate).all() and torch.isfinite(hard).all()


def test_weighted_gap_sum_has_the_gradient_of_the_gaps():
    outputs, batch = _batch(n_classes=3)
    constraint = EqualizedOdds(temperature=0.7)
    stats = constraint.batch_statistics(outputs, batch, 3)
    gen = torch.Generator().manual_seed(0)
    coefficients = torch.rand(stats["surrogate_gaps"].shape, generator=gen)
    fast = constraint.weighted_gap_sum(stats, batch, coefficients)
    (grad_fast,) = torch.autograd.grad(fast, outputs)
    surrogate, _, _ = constraint.batch_gaps(outputs, batch, 3)
    slow = (coefficients * surrogate).sum()
    (grad_slow,) = torch.autograd.grad(slow, outputs)
    # a sum of signed gaps: near 0, so an absolute tolerance too
    assert fast.item() == pytest.approx(slow.item(), rel=1e-5, abs=1e-6)
    torch.testing.assert_close(grad_fast, grad_slow, rtol=1e-4, atol=1e-6)


class _Net:
    """The few attributes of the training net that the terms read."""

    batch_size = 64

    def __init__(self):
        self.callbacks_ = []
        self.module_ = torch.nn.Linear(2, 2)

    @staticmethod
    def sample_loss(outputs, y):
        return torch.nn.functional.cross_entropy(outputs, y, reduction="none")


def _setup(term, batch, outputs):
    data = {
        "X": torch.zeros(len(batch["y"]), 2),
        "y": batch["y"],
        "sample_weight": batch["sample_weight"],
        "sensitive_features": batch["sensitive_features"],
        "n_groups": 3,
        "n_outputs": outputs.shape[1],
    }
    term.setup(_Net(), data)
    return term


def test_lagrangian_term_value_and_gradient_are_the_augmented_lagrangian():
    outputs, batch = _batch()
    term = _setup(LagrangianTerm("demographic_parity", 0.05, rho=2.0), batch, outputs)
    term.multipliers_ = torch.tensor([0.0, 0.3, 1.0, 0.0, 0.2, 0.5])
    base = torch.tensor(0.7)
    total = term(base, outputs, batch)
    (grad,) = torch.autograd.grad(total, outputs)

    surrogate, _, valid = DemographicParity().batch_gaps(outputs, batch, 3)
    excess = (surrogate - 0.05) * valid
    expected = (
        base
        + (term.multipliers_ * excess).sum()
        + 1.0 * (excess.clamp_min(0) ** 2).sum()
    )
    (expected_grad,) = torch.autograd.grad(expected, outputs)
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "constraint, n_classes",
    [
        (EqualizedOdds(), 2),
        (EqualizedOdds(temperature=0.7), 3),
        (ErrorRateParity(), 3),
        (DemographicParity(), 3),
    ],
)
def test_lagrangian_term_matches_the_autograd_lagrangian(constraint, n_classes):
    # the term's host-side arithmetic against the plain torch formula, with
    # event masks, several classes and a margin
    outputs, batch = _batch(n_classes=n_classes, seed=3)
    term = _setup(LagrangianTerm(constraint, 0.05, rho=1.5), batch, outputs)
    n_gaps = len(term.gap_names_)
    gen = torch.Generator().manual_seed(1)
    term.multipliers_ = torch.rand(n_gaps, generator=gen, dtype=torch.float64)
    term.margin_ = torch.full((n_gaps,), 0.01, dtype=torch.float64)
    total = term(torch.tensor(0.0), outputs, batch)
    (grad,) = torch.autograd.grad(total, outputs)

    surrogate, _, valid = constraint.batch_gaps(outputs, batch, 3)
    excess = (surrogate - 0.04) * valid
    lam = term.multipliers_.float()
    expected = (lam * excess).sum() + 0.75 * (excess.clamp_min(0) ** 2).sum()
    (expected_grad,) = torch.autograd.grad(expected, outputs)
    assert total.item() == pytest.approx(expected.item(), rel=1e-5, abs=1e-7)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-4, atol=1e-6)


def test_dual_step_with_held_out_rows_uses_their_decisions_only():
    outputs, batch = _batch(n=200, seed=4)
    batch["index"] = torch.arange(200)
    term = LagrangianTerm(
        "demographic_parity", 0.0, smoothing=0.0, validation_fraction=0.3
    )
    weight = batch["sample_weight"].double().numpy().copy()
    _setup(term, batch, outputs)  # zeroes the held-out rows' weights in place
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


def test_multipliers_rise_with_violations_and_stay_nonnegative():
    outputs, batch = _batch()
    term = _setup(
        LagrangianTerm("demographic_parity", 0.0, smoothing=0.0), batch, outputs
    )
    _, hard, _ = DemographicParity().batch_gaps(outputs, batch, 3)
    term(torch.tensor(0.0), outputs, batch)
    term.after_step(None, outputs, batch)
    step = term._dual_step
    expected = (step * hard).clamp_min(0).double()
    # the dual arithmetic runs on the host in float64
    assert term.multipliers_.dtype == torch.float64
    assert term.multipliers_.device.type == "cpu"
    torch.testing.assert_close(term.multipliers_, expected, rtol=1e-6, atol=1e-8)
    assert (term.multipliers_[hard > 0] > 0).all()


def test_penalty_term_is_the_hinge_on_the_surrogate_gaps():
    outputs, batch = _batch()
    term = _setup(PenaltyTerm("equalized_odds", 3.0, bound=0.1), batch, outputs)
    total = term(torch.tensor(0.0), outputs, batch)
    surrogate, _, valid = EqualizedOdds().batch_gaps(outputs, batch, 3)
    expected = 3.0 * ((surrogate - 0.1).clamp_min(0) * valid).sum()
    assert total.item() == pytest.approx(expected.item(), rel=1e-5)


# --------------------------------------------------------------------------
# fairlearn Moments
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "constraint, moment",
    [
        (DemographicParity(), FairlearnDemographicParity),
        (EqualizedOdds(), FairlearnEqualizedOdds),
        (EqualOpportunity(), TruePositiveRateParity),
        (ErrorRateParity(), FairlearnErrorRateParity),
    ],
)
def test_moment_types_and_safe_bound(constraint, moment):
    result = constraint.moment(0.04)
    assert type(result) is moment
    assert result.eps == pytest.approx(0.02)  # bound / 2 without the data


@pytest.mark.filterwarnings("ignore:Setting a value on a Series via .at")
@pytest.mark.filterwarnings("ignore:Setting an item of incompatible dtype")
def test_moment_bound_is_exact_for_two_groups():
    # shares .75 / .25: |rate_g - overall| = (1 - share_g) * difference, so a
    # between-group difference of `bound` puts the small group at .75 * bound.
    groups = np.array([0] * 75 + [1] * 25)
    y = np.tile([0, 1], 50)
    moment = DemographicParity().moment(0.04, y=y, sensitive_features=groups)
    assert moment.eps == pytest.approx(0.03)
    pred = np.where(groups == 0, 0.5, 0.54)  # difference .04: on the boundary
    moment.load_data(np.zeros((100, 1)), y, sensitive_features=groups)
    assert moment.gamma(lambda X: pred).abs().max() == pytest.approx(0.03)


def test_bounded_group_loss_moment():
    moment = BoundedGroupLoss().moment(0.5, y=np.array([0.0, 2.0, 1.0]))
    assert isinstance(moment, FairlearnBoundedGroupLoss)
    assert moment.upper_bound == 0.5
    with pytest.raises(NotImplementedError, match="no reductions Moment"):
        GroupMeanParity().moment(0.1)


# --------------------------------------------------------------------------
# resolving names and objects
# --------------------------------------------------------------------------


def test_resolve_constraint():
    assert isinstance(resolve_constraint("equal_opportunity"), EqualOpportunity)
    assert isinstance(
        resolve_constraint("group_loss_parity", "regression"), GroupLossParity
    )
    mine = DemographicParity(temperature=0.5)
    resolved = resolve_constraint(mine)
    assert resolved == mine and resolved is not mine
    with pytest.raises(ValueError, match="for the other kind of estimator"):
        resolve_constraint("group_mean_parity")
    with pytest.raises(ValueError, match="regression constraint"):
        resolve_constraint(GroupMeanParity())
    with pytest.raises(TypeError, match="FairnessConstraint"):
        resolve_constraint(0.1)


def test_constraints_copy_and_compare():
    constraint = EqualizedOdds(temperature=0.3)
    assert copy.deepcopy(constraint) == constraint
    assert constraint != EqualizedOdds()
    assert repr(constraint) == "EqualizedOdds(temperature=0.3)"


# --------------------------------------------------------------------------
# the terms in the training loop
# --------------------------------------------------------------------------


def _biased_data(n=1500, seed=0):
    rng = np.random.RandomState(seed)
    group = rng.randint(2, size=n)
    X = np.column_stack([rng.normal(size=n) + 1.2 * group, rng.normal(size=n)])
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.5, size=n) > 0.6).astype(int)
    return X, y, group


def _fit(terms, seed=0, **params):
    X, y, group = _biased_data()
    net = TabularNetClassifier(
        hidden_units=(16,), max_epochs=15, lr=1e-2, random_state=seed, **params
    )
    net.fit(X, y, sensitive_features=group if terms else None, loss_terms=terms)
    return demographic_parity_difference(y, net.predict(X), sensitive_features=group)


def test_lagrangian_term_meets_the_bound_in_the_loop():
    unconstrained = _fit([])
    term = LagrangianTerm("demographic_parity", 0.05)
    constrained = _fit([term])
    assert unconstrained > 0.3
    assert constrained <= 0.05
    assert len(term.history_) == 15
    kept = term.history_[term.best_epoch_]
    assert np.nanmax(kept["gaps"]) == pytest.approx(constrained, abs=1e-6)
    assert max(h["multipliers"].max() for h in term.history_) > 0


def test_epoch_end_evaluation_in_chunks_records_the_exact_gaps(monkeypatch):
    # the epoch-end forward pass runs in chunks on a CPU; 1500 rows in chunks
    # of 128 (the last one short) must give the gaps of the whole predictions
    monkeypatch.setattr(constraints_module, "_MONITOR_CHUNK", 128)
    term = LagrangianTerm("demographic_parity", 0.05)
    constrained = _fit([term])
    kept = term.history_[term.best_epoch_]
    assert np.nanmax(kept["gaps"]) == pytest.approx(constrained, abs=1e-6)


def test_best_epoch_is_restored_before_the_callbacks_hear_of_train_end():
    from skorch.callbacks import Callback

    class Snapshot(Callback):
        def on_train_end(self, net, **kwargs):
            self.params = [p.detach().clone() for p in net.module_.parameters()]

    X, y, group = _biased_data()
    snapshot = Snapshot()
    term = LagrangianTerm("demographic_parity", 0.05)
    net = TabularNetClassifier(
        hidden_units=(16,),
        max_epochs=12,
        lr=1e-2,
        random_state=0,
        callbacks=[("snapshot", snapshot)],
    )
    net.fit(X, y, sensitive_features=group, loss_terms=[term])
    assert term.best_epoch_ < len(term.history_) - 1  # a restore happened
    final = list(net.net_.module_.parameters())
    for seen, kept in zip(snapshot.params, final):
        torch.testing.assert_close(seen, kept)
    # the term holds no data after the fit, and left no callback behind
    assert term._monitor is None and term._net is None
    names = {name for name, _ in net.net_.callbacks_}
    assert names == {"epoch_timer", "print_log", "snapshot"}


def test_penalty_and_adversarial_terms_reduce_the_gap():
    unconstrained = _fit([])
    assert _fit([PenaltyTerm("demographic_parity", 5.0)]) < unconstrained / 2
    adversarial = AdversarialTerm("demographic_parity", alpha=3.0, random_state=0)
    assert _fit([adversarial]) < 0.75 * unconstrained


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


# --------------------------------------------------------------------------
# generalising the bound: standard errors, margin, held-out rows
# --------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_gap_standard_errors_by_hand(weighted):
    y, pred, groups, weight = _random_decisions(n=600, n_groups=3)
    w = weight if weighted else np.ones(len(y))
    onehot = torch.as_tensor(np.eye(2)[pred][:, 1:])
    se = DemographicParity().gap_standard_errors(
        onehot, None, torch.as_tensor(groups), torch.as_tensor(w), 3
    )
    # oracle: weighted rate variance / Kish's effective size, per group
    rate_var = []
    for g in range(3):
        wg, pg = w[groups == g], pred[groups == g]
        rate = np.average(pg, weights=wg)
        variance = np.average((pg - rate) ** 2, weights=wg)
        rate_var.append(variance / (wg.sum() ** 2 / (wg**2).sum()))
    expected = [np.sqrt(rate_var[a] + rate_var[b]) for a in range(3) for b in range(3)]
    expected = [e for i, e in enumerate(expected) if i // 3 != i % 3]
    np.testing.assert_allclose(se.numpy(), expected, rtol=1e-10)
    # equal weights: the textbook binomial standard error
    if not weighted:
        p0, p1 = pred[groups == 0].mean(), pred[groups == 1].mean()
        n0, n1 = (groups == 0).sum(), (groups == 1).sum()
        binomial = np.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
        assert se[0].item() == pytest.approx(binomial, rel=1e-10)


def test_equalized_odds_standard_errors_use_the_rows_of_each_event():
    y, pred, groups, _ = _random_decisions(n=600, n_groups=2)
    values, mask = EqualizedOdds()._array_values(y, np.eye(2)[pred])
    se = EqualizedOdds().gap_standard_errors(
        torch.as_tensor(values),
        torch.as_tensor(mask),
        torch.as_tensor(groups),
        torch.ones(len(y), dtype=torch.float64),
        2,
    )
    positives = [pred[(groups == g) & (y == 1)] for g in (0, 1)]
    tpr_se = np.sqrt(sum(p.mean() * (1 - p.mean()) / len(p) for p in positives))
    assert se[0].item() == pytest.approx(tpr_se, rel=1e-10)  # TPR, first event


def test_confidence_margin_is_z_standard_errors_of_the_kept_network():
    X, y, group = _biased_data()
    term = LagrangianTerm("demographic_parity", 0.3, confidence=0.95)
    net = TabularNetClassifier(hidden_units=(16,), max_epochs=8, random_state=0)
    net.fit(X, y, sensitive_features=group, loss_terms=[term])
    pred = net.predict(X)
    rates = [pred[group == g].mean() for g in (0, 1)]
    sizes = [(group == g).sum() for g in (0, 1)]
    se = np.sqrt(sum(r * (1 - r) / n for r, n in zip(rates, sizes)))
    kept = term.history_[term.best_epoch_]
    # the history is measured in float32, predict in float64
    np.testing.assert_allclose(kept["margin"], 1.6448536 * se, rtol=1e-3)
    assert np.nanmax(kept["gaps"]) <= 0.3 - kept["margin"].max()


def test_bad_validation_fraction_and_confidence():
    X, y, group = _biased_data()
    net = TabularNetClassifier(hidden_units=(4,), max_epochs=1)
    for params, match in [
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"confidence": 0.3}, "confidence"),
    ]:
        term = LagrangianTerm("demographic_parity", 0.1, **params)
        with pytest.raises(ValueError, match=match):
            net.fit(X, y, sensitive_features=group, loss_terms=[term])


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
