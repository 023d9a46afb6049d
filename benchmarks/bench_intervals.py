"""Intervals of the gaps: bootstrap speed against fairlearn, and coverage.

Speed. On Taiwan credit (30,000 rows; a logistic regression fitted on a
stratified 70 % split predicts every row), the demographic parity difference
by sex gets a 95 % percentile bootstrap interval from 1,000 resamples, by
``sklfair.metrics.fairness_interval(method="bootstrap")`` and by fairlearn's
``MetricFrame(n_boot=1000, ci_quantiles=[0.025, 0.975]).difference_ci()``, in
the same run on the same predictions. Prints both times, their ratio and both
intervals; then sklfair alone for equalized odds (which fairlearn's
MetricFrame cannot bootstrap as one gap), for continuous sample weights (every
row its own atom: the index path of the resampler), for the intersectional
sex x age band attribute, and the analytic interval.

Coverage (``--coverage N``). N simulated data sets per scenario with a known
gap; prints how often the analytic and the bootstrap interval hold the true
gap (two-sided) and how often their upper end is above it (what a
certificate relies on).

Run: ``python benchmarks/bench_intervals.py [--n-boot 1000] [--repeats 3]
[--fairlearn-boot 1000] [--coverage 200]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from sklfair.datasets import load_taiwan_credit
from sklfair.metrics import fairness_interval


def predictions():
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_taiwan_credit(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), make_column_selector(dtype_include="number"))
        ),
        LogisticRegression(max_iter=500),
    ).fit(X_train, y_train)
    return X, y.to_numpy(), model.predict(X)


def best_of(repeats, func):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def speed(n_boot, repeats, fairlearn_boot):
    from fairlearn.metrics import MetricFrame, selection_rate

    X, y, y_pred = predictions()
    sex = X["sex"].to_numpy()
    print(
        f"Taiwan credit: {len(y)} rows, groups by sex {dict(X['sex'].value_counts())}"
    )
    ours_time, ours = best_of(
        repeats,
        lambda: fairness_interval(
            "demographic_parity_difference",
            y,
            y_pred,
            sensitive_features=sex,
            method="bootstrap",
            n_boot=n_boot,
            random_state=0,
        ),
    )
    start = time.perf_counter()
    frame = MetricFrame(
        metrics=selection_rate,
        y_true=y,
        y_pred=y_pred,
        sensitive_features=sex,
        n_boot=fairlearn_boot,
        ci_quantiles=[0.025, 0.975],
        random_state=0,
    )
    low, high = frame.difference_ci()
    theirs_time = time.perf_counter() - start
    per_resample = theirs_time / fairlearn_boot * n_boot
    note = "" if fairlearn_boot == n_boot else f" ({fairlearn_boot} run, scaled)"
    print(
        f"DP difference, {n_boot} resamples: sklfair {ours_time:.3f} s, "
        f"fairlearn MetricFrame {per_resample:.1f} s{note}; "
        f"ratio {per_resample / ours_time:.0f}x"
    )
    print(
        f"  interval: sklfair [{ours.low:.4f}, {ours.high:.4f}], "
        f"fairlearn [{float(low):.4f}, {float(high):.4f}] "
        f"(estimate {ours.estimate:.4f})"
    )
    rng = np.random.default_rng(0)
    cases = [
        ("equalized odds", "equalized_odds_difference", sex, None),
        (
            "DP, continuous weights",
            "demographic_parity_difference",
            sex,
            rng.exponential(size=len(y)),
        ),
        (
            "DP, sex x age band",
            "demographic_parity_difference",
            X[["sex", "age_band"]],
            None,
        ),
    ]
    for name, metric, groups, weights in cases:
        seconds, result = best_of(
            repeats,
            lambda m=metric, g=groups, w=weights: fairness_interval(
                m,
                y,
                y_pred,
                sensitive_features=g,
                sample_weight=w,
                method="bootstrap",
                n_boot=n_boot,
                random_state=0,
            ),
        )
        print(
            f"{name}, {n_boot} resamples: sklfair {seconds:.3f} s, interval "
            f"[{result.low:.4f}, {result.high:.4f}]"
        )
    seconds, result = best_of(
        repeats,
        lambda: fairness_interval(
            "equalized_odds_difference", y, y_pred, sensitive_features=groups
        ),
    )
    print(
        f"equalized odds, sex x age band, analytic: {seconds * 1e3:.1f} ms, "
        f"interval [{result.low:.4f}, {result.high:.4f}] ({result.family})"
    )


# --------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------


def _draw(rng, sizes, rates):
    groups = np.repeat(np.arange(len(sizes)), sizes)
    y_pred = (rng.random(groups.size) < np.repeat(rates, sizes)).astype(int)
    return y_pred, y_pred, groups


def _eo_draw(rng):
    sizes = [300, 400, 500]
    groups = np.repeat(np.arange(3), sizes)
    y_true = (rng.random(groups.size) < 0.5).astype(int)
    tpr = np.repeat([0.70, 0.80, 0.75], sizes)
    fpr = np.repeat([0.20, 0.25, 0.30], sizes)
    y_pred = (rng.random(groups.size) < np.where(y_true == 1, tpr, fpr)).astype(int)
    return y_true, y_pred, groups


SCENARIOS = [
    (
        "DP, 2 groups (300, 500), gap 0.12",
        "demographic_parity_difference",
        lambda rng: _draw(rng, [300, 500], [0.30, 0.42]),
        0.12,
    ),
    (
        "DP, 5 groups (50..800), gap 0.10",
        "demographic_parity_difference",
        lambda rng: _draw(rng, [50, 100, 200, 400, 800], [0.3, 0.35, 0.35, 0.4, 0.4]),
        0.10,
    ),
    (
        "DP, 3 groups, no gap",
        "demographic_parity_difference",
        lambda rng: _draw(rng, [300, 500, 200], [0.4, 0.4, 0.4]),
        0.0,
    ),
    (
        "EO, 3 groups, TPR and FPR gaps 0.10",
        "equalized_odds_difference",
        _eo_draw,
        0.10,
    ),
]


def coverage(n_draws, n_boot):
    print(
        f"\nCoverage of 95 % intervals over {n_draws} simulated data sets "
        "(two-sided / upper end above the truth; nominal 0.95 / 0.975)"
    )
    for name, metric, draw, truth in SCENARIOS:
        hits = {"analytic": [0, 0], "bootstrap": [0, 0]}
        for seed in range(n_draws):
            y_true, y_pred, groups = draw(np.random.default_rng(seed))
            for method, counts in hits.items():
                result = fairness_interval(
                    metric,
                    y_true,
                    y_pred,
                    sensitive_features=groups,
                    method=method,
                    n_boot=n_boot,
                    random_state=seed,
                )
                counts[0] += result.low <= truth <= result.high
                counts[1] += truth <= result.high
        shown = ", ".join(
            f"{method} {a / n_draws:.3f} / {b / n_draws:.3f}"
            for method, (a, b) in hits.items()
        )
        print(f"  {name}: {shown}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--fairlearn-boot",
        type=int,
        default=1000,
        help="resamples for fairlearn (its time is scaled to --n-boot)",
    )
    parser.add_argument("--coverage", type=int, default=0, metavar="N")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f}")
    speed(args.n_boot, args.repeats, args.fairlearn_boot)
    if args.coverage:
        coverage(args.coverage, args.n_boot)


if __name__ == "__main__":
    main()
