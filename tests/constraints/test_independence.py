"""The Independence constraint: the same number as the metric on fitted
decisions, and a differentiable batch version equal to the Gram-matrix
formula without the diagonal."""

import numpy as np
import pytest
import torch

from sklfair.constraints import Independence, resolve_constraint
from sklfair.metrics import hsic_dependence


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    age = rng.integers(18, 80, 300)
    decisions = (age + rng.normal(0, 15, 300) > 45).astype(int)
    codes = np.unique(age, return_inverse=True)[1]
    return age, decisions, codes


def test_the_claim_is_the_metric(data):
    age, decisions, codes = data
    constraint = Independence(bound=0.01, bandwidth=0.3)
    onehot = np.eye(2)[decisions]
    expected = hsic_dependence(decisions, sensitive_features=age, bandwidth=0.3)
    assert constraint.max_gap(None, onehot, codes) == pytest.approx(expected)
    numerator, denominator = constraint.rates(None, onehot, codes)
    assert numerator.shape == (1, codes.max() + 1)
    assert (numerator / denominator).max() == pytest.approx(expected)
    weight = np.random.default_rng(1).integers(0, 3, 300)
    assert constraint.gaps(None, onehot, codes, weight)[0] == pytest.approx(
        hsic_dependence(
            decisions, sensitive_features=age, sample_weight=weight, bandwidth=0.3
        )
    )
    assert constraint.gap_names(60, 2) == ["hsic"]


def test_batch_dependence_is_the_off_diagonal_gram_formula(data):
    age, decisions, codes = data
    constraint = Independence(temperature=1.0, bandwidth=0.25)
    logits = torch.tensor(
        np.random.default_rng(2).normal(size=(300, 3)), requires_grad=True
    )
    ranks = torch.tensor(np.random.default_rng(3).uniform(size=300))
    weight = torch.ones(300, dtype=torch.float64)
    value = constraint.batch_dependence(logits, ranks, weight)
    value.backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    # by hand: centred Gram matrices, the diagonal of the cross term removed
    D = torch.softmax(logits.detach(), dim=1).numpy()
    u = ranks.numpy()
    n = len(u)
    K = D @ D.T
    L = np.exp(-((u[:, None] - u[None, :]) ** 2) / (2 * 0.25**2))
    H = np.eye(n) - 1.0 / n
    Kc, Lc = H @ K @ H, H @ L @ H
    cross = np.sum(Kc * L) - np.trace(Kc)  # i != j pairs of the cross term
    expected = cross / np.sqrt(np.sum(Kc * Kc) * np.sum(Lc * Lc))
    assert value.item() == pytest.approx(expected, rel=1e-9)


def test_the_level_table_and_the_written_gradient():
    rng = np.random.default_rng(4)
    codes = torch.tensor(rng.integers(0, 9, 120))
    level_ranks = torch.tensor(np.sort(rng.uniform(size=9)))
    table = torch.exp(-((level_ranks[:, None] - level_ranks[None, :]) ** 2) / 0.125)
    logits = torch.tensor(rng.normal(size=(120, 3)), requires_grad=True)
    weight = torch.tensor(rng.uniform(0.5, 2.0, 120))
    constraint = Independence(temperature=1.0)
    by_rows = constraint.batch_dependence(logits, level_ranks[codes], weight)
    attribute = 0.05
    rows = constraint.batch_dependence(
        logits, level_ranks[codes], weight, attribute=attribute
    )
    levels = constraint.batch_dependence(
        logits,
        level_ranks[codes],
        weight,
        attribute=attribute,
        codes=codes,
        table=table,
    )
    assert levels.item() == pytest.approx(rows.item(), rel=1e-12)
    assert by_rows.item() != pytest.approx(rows.item())
    # the hand-written backward pass against finite differences
    assert torch.autograd.gradcheck(
        lambda x: constraint.batch_dependence(
            x,
            level_ranks[codes],
            weight,
            attribute=attribute,
            codes=codes,
            table=table,
        ),
        (logits,),
    )


def test_it_is_not_a_group_rate_constraint():
    constraint = resolve_constraint(Independence(), bound=0.02)
    assert constraint.bound == 0.02 and constraint.continuous_attribute
    with pytest.raises(TypeError, match="not group rates.*DependenceTerm"):
        constraint._values(torch.zeros(2, 2), {})
