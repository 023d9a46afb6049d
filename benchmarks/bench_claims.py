"""Fairness claims that hold on new data (issue 17): three studies, with intervals.

1. **Adult, sex, demographic parity bound 0.02**, over ``--seeds`` seeds of the
   net: the lagrangian's test accuracy (Wilson 95% interval) and test gap
   (Newcombe 95% interval, :func:`sklfair.metrics.fairness_interval`), with
   and without its margin, a fair student of a gradient-boosting teacher and
   the reductions around gradient boosting (``--no-reductions`` leaves them
   out); the target: test gap <= 0.02 on every seed at mean accuracy >= 0.840.
2. **Adult, sex x race (10 groups), bound 0.05**: the mean accuracy and test
   gap of the lagrangian (over the seeds) and of the reductions around
   LogisticRegression (deterministic decisions, with and without the margin)
   against fairlearn's ExponentiatedGradient around LogisticRegression at
   the same bound, whose randomized decisions are averaged over five draws;
   the certificate of the test split
   (:func:`sklfair.metrics.certify`), which must say that the smallest group
   cannot certify 0.05 and name the bound it can; and at a bound the training
   groups cannot resolve (0.01), the fit must warn
   (``InfeasibleBoundWarning``) instead of returning a near-constant model.
3. **German credit, 5-fold cross-validation, sex**: approval-rate parity
   (demographic parity) and error-rate parity bounded together; the
   out-of-fold gaps (with intervals) against the unconstrained net's, or the
   fit's warning that the bounds are below what the data resolve.

The sensitive attributes are not inputs of the models. Run:
``python benchmarks/bench_claims.py [--seeds 5] [--threads 1] [--study ...]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from fairlearn.reductions import ExponentiatedGradient
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from sklfair.constrained import FairConstrainedClassifier
from sklfair.constrained._fairlearn import fairlearn_moment, fairlearn_pandas_warnings
from sklfair.constraints import DemographicParity, ErrorRateParity
from sklfair.datasets import load_adult, load_german_credit
from sklfair.distillation import DistilledClassifier
from sklfair.exceptions import DegenerateModelWarning, InfeasibleBoundWarning
from sklfair.metrics import certify, fairness_interval
from sklfair.metrics._analytic import wilson, z_value
from sklfair.nets import TabularNetClassifier

EPOCHS = 20


def encode(X_train, X_test, drop):
    """Dense float inputs without the sensitive columns."""
    transformer = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    )
    Z_train = transformer.fit_transform(X_train.drop(columns=drop))
    Z_test = transformer.transform(X_test.drop(columns=drop))
    return Z_train.astype(np.float64), Z_test.astype(np.float64)


def net(seed):
    return TabularNetClassifier(
        hidden_units=(64, 64), max_epochs=EPOCHS, random_state=seed
    )


def accuracy_interval(y, pred):
    p = float(np.mean(y == pred))
    low, high = wilson(p, len(y), z_value(0.95))
    return p, float(low), float(high)


def gap_interval(metric, y, pred, groups):
    result = fairness_interval(metric, y, pred, sensitive_features=groups)
    return result.estimate, result.low, result.high


def fair_noise(pred, groups, draws=20_000, seed=0):
    """Mean test gap of an *exactly* fair model with ``pred``'s share of
    positives: every group's decisions drawn at that one rate, on these test
    groups' sizes (the part of a test gap that no model can remove)."""
    _, sizes = np.unique(np.asarray(groups), return_counts=True)
    rng = np.random.default_rng(seed)
    rates = rng.binomial(sizes, float(np.mean(pred)), size=(draws, len(sizes))) / sizes
    return float(np.mean(rates.max(axis=1) - rates.min(axis=1)))


def fmt(triple):
    value, low, high = triple
    return f"{value:.4f} [{low:.4f}, {high:.4f}]"


def lagrangian(constraint, seed, **params):
    return FairConstrainedClassifier(
        net(seed),
        constraint=constraint,
        method="lagrangian",
        random_state=seed,
        **params,
    )


# --------------------------------------------------------------------------
# 1. Adult by sex
# --------------------------------------------------------------------------


def adult_by_sex(seeds, bound=0.02, reductions=True):
    X_train, y_train = load_adult(subset="train", return_X_y=True)
    X_test, y_test = load_adult(subset="test", return_X_y=True)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    Z_train, Z_test = encode(X_train, X_test, ["sex"])
    A_train, A_test = X_train["sex"].to_numpy(), X_test["sex"].to_numpy()
    print(f"\n1. Adult, sex, demographic parity bound {bound}, seeds 0-{seeds - 1}")
    print(
        f"{'seed':>4} {'method':26} {'fit s':>6}  accuracy [95%]            "
        "test DP gap [95%]"
    )
    teacher = HistGradientBoostingClassifier(random_state=0).fit(Z_train, y_train)
    teacher_accuracy = accuracy_interval(y_test, teacher.predict(Z_test))
    print(f"     teacher (HGB, sees no sex): {fmt(teacher_accuracy)}")
    # a reference only: group thresholds read sex when deciding
    codes_train = (A_train == A_train[0]).astype(float)[:, None]
    codes_test = (A_test == A_train[0]).astype(float)[:, None]
    blind = make_column_transformer(("passthrough", list(range(Z_train.shape[1]))))
    reference = FairConstrainedClassifier(
        make_pipeline(blind, HistGradientBoostingClassifier(random_state=0)),
        constraint=DemographicParity(bound=bound),
        method="threshold",
        sensitive_columns=[Z_train.shape[1]],
        drop_sensitive=False,
        random_state=0,
    ).fit(np.hstack([Z_train, codes_train]), y_train)
    pred = reference.predict(np.hstack([Z_test, codes_test]))
    print(
        f"{'-':>4} {'threshold on HGB':26} {'':>6}  "
        f"{fmt(accuracy_interval(y_test, pred))}  "
        f"{fmt(gap_interval('demographic_parity_difference', y_test, pred, A_test))}"
        "  (reads sex at decision time: a reference, not a contender)"
    )
    sex_blind_reference(Z_train, y_train, A_train, Z_test, y_test, A_test, bound)
    methods = [
        ("lagrangian", {}),
        ("lagrangian (no margin)", {"confidence": 0.5}),
        ("fair student of HGB", "student"),
    ]
    if reductions:
        methods.append(("ExpGrad(HGB) reductions", "reductions"))
    results = {name: ([], []) for name, _ in methods}
    for seed in range(seeds):
        for name, params in methods:
            if params == "student":  # a fair student of an accurate teacher
                clf = DistilledClassifier(
                    FrozenEstimator(teacher),
                    net(seed),
                    constraint=DemographicParity(bound=bound),
                    random_state=seed,
                )
            elif params == "reductions":  # fairlearn's ExpGrad around a GBM
                clf = FairConstrainedClassifier(
                    HistGradientBoostingClassifier(random_state=seed),
                    constraint=DemographicParity(bound=bound),
                    method="reductions",
                    random_state=seed,
                )
            else:
                clf = lagrangian(DemographicParity(bound=bound), seed, **params)
            start = time.perf_counter()
            clf.fit(Z_train, y_train, sensitive_features=A_train)
            seconds = time.perf_counter() - start
            pred = clf.predict(Z_test)
            acc = accuracy_interval(y_test, pred)
            gap = gap_interval("demographic_parity_difference", y_test, pred, A_test)
            print(f"{seed:4d} {name:26} {seconds:6.1f}  {fmt(acc)}  {fmt(gap)}")
            results[name][0].append(acc[0])
            results[name][1].append(gap[0])
    met = {}
    for name, (accuracies, gaps) in results.items():
        met[name] = max(gaps) <= bound and np.mean(accuracies) >= 0.840
        print(
            f"{name}: mean accuracy {np.mean(accuracies):.4f} (target >= 0.840), "
            f"test DP mean {np.mean(gaps):.4f}, worst {max(gaps):.4f} (target <= "
            f"{bound} on every seed): target met: {met[name]}"
        )
    print(
        "(the reductions decide where the mixture's probability exceeds its "
        "decision_threshold_, the cut whose training decisions meet the aimed "
        "bound: deterministic, not fairlearn's randomized draw)"
    )
    return any(met.values())


def sex_blind_reference(Z_train, y_train, A_train, Z_test, y_test, A_test, bound):
    """What the data allow without reading sex: decide ``p(y | x) - lam *
    p(female | x) > t``, both probabilities from gradient boosting on the
    sex-blind inputs, ``lam`` and ``t`` chosen on out-of-fold training scores
    for the best accuracy at a training gap of at most 0.7 * bound (a margin,
    as the lagrangian's). Printed as evidence of the frontier, not as a
    method of sklfair."""
    start = time.perf_counter()
    a_train = (A_train == A_train[0]).astype(int)
    scores = {}
    for name, target in (("y", y_train), ("a", a_train)):
        model = HistGradientBoostingClassifier(random_state=0)
        scores[name] = (
            cross_val_predict(model, Z_train, target, cv=5, method="predict_proba")[
                :, 1
            ],
            model.fit(Z_train, target).predict_proba(Z_test)[:, 1],
        )
    best = (-1.0, 0.0, 0.0)
    for lam in np.linspace(-1.5, 1.5, 61):
        s_train = scores["y"][0] + lam * scores["a"][0]
        for t in np.quantile(s_train, np.linspace(0.6, 0.95, 141)):
            pred = s_train > t
            gap = abs(pred[a_train == 1].mean() - pred[a_train == 0].mean())
            accuracy = np.mean(pred == y_train)
            if gap <= 0.7 * bound and accuracy > best[0]:
                best = (accuracy, lam, t)
    _, lam, t = best
    pred = (scores["y"][1] + lam * scores["a"][1] > t).astype(int)
    print(
        f"{'-':>4} {'HGB p(y|x) + lam p(sex|x)':26} "
        f"{time.perf_counter() - start:6.1f}  "
        f"{fmt(accuracy_interval(y_test, pred))}  "
        f"{fmt(gap_interval('demographic_parity_difference', y_test, pred, A_test))}"
        f"  (sex-blind reference, lam={lam:.2f}: what the data allow)"
    )


# --------------------------------------------------------------------------
# 2. Adult by sex x race
# --------------------------------------------------------------------------


def expgrad_lr(Z_train, y_train, A_train, bound):
    codes = pd.factorize(pd.Series(A_train))[0]
    moment = fairlearn_moment(DemographicParity(bound=bound), y_train, codes)
    reduction = ExponentiatedGradient(
        LogisticRegression(max_iter=1000), constraints=moment, max_iter=50
    )
    with fairlearn_pandas_warnings():
        reduction.fit(Z_train, y_train, sensitive_features=codes)
    return reduction


def adult_intersectional(seeds, bound=0.05, tight=0.01, draws=5):
    X_train, y_train = load_adult(subset="train", return_X_y=True)
    X_test, y_test = load_adult(subset="test", return_X_y=True)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    Z_train, Z_test = encode(X_train, X_test, ["sex", "race"])
    A_train, A_test = X_train[["sex", "race"]], X_test[["sex", "race"]]
    sizes = A_train.value_counts()
    test_sizes = A_test.value_counts()
    print(
        f"\n2. Adult, sex x race ({len(sizes)} groups; smallest {sizes.min()} "
        f"training and {test_sizes.min()} test rows), DP bound {bound}"
    )
    labels = A_test.astype(str).agg(", ".join, axis=1)

    def row(name, seconds, pred):
        acc = accuracy_interval(y_test, pred)
        gap = gap_interval("demographic_parity_difference", y_test, pred, labels)
        print(
            f"{name:28} {seconds:6.1f} s  accuracy {fmt(acc)}  test DP {fmt(gap)}  "
            f"positives {np.mean(pred):.3f}, fair-model noise "
            f"{fair_noise(pred, labels):.4f}"
        )
        return acc[0], gap[0]

    # fairlearn's rule is randomized: its mean over draws is its figure
    start = time.perf_counter()
    reduction = expgrad_lr(
        Z_train, y_train, A_train.astype(str).agg(", ".join, axis=1), bound
    )
    seconds = time.perf_counter() - start
    reference = []
    for draw in range(draws):
        with fairlearn_pandas_warnings():
            pred = np.asarray(reduction.predict(Z_test, random_state=draw))
        reference.append(row(f"ExpGrad(LR), draw {draw}", seconds, pred))
        seconds = 0.0
    eg_acc, eg_gap = np.mean(reference, axis=0)
    print(
        f"ExpGrad(LR) randomized, mean of {draws} draws: accuracy {eg_acc:.4f}, "
        f"test DP {eg_gap:.4f}"
    )
    contenders = {
        "lagrangian": lambda seed: lagrangian(DemographicParity(bound=bound), seed),
        "reductions(LR)": lambda seed: FairConstrainedClassifier(
            LogisticRegression(max_iter=1000),
            constraint=DemographicParity(bound=bound),
            method="reductions",
        ),
        # aimed at the bound itself, as fairlearn's own reference is
        "reductions(LR), no margin": lambda seed: FairConstrainedClassifier(
            LogisticRegression(max_iter=1000),
            constraint=DemographicParity(bound=bound),
            method="reductions",
            confidence=0.5,
        ),
    }
    results, models = {}, []
    for name, make in contenders.items():
        # LogisticRegression has no seed: one fit stands for every seed
        runs = 1 if name.startswith("reductions") else seeds
        for seed in range(runs):
            clf = make(seed)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InfeasibleBoundWarning)
                clf.fit(Z_train, y_train, sensitive_features=A_train)
            seconds = time.perf_counter() - start
            label = f"{name} seed {seed}" if runs > 1 else name
            results.setdefault(name, []).append(
                row(label, seconds, clf.predict(Z_test))
            )
            if name == "lagrangian":
                models.append(clf)
    part_a = False
    for name, values in results.items():
        accuracy, gap = np.mean(values, axis=0)
        met = accuracy >= eg_acc and gap <= eg_gap
        part_a |= met
        print(
            f"means: {name} accuracy {accuracy:.4f} vs ExpGrad(LR) {eg_acc:.4f}; "
            f"test DP {gap:.4f} vs {eg_gap:.4f}: {'met' if met else 'NOT met'}"
        )
    print(
        "(fair-model noise: the mean test DP of a model whose every group has "
        "exactly the same rate, at the same share of positives, on these test "
        "groups' sizes)"
    )
    print(f"target (accuracy >= ExpGrad(LR)'s at a test gap no larger): {part_a}")

    certificate = certify(
        models[0],
        Z_test,
        y_test,
        sensitive_features=A_test,
        constraint="demographic_parity",
        bound=bound,
    )
    print("\ncertificate of the seed-0 lagrangian on the test split:")
    print(certificate)
    row = certificate.to_frame().iloc[0]
    part_b = (not row["certified"]) and row["smallest_certifiable_bound"] > bound
    print(
        f"target (says {test_sizes.min()} rows cannot certify {bound} and names the "
        f"bound, {row['smallest_certifiable_bound']:.3f}): {part_b}"
    )

    clf = lagrangian(DemographicParity(bound=tight), 0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        clf.fit(Z_train, y_train, sensitive_features=A_train)
    kinds = {w.category for w in record}
    pred = clf.predict(Z_test)
    majority = max(np.mean(y_test), 1 - np.mean(y_test))
    warned = InfeasibleBoundWarning in kinds
    degenerate = DegenerateModelWarning in kinds
    print(
        f"\nbound {tight} (the training groups resolve "
        f"{clf.resolvable_bounds_['demographic_parity']:.3f}): InfeasibleBoundWarning "
        f"{warned}, DegenerateModelWarning {degenerate}; test accuracy "
        f"{np.mean(pred == y_test):.4f} (majority class {majority:.4f}), "
        f"share predicted positive {np.mean(pred):.3f}"
    )
    part_c = warned and not degenerate and np.mean(pred == y_test) > majority + 0.02
    print(f"target (a warning instead of a near-constant model): {part_c}")
    return part_a and part_b and part_c


# --------------------------------------------------------------------------
# 3. German credit, cross-validated, two constraints
# --------------------------------------------------------------------------


def german_cv(bound=0.05, folds=5):
    bunch = load_german_credit()
    X, y = bunch.data, np.asarray(bunch.target)
    sex = X["sex"].to_numpy()
    print(
        f"\n3. German credit, {folds}-fold CV, sex; DP <= {bound} and error-rate "
        f"parity <= {bound} together"
    )
    out = {
        "unconstrained": np.zeros(len(y), int),
        "both bounded": np.zeros(len(y), int),
    }
    warned = []
    for fold, (train, test) in enumerate(
        StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y)
    ):
        Z_train, Z_test = encode(X.iloc[train], X.iloc[test], ["sex", "age_band"])
        plain = net(fold).fit(Z_train, y[train])
        out["unconstrained"][test] = plain.predict(Z_test)
        clf = lagrangian(
            [DemographicParity(bound=bound), ErrorRateParity(bound=bound)], fold
        )
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            clf.fit(Z_train, y[train], sensitive_features=sex[train])
        warned.append(any(w.category is InfeasibleBoundWarning for w in record))
        out["both bounded"][test] = clf.predict(Z_test)
    rows = {}
    for name, pred in out.items():
        dp = gap_interval("demographic_parity_difference", y, pred, sex)
        er = gap_interval("error_rate_difference", y, pred, sex)
        acc = accuracy_interval(y, pred)
        rows[name] = (dp, er, acc)
        print(
            f"{name:14} out-of-fold accuracy {fmt(acc)}  DP {fmt(dp)}  "
            f"error-rate gap {fmt(er)}"
        )
    reduced = all(
        rows["both bounded"][k][0] < rows["unconstrained"][k][0] for k in (0, 1)
    )
    print(f"InfeasibleBoundWarning in {sum(warned)} of {folds} folds")
    met = reduced or all(warned)
    print(
        f"target (both gaps reduced, or the fit warns the bounds are below what "
        f"the data resolve): {met} (reduced: {reduced}, warned: {all(warned)})"
    )
    return met


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--no-reductions",
        action="store_true",
        help="leave ExpGrad(HGB) out of study 1 (50 boosting fits per seed)",
    )
    parser.add_argument(
        "--study", choices=["adult", "intersectional", "german", "all"], default="all"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s) for torch and BLAS")
    results = {}
    with threadpool_limits(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateModelWarning)
        if args.study in ("adult", "all"):
            results["adult"] = adult_by_sex(
                args.seeds, reductions=not args.no_reductions
            )
        if args.study in ("intersectional", "all"):
            results["intersectional"] = adult_intersectional(args.seeds)
        if args.study in ("german", "all"):
            results["german"] = german_cv()
    print(
        "\n"
        + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in results.items())
    )


if __name__ == "__main__":
    main()
