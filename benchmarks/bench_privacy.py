"""Private training: the leak, the accuracy and the group gaps (issue 20).

Setting (Adult, sex not an input): ``--n-train`` rows drawn from Adult's
training file are the protected training set (members); as many other rows
of that file are the non-members of the membership attack; a third, disjoint
slice of the file (``--n-public`` rows) is treated as public data: the
one-hot/standardising preprocessor and the post-processing thresholds are
fitted on it, so nothing but the nets reads the protected rows. Accuracy,
ROC AUC and group gaps (by sex) are measured on Adult's test file.

Rows of the table:

- ``plain 256x256, overfit``: a wide non-private net trained long enough to
  memorise (the setting where the attack works: the issue's baseline);
- ``plain 256x256``: the same net trained for ``--epochs`` (how much of the
  leak a model trained for a sensible time keeps);
- ``plain``: the network the private rows use (``--hidden``, ``--epochs``)
  without privacy: the comparison that isolates what privacy costs;
- ``plain + reweighing``: it, with exact Kamiran-Calders weights;
- ``dp eps=8/3/1``: DP-SGD nets (delta = 1/n by default) at each epsilon;
- ``dp eps=3 + noisy reweighing``: epsilon 0.5 spent on Laplace-noised
  group x label counts (:func:`sklfair.privacy.noisy_fair_sample_weight`),
  2.5 on DP-SGD with those weights as sampling rates: 3 in all;
- ``dp eps=3 + thresholds``: the eps=3 net's scores post-processed by
  fairlearn's ThresholdOptimizer (demographic parity) fitted on the public
  slice (it reads no protected row, so the guarantee is untouched).

Attack: :func:`sklfair.privacy.membership_inference` with two reference
models; the advantage shown is the larger of the loss and calibrated
attacks' (the leak a defender must assume). With ``--seeds`` the whole table
is repeated (different samples of the rows and seeds of the nets) and
averaged. Then the training speed of the private net against the plain one
(same network, same rows, same batch size), timed in alternation.

Run: ``python benchmarks/bench_privacy.py [--seeds 0 1 2] [--n-train 3000]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_adult
from sklfair.exceptions import SklfairWarning
from sklfair.metrics import demographic_parity_difference, equalized_odds_difference
from sklfair.nets import TabularNetClassifier
from sklfair.privacy import DPSGD, membership_inference, noisy_fair_sample_weight
from sklfair.reweighting import fair_sample_weight

SENSITIVE = "sex"


def split(seed, n_train, n_public):
    """Members, non-members and public rows from Adult's training file."""
    X, y = load_adult(subset="train", return_X_y=True)
    X_test, y_test = load_adult(subset="test", return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(X))
    parts = np.split(order[: 2 * n_train + n_public], [n_train, 2 * n_train])
    rows = [(X.iloc[p], y.iloc[p].to_numpy()) for p in parts]
    return rows + [(X_test, y_test.to_numpy())]


def encoder():
    return make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (StandardScaler(), make_column_selector(dtype_include="number")),
    )


def net(args, seed, **params):
    defaults = dict(
        hidden_units=tuple(args.hidden),
        batch_size=args.batch_size,
        lr=args.lr,
        max_epochs=args.epochs,
        random_state=seed,
    )
    return TabularNetClassifier(**{**defaults, **params})


def models(args, seed):
    """(name, estimator, fit kwargs builder, post-process?) per table row."""
    wide = (256, 256)
    spec = DPSGD(3.0 - args.count_epsilon, max_grad_norm=args.clip, accept_weights=True)

    def exact_weights(y, groups):
        return {"sample_weight": fair_sample_weight(y, groups)}

    def noisy_weights(y, groups):
        weights = noisy_fair_sample_weight(
            y, groups, epsilon=args.count_epsilon, random_state=seed
        )
        return {"sample_weight": weights}

    rows = [
        (
            "plain 256x256, overfit",
            net(args, seed, hidden_units=wide, max_epochs=args.overfit_epochs),
            None,
            False,
        ),
        ("plain 256x256", net(args, seed, hidden_units=wide), None, False),
        ("plain", net(args, seed), None, False),
        ("plain + reweighing", net(args, seed), exact_weights, False),
    ]
    for epsilon in (8.0, 3.0, 1.0):
        privacy = DPSGD(epsilon, max_grad_norm=args.clip)
        rows.append(
            (f"dp eps={epsilon:g}", net(args, seed, privacy=privacy), None, True)
        )
    rows.append(
        (
            "dp eps=3 + noisy reweighing",
            net(args, seed, privacy=spec),
            noisy_weights,
            False,
        )
    )
    return rows


def gaps(y, pred, groups):
    accuracy = pd.Series(pred == y).groupby(np.asarray(groups)).mean()
    return {
        "dp_gap": demographic_parity_difference(y, pred, sensitive_features=groups),
        "eo_gap": equalized_odds_difference(y, pred, sensitive_features=groups),
        "acc_gap": float(accuracy.max() - accuracy.min()),
    }


def evaluate(name, model, X_test, y_test, A_test, attack, extra=None):
    proba = model.predict_proba(X_test)[:, 1]
    pred = model.predict(X_test) if extra is None else extra
    row = {
        "model": name,
        "accuracy": float(np.mean(pred == y_test)),
        "auc": float(roc_auc_score(y_test, proba)),
        **gaps(y_test, pred, A_test),
        "attack_auc": attack.auc,
        "advantage": attack.advantage,
        "epsilon": getattr(model, "epsilon_", np.inf),
    }
    return row


def run_seed(args, seed):
    torch.manual_seed(seed)
    (X_in, y_in), (X_out, y_out), (X_pub, y_pub), (X_test, y_test) = split(
        seed, args.n_train, args.n_public
    )
    A_in, A_out, A_pub, A_test = (
        part[SENSITIVE].to_numpy() for part in (X_in, X_out, X_pub, X_test)
    )
    enc = encoder().fit(X_pub.drop(columns=SENSITIVE))
    E_in, E_out, E_pub, E_test = (
        enc.transform(part.drop(columns=SENSITIVE))
        for part in (X_in, X_out, X_pub, X_test)
    )
    table = []
    for name, model, fit_kwargs, post in models(args, seed):
        kwargs = fit_kwargs(y_in, A_in) if fit_kwargs else {}
        start = time.perf_counter()
        model.fit(E_in, y_in, **kwargs)
        fit_time = time.perf_counter() - start
        attack = membership_inference(
            model, E_in, y_in, E_out, y_out, n_references=2, random_state=seed
        )
        row = evaluate(name, model, E_test, y_test, A_test, attack)
        row["fit_s"] = fit_time
        table.append(row)
        if post and name == "dp eps=3" or (post and args.all_thresholds):
            thresholds = ThresholdOptimizer(
                estimator=model,
                constraints="demographic_parity",
                predict_method="predict_proba",
                prefit=True,
            ).fit(E_pub, y_pub, sensitive_features=A_pub)
            pred = thresholds.predict(
                E_test, sensitive_features=A_test, random_state=seed
            )
            row = evaluate(
                f"{name} + thresholds", model, E_test, y_test, A_test, attack, pred
            )
            row["fit_s"] = fit_time
            table.append(row)
    return pd.DataFrame(table).set_index("model")


def speed(args, repeats=3):
    """Fit time of the plain and the private net, same rows and batches."""
    (X_in, y_in), _, (X_pub, _), _ = split(0, args.n_train, args.n_public)
    E_in = (
        encoder()
        .fit(X_pub.drop(columns=SENSITIVE))
        .transform(X_in.drop(columns=SENSITIVE))
    )
    spec = DPSGD(3.0, max_grad_norm=args.clip)
    # warm the calibration cache and opacus's import: timed fits only train
    net(args, 0, privacy=spec).fit(E_in, y_in)
    times = {"plain": [], "dp": []}
    for _ in range(repeats):
        for key, privacy in (("plain", None), ("dp", spec)):
            model = net(args, 0, privacy=privacy)
            start = time.perf_counter()
            model.fit(E_in, y_in)
            times[key].append(time.perf_counter() - start)
    plain, dp = (np.median(times[k]) for k in ("plain", "dp"))
    rows = args.n_train * args.epochs
    print(
        f"\ntraining speed, {args.n_train} rows x {args.epochs} epochs, batch "
        f"{args.batch_size}, MLP {tuple(args.hidden)} (median of {repeats}):\n"
        f"  plain  {plain:.2f} s  ({rows / plain:,.0f} rows/s)\n"
        f"  dp     {dp:.2f} s  ({rows / dp:,.0f} rows/s)\n"
        f"  dp / plain time: {dp / plain:.2f}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n-train", type=int, default=3000)
    parser.add_argument("--n-public", type=int, default=5000)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--overfit-epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--count-epsilon", type=float, default=0.5)
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument(
        "--all-thresholds",
        action="store_true",
        help="post-process every private net, not only eps=3",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", SklfairWarning)

    tables = [run_seed(args, seed) for seed in args.seeds]
    mean = pd.concat(tables).groupby(level=0, sort=False).mean()
    pd.set_option("display.width", 160)
    print(
        f"Adult, {args.n_train} training rows, {len(args.seeds)} seed(s); "
        "gaps by sex on the test file; advantage: the stronger attack"
    )
    print(mean.round(3).to_string())
    if len(tables) > 1:
        sd = pd.concat(tables).groupby(level=0, sort=False).std()
        print("\nstandard deviation over seeds")
        print(sd[["accuracy", "dp_gap", "acc_gap", "advantage"]].round(3).to_string())

    base = mean.loc["plain 256x256, overfit"]
    dp3 = mean.loc["dp eps=3"]
    print(
        f"\nplain (overfit) advantage {base['advantage']:.3f} (target >= 0.10); "
        f"dp eps=3 advantage {dp3['advantage']:.3f} "
        f"({base['advantage'] / max(dp3['advantage'], 1e-9):.1f}x lower, "
        "target >= 2x); "
        f"accuracy {dp3['accuracy']:.3f} vs {base['accuracy']:.3f} "
        f"({100 * (base['accuracy'] - dp3['accuracy']):+.1f} points, target <= 3)"
    )
    if not args.no_speed:
        speed(args)


if __name__ == "__main__":
    main()
