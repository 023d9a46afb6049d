"""Fairness-constrained fitting: sklfair's methods next to fairlearn's (issue 5).

For Adult (bundled train/test split) and Taiwan credit (stratified 70/30 split,
seed 0) the sensitive attribute ``sex`` is *not* an input of the model. Every
method sees the same one-hot/standardised dense float matrix, fitted on the
training split, and the groups as ``sensitive_features``. The constraint is
demographic parity with ``--bound`` (default 0.02) as the largest allowed
difference between the two groups' selection rates; fairlearn's
``ExponentiatedGradient`` gets the Moment bound with the same meaning
(:meth:`sklfair.constraints.FairnessConstraint.moment`), its
``ThresholdOptimizer`` ``tol=bound``.

Rows: the unconstrained nets (sklfair's TabularNetClassifier, sklearn's
MLPClassifier, both 64-64 and 20 epochs); sklfair's
``FairConstrainedClassifier`` with each method (``lagrangian`` with its
default margin, ``confidence=0.95``, and without one, ``confidence=0.5``); fairlearn's
ExponentiatedGradient around LogisticRegression and around MLPClassifier
(10 iterations, as measured in the issue), ThresholdOptimizer on the MLP and
AdversarialFairnessClassifier (64-64, 20 epochs). Columns: fit seconds, test
accuracy, AUC, demographic parity and equalized odds differences (fairlearn's
metrics, on the test split). The last lines check the issue's target for
``lagrangian``: accuracy at least ExpGrad(MLP)'s at test DP <= bound, in at
most a tenth of its time and at most twice one unconstrained fit.

Because one fit's wall time moves by about 10% between runs on a shared
machine, the time part of the target is also judged on the medians of
``--repeats`` fits of each, taken in turns.

The speed lines (issue 21, ``--speed``, 3 by default) time lagrangian,
penalty and adversarial against the unconstrained net, medians of fits taken
in turns, and break the extra time down by the loss term's methods (group
sums, the linear term, the rest of the call, the lagrangian's dual step, the
adversary's step after the optimizer's, the epoch-end record, setup,
restore, the claim) and the rest (the backward pass through the term).
``--speed-only`` prints only those. Where numba is installed, the
lagrangian and penalty terms compute a batch in one compiled call; the line
after the header says so, and how long the first constrained fit of the
process took (it loads the compiled code; it is not among the timed fits).

Run: ``python benchmarks/bench_constrained.py [--bound 0.02] [--threads 1]
[--repeats 5] [--seeds 5] [--speed 3] [--speed-only]``.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings

import numpy as np
import torch
from fairlearn.adversarial import AdversarialFairnessClassifier
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import ExponentiatedGradient
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from sklfair.constrained import (
    AdversarialTerm,
    FairConstrainedClassifier,
    LagrangianTerm,
    PenaltyTerm,
)
from sklfair.constrained._binary_step import binary_kind
from sklfair.constrained._fairlearn import (
    fairlearn_moment,
    interpolated_positive,
    mixture_proba,
)
from sklfair.constraints import DemographicParity
from sklfair.datasets import load_adult, load_taiwan_credit
from sklfair.nets import TabularNetClassifier

SENSITIVE = "sex"
EPOCHS = 20


def adult():
    X_train, y_train = load_adult(subset="train", return_X_y=True)
    X_test, y_test = load_adult(subset="test", return_X_y=True)
    return X_train, X_test, y_train, y_test


def taiwan():
    X, y = load_taiwan_credit(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def prepare(X_train, X_test):
    """Dense float matrices without the sensitive column, and the groups."""
    features = X_train.drop(columns=SENSITIVE)
    encoder = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    ).fit(features)
    Z_train = encoder.transform(features).astype(np.float64)
    Z_test = encoder.transform(X_test.drop(columns=SENSITIVE)).astype(np.float64)
    groups = [np.asarray(X[SENSITIVE].astype(str)) for X in (X_train, X_test)]
    return Z_train, Z_test, groups[0], groups[1]


def net(**params):
    return TabularNetClassifier(**{"max_epochs": EPOCHS, "random_state": 0, **params})


def mlp():
    return MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=EPOCHS, random_state=0)


def contenders(bound, y_train, A_train):
    moment_bound = fairlearn_moment(DemographicParity(bound=bound), y_train, A_train)

    def sklfair(method, estimator=None, **params):
        return FairConstrainedClassifier(
            estimator if estimator is not None else net(),
            bound=bound,
            method=method,
            random_state=0,
            **params,
        )

    def expgrad(estimator, max_iter):
        return ExponentiatedGradient(
            estimator, constraints=moment_bound, max_iter=max_iter
        )

    return [
        ("unconstrained TabularNet", net(), "plain"),
        ("unconstrained sklearn MLP", mlp(), "plain"),
        ("sklfair lagrangian", sklfair("lagrangian"), "sklfair"),
        (
            "sklfair lagrangian (no margin)",
            sklfair("lagrangian", confidence=0.5),
            "sklfair",
        ),
        (
            "sklfair lagrangian (EO 0.03)",
            FairConstrainedClassifier(net(), constraint="equalized_odds", bound=0.03),
            "sklfair",
        ),
        ("sklfair penalty", sklfair("penalty"), "sklfair"),
        ("sklfair adversarial", sklfair("adversarial"), "sklfair"),
        (
            "sklfair reductions(LR)",
            sklfair("reductions", LogisticRegression(max_iter=1000)),
            "sklfair",
        ),
        ("sklfair threshold(TabularNet)", sklfair("threshold"), "sklfair-columns"),
        (
            "fairlearn ExpGrad(LR)",
            expgrad(LogisticRegression(max_iter=1000), 50),
            "fairlearn",
        ),
        ("fairlearn ExpGrad(MLP)", expgrad(mlp(), 10), "fairlearn"),
        (
            "fairlearn ThresholdOptimizer(MLP)",
            ThresholdOptimizer(
                estimator=mlp(),
                constraints="demographic_parity",
                predict_method="predict_proba",
                tol=bound,
            ),
            "fairlearn-threshold",
        ),
        (
            "fairlearn AdversarialFairness",
            AdversarialFairnessClassifier(
                backend="torch",
                predictor_model=[64, "leaky_relu", 64, "leaky_relu"],
                adversary_model=[3, "leaky_relu"],
                batch_size=256,
                epochs=EPOCHS,
                learning_rate=1e-3,
                shuffle=True,
                random_state=0,
            ),
            "fairlearn-adversarial",
        ),
    ]


def run(estimator, kind, Z_train, Z_test, y_train, A_train, A_test):
    """Fit; return seconds, hard test predictions and test scores."""
    if kind == "sklfair-columns":  # threshold reads the groups from X
        Z_train = np.column_stack([Z_train, A_train == A_train[0]])
        Z_test = np.column_stack([Z_test, A_test == A_train[0]])
        estimator.set_params(sensitive_columns=[Z_train.shape[1] - 1])
    start = time.perf_counter()
    if kind == "plain":
        estimator.fit(Z_train, y_train)
    elif kind == "sklfair":
        estimator.fit(Z_train, y_train, sensitive_features=A_train)
    elif kind == "sklfair-columns":
        estimator.fit(Z_train, y_train)
    else:
        estimator.fit(Z_train, y_train, sensitive_features=A_train)
    seconds = time.perf_counter() - start
    if kind in ("plain", "sklfair", "sklfair-columns"):
        pred = estimator.predict(Z_test)
        scores = estimator.predict_proba(Z_test)[:, 1]
    elif kind == "fairlearn":
        pred = estimator.predict(Z_test, random_state=0)
        scores = mixture_proba(estimator, Z_test)[:, 1]
    elif kind == "fairlearn-threshold":
        pred = estimator.predict(Z_test, sensitive_features=A_test, random_state=0)
        base = estimator.estimator_.predict_proba(Z_test)[:, 1]
        scores = interpolated_positive(
            estimator.interpolated_thresholder_.interpolation_dict,
            base,
            A_test,
            blind=base > 0.5,
        )
    else:
        pred = estimator.predict(Z_test)
        # fairlearn's AdversarialFairnessClassifier has no public score method
        # (no predict_proba or decision_function): its private _raw_predict is
        # the only way to its scores, for the AUC.
        scores = np.asarray(estimator._raw_predict(Z_test)).reshape(-1)
    return seconds, np.asarray(pred).astype(int), np.asarray(scores, dtype=float)


def bench(name, data, bound):
    X_train, X_test, y_train, y_test = data
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    Z_train, Z_test, A_train, A_test = prepare(X_train, X_test)
    print(
        f"\n{name}: {len(y_train)} training rows, {len(y_test)} test rows, "
        f"{Z_train.shape[1]} features; groups by {SENSITIVE}; "
        f"demographic parity bound {bound}"
    )
    header = (
        f"{'method':36s} {'fit s':>7s} {'acc':>6s} {'AUC':>6s} {'DP':>6s} {'EO':>6s}"
    )
    print(header)
    print("-" * len(header))
    # one-time torch start-up costs are paid here, not by the first row
    TabularNetClassifier(max_epochs=1).fit(Z_train[:512], y_train[:512])
    results = {}
    for label, estimator, kind in contenders(bound, y_train, A_train):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds, pred, scores = run(
                    estimator, kind, Z_train, Z_test, y_train, A_train, A_test
                )
        except Exception as exc:  # report and go on (fairlearn's AFC, issue 5)
            message = str(exc).splitlines()[0][:60]
            print(f"{label:36s} failed: {type(exc).__name__}: {message}")
            continue
        row = {
            "seconds": seconds,
            "accuracy": float(np.mean(pred == y_test)),
            "auc": roc_auc_score(y_test, scores),
            "dp": demographic_parity_difference(
                y_test, pred, sensitive_features=A_test
            ),
            "eo": equalized_odds_difference(y_test, pred, sensitive_features=A_test),
        }
        results[label] = row
        print(
            f"{label:36s} {row['seconds']:7.1f} {row['accuracy']:6.3f} "
            f"{row['auc']:6.3f} {row['dp']:6.3f} {row['eo']:6.3f}"
        )
    lagrangian = results.get("sklfair lagrangian")
    expgrad = results.get("fairlearn ExpGrad(MLP)")
    plain = results.get("unconstrained TabularNet")
    if lagrangian and expgrad and plain:
        print(
            "target (lagrangian vs ExpGrad(MLP)): accuracy "
            f"{lagrangian['accuracy']:.3f} vs {expgrad['accuracy']:.3f}, "
            f"test DP {lagrangian['dp']:.3f} "
            f"(<= {bound}), time {lagrangian['seconds'] / expgrad['seconds']:.2f}x "
            f"ExpGrad(MLP)'s (<= 0.1), {lagrangian['seconds'] / plain['seconds']:.2f}x"
            " one unconstrained fit (<= 2)"
        )
        met = (
            lagrangian["accuracy"] >= expgrad["accuracy"]
            and lagrangian["dp"] <= bound
            and lagrangian["seconds"] <= 0.1 * expgrad["seconds"]
            and lagrangian["seconds"] <= 2 * plain["seconds"]
        )
        print(f"target met: {met}")
    return results


def time_ratio(name, data, bound, repeats):
    """Fit seconds of the lagrangian against one unconstrained fit, repeated.

    A single fit's wall time moves by about 10% from run to run on a shared
    machine, as much as the margin of the issue's "at most 2x one
    unconstrained fit"; here both are fitted ``repeats`` times, in turns
    (same seed, same data), and the medians are compared.
    """
    X_train, X_test, y_train, y_test = data
    y_train = np.asarray(y_train)
    Z_train, Z_test, A_train, A_test = prepare(X_train, X_test)
    times = {"unconstrained TabularNet": [], "sklfair lagrangian": []}
    for _ in range(repeats):
        for label in times:
            if label == "sklfair lagrangian":
                kind = "sklfair"
                estimator = FairConstrainedClassifier(
                    net(), bound=bound, random_state=0
                )
            else:
                estimator, kind = net(), "plain"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds, _, _ = run(
                    estimator, kind, Z_train, Z_test, y_train, A_train, A_test
                )
            times[label].append(seconds)
    print(f"\n{name}, fit seconds over {repeats} runs in turns (min / median / max)")
    for label, values in times.items():
        low, mid, high = np.percentile(values, [0, 50, 100])
        print(f"  {label:28s} {low:5.2f} / {mid:5.2f} / {high:5.2f}")
    medians = [np.median(v) for v in times.values()]
    ratio = medians[1] / medians[0]
    print(f"  lagrangian / unconstrained, medians: {ratio:.2f}x (<= 2)")
    return ratio


#: Where a constrained fit spends its time beyond the net's own loop. The
#: loss term's call includes its group sums (on a CPU with the numpy
#: surrogate and decisions; elsewhere a device reduce and one host copy) and
#: its linear term (with the surrogate's gradient on a CPU); the line shows
#: the rest of it (the gaps and coefficients on the host), or, with the
#: compiled step, all of it (the one call that adds the term's gradient to
#: the base loss's).
_PARTS = [
    ("batch sums (host surrogate + bincounts)", "term", ("_batch_sums",)),
    ("linear term's value and gradient (host)", "term", ("_host_linear",)),
    (
        "rest of the batch's term (compiled; gaps, slopes; adversary)",
        "term",
        ("__call__", "gradient", "add_gradient"),
    ),
    ("dual step (lagrangian, with the batch's term)", "term", ("_dual_step_on",)),
    ("after step (adversary step)", "term", ("after_step",)),
    ("epoch end (gaps on training rows, best copy)", "term", ("epoch_summary",)),
    ("setup (monitor rows, floors, hold-out)", "term", ("setup",)),
    ("train end (best-epoch restore)", "term", ("on_train_end",)),
    ("claim on all training rows", "estimator", ("_claim",)),
]
# the parts timed inside another (subtracted from it)
_INSIDE = {
    "__call__": ("_batch_sums", "_host_linear", "_dual_step_on"),
    "gradient": ("_batch_sums", "_host_linear", "_dual_step_on"),
    # a term without a compiled step adds its gradient through ``gradient``
    "add_gradient": ("gradient",),
}
_TERMS = {
    "lagrangian": LagrangianTerm,
    "penalty": PenaltyTerm,
    "adversarial": AdversarialTerm,
}


@contextlib.contextmanager
def timed_parts(term_class):
    """Time the parts of :data:`_PARTS` (inclusive seconds, by method name)."""
    clock, patched = {}, []
    for _, who, attrs in _PARTS:
        for attr in attrs:
            _patch(
                term_class if who == "term" else FairConstrainedClassifier,
                attr,
                clock,
                patched,
            )
    try:
        yield clock
    finally:
        for holder, attr, original in patched:
            setattr(holder, attr, original)


def _patch(owner, attr, clock, patched):
    """Wrap ``owner``'s method ``attr`` in a timer adding to ``clock[attr]``."""
    holder = next((c for c in owner.__mro__ if attr in c.__dict__), None)
    if holder is None:  # e.g. the adversary has no gradient by hand
        return
    if any(h is holder and a == attr for h, a, _ in patched):
        return
    original = holder.__dict__[attr]

    def wrapper(*args, _original=original, _attr=attr, **kwargs):
        start = time.perf_counter()
        try:
            return _original(*args, **kwargs)
        finally:
            clock[_attr] = clock.get(_attr, 0.0) + time.perf_counter() - start

    setattr(holder, attr, wrapper)
    patched.append((holder, attr, original))


def speed(name, data, bound, methods, repeats):
    """Fit seconds of each method against the unconstrained net (medians of
    ``repeats`` fits taken in turns), and where the extra time goes.

    The constrained fits run with the term's methods wrapped in timers (a
    microsecond per call, counted in their time); each part's line is its
    median over the fits. "rest" is the extra time no listed part accounts
    for: the backward pass through the term's graph, the loop's own work
    for it, and the meta-estimator's checks outside the loop.
    """
    X_train, X_test, y_train, _ = data
    y_train = np.asarray(y_train)
    Z_train, Z_test, A_train, A_test = prepare(X_train, X_test)

    def fit(method):
        if method is None:
            estimator, kind = net(), "plain"
        else:
            estimator = FairConstrainedClassifier(
                net(), bound=bound, method=method, random_state=0
            )
            kind = "sklfair"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seconds, _, _ = run(
                estimator, kind, Z_train, Z_test, y_train, A_train, A_test
            )
        return seconds

    TabularNetClassifier(max_epochs=1).fit(Z_train[:512], y_train[:512])
    # the first constrained fit of a process loads the compiled batch step
    # (numba's cache); it is timed apart and left out of the medians
    start = time.perf_counter()
    FairConstrainedClassifier(net(max_epochs=1), bound=bound, random_state=0).fit(
        Z_train[:512], y_train[:512], sensitive_features=A_train[:512]
    )
    first = time.perf_counter() - start
    compiled = binary_kind([DemographicParity()], 2) is not None
    times = {None: [], **{m: [] for m in methods}}
    clocks = {m: [] for m in methods}
    for _ in range(repeats):
        times[None].append(fit(None))
        for method in methods:
            with timed_parts(_TERMS[method]) as clock:
                times[method].append(fit(method))
            clocks[method].append(clock)
    plain = float(np.median(times[None]))
    n_batches = EPOCHS * -(-len(y_train) // net().batch_size)
    print(
        f"\n{name}: constrained / unconstrained fit, medians of {repeats} fits "
        f"in turns (unconstrained: {plain:.2f} s, {n_batches} batches)"
    )
    print(
        f"  compiled batch step (numba): {'yes' if compiled else 'no'}; first "
        f"constrained fit of the process (1 epoch, 512 rows): {first:.2f} s"
    )
    ratios = {}
    for method in methods:
        median = float(np.median(times[method]))
        ratios[method] = median / plain
        print(
            f"  ratio {name} {method:11s} {ratios[method]:5.2f}x (<= 1.5), "
            f"{median:.2f} s"
        )
    for method in methods:
        extra = float(np.median(times[method])) - plain
        print(
            f"  {method}: {extra:+.2f} s over the unconstrained fit "
            f"({1e3 * extra / n_batches:.2f} ms per batch), medians:"
        )
        listed = 0.0
        for label, _, attrs in _PARTS:
            values = []
            for clock in clocks[method]:
                value = 0.0
                for attr in attrs:
                    if attr in clock:
                        value += clock[attr]
                        value -= sum(clock.get(a, 0.0) for a in _INSIDE.get(attr, ()))
                values.append(value)
            value = float(np.median(values))
            listed += value
            print(f"    {label:48s} {value:6.2f} s")
        rest = extra - listed
        print(
            f"    {'rest (backward through the term, loop, checks)':48s} {rest:6.2f} s"
        )
    return ratios


def seed_study(name, data, bound, seeds):
    """The issue's target over several seeds: one test split, ``seeds`` fits each.

    A single fit's test accuracy and DP move by about 0.003 and 0.006 from
    seed to seed on Adult (about 0.002 and 0.004 on Taiwan credit), as large as
    the differences the target asks about, so the target is judged on the
    means (and the worst DP). The test split stays the same. The lagrangian
    without its margin (``confidence=0.5``, aimed at the bound like
    ExpGrad) is fitted too, with the number of seeds on which each of the two
    ends above the bound on the test split.
    """
    X_train, X_test, y_train, y_test = data
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    Z_train, Z_test, A_train, A_test = prepare(X_train, X_test)
    moment = fairlearn_moment(DemographicParity(bound=bound), y_train, A_train)
    rows = {
        "unconstrained TabularNet": [],
        "sklfair lagrangian": [],
        "sklfair lagrangian (no margin)": [],
        "ExpGrad(MLP)": [],
    }
    print(f"\n{name}, seeds 0-{seeds - 1} (net, MLP and split of the margin's rows)")
    print(f"{'seed':>4s} {'method':30s} {'fit s':>7s} {'acc':>6s} {'DP':>6s}")
    for seed in range(seeds):
        contenders = [
            ("unconstrained TabularNet", net(random_state=seed), "plain"),
            (
                "sklfair lagrangian",
                FairConstrainedClassifier(
                    net(random_state=seed), bound=bound, random_state=seed
                ),
                "sklfair",
            ),
            (
                "sklfair lagrangian (no margin)",
                FairConstrainedClassifier(
                    net(random_state=seed),
                    bound=bound,
                    random_state=seed,
                    confidence=0.5,
                ),
                "sklfair",
            ),
            (
                "ExpGrad(MLP)",
                ExponentiatedGradient(
                    MLPClassifier(
                        hidden_layer_sizes=(64, 64), max_iter=EPOCHS, random_state=seed
                    ),
                    constraints=moment,
                    max_iter=10,
                ),
                "fairlearn",
            ),
        ]
        for label, estimator, kind in contenders:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds, pred, _ = run(
                    estimator, kind, Z_train, Z_test, y_train, A_train, A_test
                )
            acc = float(np.mean(pred == y_test))
            dp = demographic_parity_difference(y_test, pred, sensitive_features=A_test)
            rows[label].append((seconds, acc, dp))
            print(f"{seed:>4d} {label:30s} {seconds:7.1f} {acc:6.3f} {dp:6.3f}")
    means = {k: np.mean(v, axis=0) for k, v in rows.items()}
    worst_dp = max(dp for _, _, dp in rows["sklfair lagrangian"])
    lag, eg, plain = (
        means["sklfair lagrangian"],
        means["ExpGrad(MLP)"],
        means["unconstrained TabularNet"],
    )
    print(
        f"means: lagrangian acc {lag[1]:.4f} vs ExpGrad(MLP) {eg[1]:.4f}; "
        f"lagrangian test DP mean {lag[2]:.4f}, worst {worst_dp:.4f} (ExpGrad(MLP) "
        f"mean {eg[2]:.4f}); time {lag[0] / eg[0]:.2f}x ExpGrad(MLP)'s, "
        f"{lag[0] / plain[0]:.2f}x one unconstrained fit"
    )
    met = (
        lag[1] >= eg[1]
        and worst_dp <= bound
        and lag[0] <= 0.1 * eg[0]
        and lag[0] <= 2 * plain[0]
    )
    print(f"target met over {seeds} seeds: {met}")
    # aimed at the bound itself, as ExpGrad is: how often the test gap exceeds it
    for label in ("sklfair lagrangian (no margin)", "ExpGrad(MLP)"):
        _, acc, dp = means[label]
        over = sum(d > bound for _, _, d in rows[label])
        print(
            f"{label}: acc {acc:.4f}, test DP mean {dp:.4f}, above {bound} on "
            f"{over} of {seeds} seeds"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bound", type=float, default=0.02)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and BLAS threads for every method (default 1: the CPU is shared)",
    )
    parser.add_argument("--data", choices=["adult", "taiwan", "both"], default="both")
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="time the lagrangian and one unconstrained fit this many times in "
        "turns on each data set and compare the medians (0: skip)",
    )
    parser.add_argument(
        "--speed",
        type=int,
        default=3,
        help="time lagrangian, penalty and adversarial against the unconstrained "
        "net this many times in turns on each data set, with the breakdown of "
        "the extra time (0: skip)",
    )
    parser.add_argument(
        "--speed-only",
        action="store_true",
        help="run only the speed lines (no comparison table, no repeats)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=0,
        help="also judge the target over this many seeds on each data set (about "
        "a minute per seed on Adult, half a minute on Taiwan credit)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s) for torch and BLAS, "
        "CPU; times are wall-clock seconds of fit"
    )
    methods = ["lagrangian", "penalty", "adversarial"]
    with threadpool_limits(limits=args.threads):
        for key, label, load in (
            ("adult", "Adult", adult),
            ("taiwan", "Taiwan", taiwan),
        ):
            if args.data not in (key, "both"):
                continue
            if not args.speed_only:
                bench(label, load(), args.bound)
                if args.repeats:
                    time_ratio(label, load(), args.bound, args.repeats)
            if args.speed:
                speed(label, load(), args.bound, methods, args.speed)
        if args.seeds and args.data in ("adult", "both"):
            seed_study("Adult", adult(), args.bound, args.seeds)
        if args.seeds and args.data in ("taiwan", "both"):
            seed_study("Taiwan credit", taiwan(), args.bound, args.seeds)


if __name__ == "__main__":
    main()
