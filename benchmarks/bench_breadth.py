"""Mitigation at full breadth: a multi-class target and a continuous attribute
(issue 21, items 1 and 2).

Part A -- COMPAS's three risk levels (Low, Medium, High) as the target, race
merged into three groups (African-American, Caucasian, other), stratified
70/30 split (seed 0). Rows: the group-blind models (logistic regression and
an sklfair net, race not an input), ``method="threshold"`` (per-group offsets
to the logistic regression's log-probabilities) under demographic parity,
equal opportunity and equalized odds, and the net under ``"lagrangian"``
demographic parity (race not an input either). Columns: fit seconds and their
ratio to the logistic regression's fit in the same run, accuracy and the
largest gap of the constrained rates on the training and on the test split.

Part B -- Adult (bundled train/test split), age in years as the continuous
attribute, not an input. Rows: the unconstrained net, the net under
:class:`~sklfair.constraints.Independence` (``"lagrangian"`` and
``"penalty"``), and the binned alternative -- demographic parity between age
quartiles (``sensitive_bins=4``). Columns: fit seconds and their ratio to the
unconstrained fit, test accuracy, and on the test split the normalised HSIC
of the decisions on age, the change of the approval rate per decade of age
and the HGR maximal correlation (10 bins); on the training split the HSIC.

Run: ``python benchmarks/bench_breadth.py [--threads 1] [--part A|B|AB]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.constrained import FairConstrainedClassifier
from sklfair.constraints import (
    DemographicParity,
    EqualizedOdds,
    EqualOpportunity,
    Independence,
)
from sklfair.datasets import load_adult, load_compas
from sklfair.metrics import hgr_correlation, hsic_dependence, mean_prediction_slope
from sklfair.nets import TabularNetClassifier


def encoder():
    return make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore"),
            make_column_selector(dtype_exclude="number"),
        ),
        remainder=StandardScaler(),
    )


def net(epochs):
    return make_pipeline(
        encoder(),
        TabularNetClassifier(
            hidden_units=(64,),
            max_epochs=epochs,
            batch_size=256,
            lr=3e-3,
            random_state=0,
        ),
    )


def timed(model, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    return model, time.perf_counter() - start


# --------------------------------------------------------------------------
# Part A
# --------------------------------------------------------------------------


def compas():
    bunch = load_compas()
    X = bunch.data.drop(columns=["sex", "age_cat"]).copy()
    X["race"] = (
        X["race"]
        .astype(str)
        .replace({"Asian": "Other", "Native American": "Other", "Hispanic": "Other"})
    )
    y = bunch.frame["score_text"].astype(str).to_numpy()
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def largest_gap(constraint, y, pred, race):
    classes = np.unique(y)
    y_codes = np.searchsorted(classes, y)
    decisions = np.eye(len(classes))[np.searchsorted(classes, pred)]
    codes = np.unique(race, return_inverse=True)[1]
    return constraint.max_gap(y_codes, decisions, codes)


def part_a():
    X_train, X_test, y_train, y_test = compas()
    race_train, race_test = X_train["race"].to_numpy(), X_test["race"].to_numpy()
    blind_train, blind_test = X_train.drop(columns="race"), X_test.drop(columns="race")
    constraints = {
        "DP": DemographicParity(bound=0.05),
        "EO": EqualOpportunity(bound=0.05),
        "EOdds": EqualizedOdds(bound=0.05),
    }
    print(
        f"COMPAS risk levels (3 classes) by race (3 groups): {len(y_train)} train, "
        f"{len(y_test)} test rows"
    )
    header = (
        f"{'model':34s} {'fit s':>6s} {'x LR':>5s} {'acc tr':>7s} {'acc te':>7s}  "
        + "  ".join(f"{n + ' tr':>8s} {n + ' te':>8s}" for n in constraints)
    )
    print(header)
    logistic = make_pipeline(encoder(), LogisticRegression(max_iter=1000))
    rows = []
    _, reference = timed(logistic, blind_train, y_train)
    rows.append(("LR, race not an input", logistic, reference, True))
    blind_net, seconds = timed(net(30), blind_train, y_train)
    rows.append(("net, race not an input", blind_net, seconds, True))
    for name, constraint in constraints.items():
        model, seconds = timed(
            FairConstrainedClassifier(
                make_pipeline(encoder(), LogisticRegression(max_iter=1000)),
                constraint=constraint,
                method="threshold",
                sensitive_columns="race",
            ),
            X_train,
            y_train,
        )
        rows.append((f"threshold {name} <= 0.05", model, seconds, False))
    model, seconds = timed(
        FairConstrainedClassifier(
            net(30),
            constraint=DemographicParity(bound=0.05),
            method="lagrangian",
            sensitive_columns="race",
            random_state=0,
        ),
        X_train,
        y_train,
    )
    rows.append(("net lagrangian DP <= 0.05", model, seconds, False))
    for label, model, seconds, blind in rows:
        train_in = blind_train if blind else X_train
        test_in = blind_test if blind else X_test
        pred_train, pred_test = model.predict(train_in), model.predict(test_in)
        gaps = "  ".join(
            f"{largest_gap(c, y_train, pred_train, race_train):8.4f} "
            f"{largest_gap(c, y_test, pred_test, race_test):8.4f}"
            for c in constraints.values()
        )
        print(
            f"{label:34s} {seconds:6.2f} {seconds / reference:5.1f} "
            f"{np.mean(pred_train == y_train):7.4f} {np.mean(pred_test == y_test):7.4f}"
            f"  {gaps}"
        )


# --------------------------------------------------------------------------
# Part B
# --------------------------------------------------------------------------


def part_b():
    X_train, y_train = load_adult(subset="train", return_X_y=True)
    X_test, y_test = load_adult(subset="test", return_X_y=True)
    drop = ["age_band", "fnlwgt"]
    X_train, X_test = X_train.drop(columns=drop), X_test.drop(columns=drop)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    age_train, age_test = X_train["age"], X_test["age"]
    print(
        f"\nAdult, age in years as the attribute (not an input): {len(y_train)} "
        f"train, {len(y_test)} test rows"
    )
    print(
        f"{'model':38s} {'fit s':>6s} {'x net':>5s} {'acc te':>7s} {'HSIC tr':>8s} "
        f"{'HSIC te':>8s} {'sel/10y':>8s} {'HGR te':>7s}"
    )
    plain, reference = timed(net(20), X_train.drop(columns="age"), y_train)
    rows = [("net, age not an input", plain, reference, True)]
    for label, constraint, method, extra in [
        ("Independence lagrangian <= 0.01", Independence(bound=0.01), "lagrangian", {}),
        (
            "Independence lagrangian <= 0.003",
            Independence(bound=0.003),
            "lagrangian",
            {},
        ),
        (
            "Independence penalty 10",
            Independence(bound=0.0),
            "penalty",
            {"penalty": 10.0},
        ),
        (
            "DP <= 0.02 between age quartiles",
            DemographicParity(bound=0.02),
            "lagrangian",
            {"sensitive_bins": 4},
        ),
    ]:
        model, seconds = timed(
            FairConstrainedClassifier(
                net(20),
                constraint=constraint,
                method=method,
                sensitive_columns="age",
                random_state=0,
                **extra,
            ),
            X_train,
            y_train,
        )
        rows.append((label, model, seconds, False))
    for label, model, seconds, blind in rows:
        train_in = X_train.drop(columns="age") if blind else X_train
        test_in = X_test.drop(columns="age") if blind else X_test
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ages unseen in training
            pred_train, pred_test = model.predict(train_in), model.predict(test_in)
        slope = mean_prediction_slope(pred_test, sensitive_features=age_test, per=10)
        print(
            f"{label:38s} {seconds:6.1f} {seconds / reference:5.2f} "
            f"{np.mean(pred_test == y_test):7.4f} "
            f"{hsic_dependence(pred_train, sensitive_features=age_train):8.4f} "
            f"{hsic_dependence(pred_test, sensitive_features=age_test):8.4f} "
            f"{slope:+8.4f} "
            f"{hgr_correlation(pred_test, sensitive_features=age_test):7.3f}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--part", default="AB")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # warm-up: the first fit of a process pays torch's start-up costs
    rng = np.random.default_rng(0)
    TabularNetClassifier(max_epochs=2).fit(
        rng.normal(size=(500, 5)), rng.integers(0, 2, 500)
    )
    if "A" in args.part:
        part_a()
    if "B" in args.part:
        part_b()


if __name__ == "__main__":
    main()
