"""
Constrained fitting and the accuracy--fairness Pareto front
============================================================

:class:`~sklfair.constrained.FairConstrainedClassifier` trains a network
*under* a fairness constraint: with ``method="lagrangian"`` the gap between
the groups' selection rates is kept below ``bound`` in a single training run
(a Lagrange multiplier per gap, raised while the bound is violated).

Which bound? That is a trade-off between accuracy and fairness, and this
example lets a model search draw it: :class:`~sklearn.model_selection.GridSearchCV`
over ``bound`` scores every candidate on accuracy *and* on the demographic
parity difference (:func:`~sklfair.metrics.make_fairness_scorer`);
:func:`~sklfair.model_selection.pareto_front` lists the candidates that no
other beats on both, and :func:`~sklfair.model_selection.constrained_refit`
picks the most accurate one whose gap stays within a limit the risk
committee set.
"""

# %%
# The data and the model
# ----------------------
# Taiwan credit-card clients (1 = default next month), 10,000 of the 30,000
# rows to keep the example short. A positive decision flags a likely
# default, so the *selection rate* here is the rate of being flagged. The
# constraint is on clients under 25 against the others. The sensitive
# columns stay in ``X``: the meta-estimator reads ``age_band`` from it and
# drops it, and the preprocessing never uses ``sex``.
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.datasets import load_taiwan_credit
from sklfair.nets import TabularNetClassifier

cards = load_taiwan_credit()
X, _, y, _ = train_test_split(
    cards.data, cards.target, train_size=10_000, stratify=cards.target, random_state=0
)
sensitive = ["sex", "age_band"]
categorical = ["education", "marriage"]
numeric = [c for c in X.columns if c not in sensitive and c not in categorical]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)

network = make_pipeline(
    make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), categorical),
        (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
    ),
    TabularNetClassifier(
        hidden_units=(32,), max_epochs=30, lr=3e-3, batch_size=256, random_state=0
    ),
)
constrained = FairConstrainedClassifier(
    network, method="lagrangian", sensitive_columns="age_band"
)

# %%
# The search
# ----------
# Two scorers: accuracy, and the demographic parity difference by age band.
# The fairness scorer reads the groups from the ``age_band`` column of each
# validation fold, and reports ``-gap`` (higher is better, as every
# scikit-learn score). ``constrained_refit`` keeps the most accurate
# candidate whose mean gap is at most 0.05.
from sklfair.metrics import make_fairness_scorer
from sklfair.model_selection import constrained_refit, pareto_front

scoring = {
    "accuracy": "accuracy",
    "dp_gap": make_fairness_scorer(
        "demographic_parity_difference", sensitive_columns="age_band"
    ),
}
search = GridSearchCV(
    constrained,
    {"bound": [0.005, 0.01, 0.02, 0.05, 1.0]},
    scoring=scoring,
    refit=constrained_refit("accuracy", "dp_gap", bound=0.05),
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X_train, y_train)
print("chosen:", search.best_params_)

# %%
# The Pareto front
# ----------------
# ``bound=1.0`` is no constraint at all: the unconstrained network. The
# bound holds on the training rows; on unseen rows the gap is an estimate
# with its own noise (about 300 young clients per validation fold), which is
# why the limit is checked on the mean over the folds. Bounds of 0.005 to
# 0.02 are tighter than a training fold's groups can resolve (about 600
# young clients): each fit warns (``InfeasibleBoundWarning``, then
# ``BoundNotMetWarning``) and aims at the smallest gap its groups resolve
# instead of chasing the bound into a useless model, so those three
# candidates are the same network.
front = pareto_front(search.cv_results_, "accuracy", "dp_gap", all_candidates=True)
print(front[["param_bound", "score", "gap", "pareto"]].round(3))

# %%
from sklfair.plotting import plot_pareto_front

fig = plot_pareto_front(search.cv_results_, "accuracy", "dp_gap", annotate="bound")
fig.axes[0].set_title("Cross-validated accuracy against the age-band gap")

# %%
# The chosen model on the held-out rows
# -------------------------------------
# The refitted model is a single deterministic network. Its gap on the
# 3,000 test rows is an estimate too; ``constraint_violation_`` is the gap reached on
# the training data minus the bound (at most 0 when the bound was met).
from sklfair.metrics import demographic_parity_difference

best = search.best_estimator_
gap = demographic_parity_difference(
    y_test, best.predict(X_test), sensitive_features=X_test["age_band"]
)
print(f"test accuracy {best.score(X_test, y_test):.3f}, test gap {gap:.3f}")
print(f"training gap minus bound: {best.constraint_violation_:.3f}")
