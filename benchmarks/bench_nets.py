"""Training throughput of TabularNetClassifier against skorch and sklearn (issue 2).

Adult (bundled, train split: 32,561 rows) one-hot encoded and standardised
(about 107 columns), an MLP 64-64 with Adam, the same epochs and batch size for
every contender, in one run. Prints samples/s and the ratios against
skorch's ``NeuralNetClassifier`` (same module) and sklearn's ``MLPClassifier``.
On a machine with CUDA it also times batch 256 and 4096 on the GPU.

Run: ``python benchmarks/bench_nets.py [--epochs 5] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch import NeuralNetClassifier

from sklfair.datasets import load_adult
from sklfair.nets import TabularNetClassifier
from sklfair.nets._modules import MLP


def adult_matrix():
    X, y = load_adult(return_X_y=True)
    pre = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        remainder=StandardScaler(),
    )
    return pre.fit_transform(X).astype(np.float32), y.to_numpy()


def best_rate(fit, n_rows, epochs, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return n_rows * epochs / min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    X, y = adult_matrix()
    n, d = X.shape
    print(f"Adult: {n} rows x {d} columns, MLP 64-64, Adam, epochs={args.epochs}")
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}")

    def sklfair_fit(batch, device="cpu"):
        TabularNetClassifier(
            batch_size=batch, max_epochs=args.epochs, device=device, random_state=0
        ).fit(X, y)

    def skorch_fit(batch, device="cpu"):
        NeuralNetClassifier(
            MLP,
            module__n_features=d,
            module__n_outputs=2,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=1e-3,
            batch_size=batch,
            max_epochs=args.epochs,
            train_split=None,
            verbose=0,
            device=device,
        ).fit(X, y.astype(np.int64))

    def sklearn_fit(batch):
        MLPClassifier(
            hidden_layer_sizes=(64, 64),
            batch_size=batch,
            max_iter=args.epochs,
            tol=0.0,
            n_iter_no_change=10**9,
            random_state=0,
        ).fit(X, y)

    rows = []
    batch = 256
    rates = {
        "skorch NeuralNetClassifier": best_rate(
            lambda: skorch_fit(batch), n, args.epochs, args.repeat
        ),
        "sklearn MLPClassifier": best_rate(
            lambda: sklearn_fit(batch), n, args.epochs, args.repeat
        ),
        "sklfair TabularNetClassifier": best_rate(
            lambda: sklfair_fit(batch), n, args.epochs, args.repeat
        ),
    }
    ours = rates["sklfair TabularNetClassifier"]
    print(f"\nCPU, batch {batch}")
    for name, rate in rates.items():
        rows.append((name, rate))
        print(f"  {name:<30s} {rate:>12,.0f} samples/s")
    print(
        f"  ratio sklfair / skorch  = {ours / rates['skorch NeuralNetClassifier']:.2f}x"
        "  (target >= 2.5x)"
    )
    print(
        f"  ratio sklfair / sklearn = {ours / rates['sklearn MLPClassifier']:.2f}x"
        "  (target >= 1.0x)"
    )

    if torch.cuda.is_available():
        print(f"\nCUDA ({torch.cuda.get_device_name()})")
        for batch in (256, 4096):
            theirs = best_rate(
                lambda b=batch: skorch_fit(b, "cuda"), n, args.epochs, args.repeat
            )
            ours = best_rate(
                lambda b=batch: sklfair_fit(b, "cuda"), n, args.epochs, args.repeat
            )
            print(
                f"  batch {batch:>5d}: skorch {theirs:>12,.0f}  sklfair {ours:>12,.0f}"
                f" samples/s  ratio {ours / theirs:.1f}x"
            )
    else:
        print("\nCUDA: not available on this machine (GPU rows skipped).")


if __name__ == "__main__":
    main()
