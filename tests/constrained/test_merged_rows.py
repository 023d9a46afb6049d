"""Merged duplicate rows count as the rows they stand for in the term's statistics.

A net merges identical training rows into one row carrying the sum of their
weights (an exact rewrite of the loss). The lagrangian's floors (the
smallest gap each pair of groups can resolve) and its margin (z standard
errors of each gap) are statistics of the *rows*: Kish's effective size of
merged rows taken as weights is smaller than their count, so they came out
too large wherever the data hold many duplicates (COMPAS: 2,538 distinct of
4,320 training rows, floors up to 0.110 instead of 0.066, and a fit that
aimed above its bound). The oracles: the floors computed on the original
rows with unit weights, and the standard errors of the selection-rate gaps
by hand with numpy.
"""

import numpy as np
import pytest
from compas_levels import compas_encoder, compas_split
from scipy.stats import norm
from sklearn.pipeline import make_pipeline

from sklfair.constrained import FairConstrainedClassifier, LagrangianTerm
from sklfair.constrained._feasibility import gap_floors
from sklfair.constraints import DemographicParity
from sklfair.nets import TabularNetClassifier
from sklfair.nets._compact import compact_rows

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.SmallGroupWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.InfeasibleBoundWarning"),
    pytest.mark.filterwarnings("ignore::sklfair.exceptions.BoundNotMetWarning"),
]


def test_compact_rows_sums_the_squared_weights_of_merged_rows():
    X = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 3.0], [0.0, 1.0], [2.0, 3.0]])
    y = np.array([1, 1, 0, 1, 0])
    weight = np.array([1.0, 2.0, 0.5, 3.0, 4.0])
    rows, merged, squares = compact_rows(X, [y], weight, squares=True)
    by_row = {int(r): (m, s) for r, m, s in zip(rows, merged, squares, strict=True)}
    assert by_row[0] == (6.0, 1.0 + 4.0 + 9.0)
    assert by_row[2] == (4.5, 0.25 + 16.0)
    # unit weights: the squares are the counts; nothing merged: None
    _, merged, squares = compact_rows(X, [y], None, squares=True)
    np.testing.assert_array_equal(np.sort(squares), [2.0, 3.0])
    np.testing.assert_array_equal(squares, merged)
    assert compact_rows(X[[0, 2]], [y[[0, 2]]], None, squares=True)[2] is None
    # without squares=True the result is unchanged
    assert len(compact_rows(X, [y], weight)) == 2


@pytest.fixture(scope="module")
def compas_numeric():
    X, _, y, _ = compas_split()
    Z = compas_encoder().fit_transform(X.drop(columns="race"))
    classes, y_codes = np.unique(y, return_inverse=True)
    groups, codes = np.unique(X["race"].to_numpy(), return_inverse=True)
    return np.asarray(Z, dtype=np.float64), y_codes, codes


@pytest.mark.slow
def test_floors_and_margin_are_those_of_the_original_rows(compas_numeric):
    Z, y, codes = compas_numeric
    merged = len(compact_rows(Z, [y, codes], None)[0])
    assert merged < 0.7 * len(y)  # COMPAS has many duplicate rows
    dp = DemographicParity(bound=0.05)
    term = LagrangianTerm(dp, confidence=0.95)
    net = TabularNetClassifier(hidden_units=(16,), max_epochs=2, random_state=0)
    net.fit(Z, y, sensitive_features=codes, loss_terms=[term])
    expected = gap_floors(dp, y, codes, None, 3, 0.95, n_classes=3)
    # float32 weights in the loop
    np.testing.assert_allclose(term.floors_, expected, rtol=1e-6)
    assert term.floors_.max() == pytest.approx(0.066, abs=0.001)
    # the margin of the last epoch: z * se of each selection-rate gap, se
    # from the decisions' rates and the groups' row counts
    decisions = net.predict(Z)
    z = norm.ppf(0.95)
    rates = np.array(
        [[np.mean(decisions[codes == g] == c) for g in range(3)] for c in range(3)]
    )
    sizes = np.bincount(codes)
    variance = rates * (1 - rates) / sizes
    first, second = np.array([(a, b) for a in range(3) for b in range(3) if a != b]).T
    se = np.sqrt(variance[:, first] + variance[:, second]).ravel()
    margin = np.where(z * se <= 0.025, z * se, 0.0)
    np.testing.assert_allclose(term.margin_.numpy(), margin, atol=1e-6)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklfair.exceptions.DegenerateModelWarning")
def test_compas_lagrangian_meets_the_bound_it_can_resolve():
    # the guide's COMPAS row: with the floors of the original rows the
    # group-blind net reaches the bound on the training rows (by nearly
    # never deciding 'Medium', which the fit warns about)
    X, _, y, _ = compas_split()
    clf = FairConstrainedClassifier(
        make_pipeline(
            compas_encoder(), TabularNetClassifier(max_epochs=30, random_state=0)
        ),
        constraint=DemographicParity(bound=0.05),
        method="lagrangian",
        sensitive_columns="race",
        random_state=0,
    ).fit(X, y)
    assert clf.constraint_violation_ <= 0.0
