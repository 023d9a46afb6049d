"""Training throughput of TabularNetClassifier against skorch and sklearn (issue 2).

Adult (bundled, train split: 32,561 rows) one-hot encoded and standardised
(about 107 columns), an MLP 64-64 with Adam, the same epochs and batch size for
every contender, in one run. Prints samples/s and the ratios against
skorch's ``NeuralNetClassifier`` (same module) and sklearn's ``MLPClassifier``
(best of ``--repeat`` fits per run, the contenders taking turns; the ratios
of ``--runs`` runs, and their median), in wall-clock time and in CPU time of
the process (with one thread, the CPU time is the work done, whatever the
other processes on the machine; with more it adds the threads up). Then where
the CPU time of one sklfair batch goes (a replica of the training loop's
steps, timed one by one on the fitted net, in the thread's CPU time).

Every contender runs under the same thread limit (``--threads``: torch's
intra-op threads and the BLAS/OpenMP pools, through threadpoolctl). sklfair
itself trains networks this small on one thread whatever the limit.
On a machine with CUDA it also times batch 256 and 4096 on the GPU.

Run: ``python benchmarks/bench_nets.py [--epochs 5] [--repeat 3] [--runs 3]
[--threads 2]``.
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
from threadpoolctl import threadpool_limits

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


PEERS = {"skorch": "skorch NeuralNetClassifier", "sklearn": "sklearn MLPClassifier"}


def best_rate(fit, n_rows, epochs, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return n_rows * epochs / min(times)


def batch_breakdown(X, y, batch_size, epochs):
    """Microseconds per batch of each step of the training loop.

    Fits a net for one epoch, then runs ``epochs`` epochs of a replica of
    :meth:`TrainingNet._run_train_epoch` on its module, optimizer and
    training tensors, with a clock around each step (on a CPU every step is
    synchronous, so the clock measures it).
    """
    from sklfair.nets._compact import compact_rows
    from sklfair.nets._data import TensorData
    from sklfair.nets._modules import training_forward
    from sklfair.nets._training import _FusedAdamStep

    clf = TabularNetClassifier(
        batch_size=batch_size, max_epochs=1, device="cpu", random_state=0
    ).fit(X, y)
    net = clf.net_
    y_enc = np.searchsorted(clf.classes_, y)
    rows, _ = compact_rows(X, [y_enc], None)
    tensors = {
        "y": torch.as_tensor(y_enc[rows]),
        "sample_weight": torch.ones(len(rows)),
    }
    data = TensorData(X, tensors, "cpu", rows=rows)
    optimizer = net.optimizer_
    step = _FusedAdamStep.for_optimizer(optimizer) or optimizer.step
    params = [p for group in optimizer.param_groups for p in group["params"]]
    forward = training_forward(net.module_)
    net._unit_weights = True
    clock = dict.fromkeys(
        ("gather", "forward", "loss", "backward", "optimizer step", "bookkeeping"),
        0.0,
    )
    n_batches = 0
    tick = time.thread_time
    total = tick()
    with torch.random.fork_rng():
        torch.set_num_threads(1)  # what the fit does for a net this small
        for _ in range(epochs):
            loss_sum = torch.zeros((), dtype=torch.float64)
            perm = torch.randperm(data.n_samples)
            batches = data.batches(perm, batch_size)
            while True:
                t0 = tick()
                batch = next(batches, None)
                t1 = tick()
                clock["gather"] += t1 - t0
                if batch is None:
                    break
                outputs = forward(batch["X"])
                t2 = tick()
                loss = net.get_batch_loss(outputs, batch)
                t3 = tick()
                for p in params:
                    p.grad = None
                loss.backward()
                t4 = tick()
                step()
                t5 = tick()
                loss_sum.add_(loss.detach(), alpha=batch["index"].shape[0])
                t6 = tick()
                clock["forward"] += t2 - t1
                clock["loss"] += t3 - t2
                clock["backward"] += t4 - t3
                clock["optimizer step"] += t5 - t4
                clock["bookkeeping"] += t6 - t5
                n_batches += 1
            loss_sum.item()
    total = tick() - total
    return {k: 1e6 * v / n_batches for k, v in clock.items()}, 1e6 * total / n_batches


def one_run(X, y, args, batch):
    """Samples/s of every contender, measured in one run."""
    n, d = X.shape

    def sklfair_fit():
        TabularNetClassifier(
            batch_size=batch, max_epochs=args.epochs, device="cpu", random_state=0
        ).fit(X, y)

    def skorch_fit():
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
            device="cpu",
        ).fit(X, y.astype(np.int64))

    def sklearn_fit():
        MLPClassifier(
            hidden_layer_sizes=(64, 64),
            batch_size=batch,
            max_iter=args.epochs,
            tol=0.0,
            n_iter_no_change=10**9,
            random_state=0,
        ).fit(X, y)

    fits = {
        "skorch NeuralNetClassifier": skorch_fit,
        "sklearn MLPClassifier": sklearn_fit,
        "sklfair TabularNetClassifier": sklfair_fit,
    }
    # the contenders take turns, so that a change of the machine's load
    # during the run weighs on all of them alike
    wall = {name: [] for name in fits}
    cpu = {name: [] for name in fits}
    for _ in range(args.repeat):
        for name, fit in fits.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fit()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return (
        {name: n * args.epochs / min(t) for name, t in wall.items()},
        {name: n * args.epochs / min(t) for name, t in cpu.items()},
    )


def gpu_rows(X, y, args):
    n, d = X.shape
    print(f"\nCUDA ({torch.cuda.get_device_name()})")
    for batch in (256, 4096):
        theirs = best_rate(
            lambda b=batch: NeuralNetClassifier(
                MLP,
                module__n_features=d,
                module__n_outputs=2,
                criterion=torch.nn.CrossEntropyLoss,
                optimizer=torch.optim.Adam,
                lr=1e-3,
                batch_size=b,
                max_epochs=args.epochs,
                train_split=None,
                verbose=0,
                device="cuda",
            ).fit(X, y.astype(np.int64)),
            n,
            args.epochs,
            args.repeat,
        )
        ours = best_rate(
            lambda b=batch: TabularNetClassifier(
                batch_size=b, max_epochs=args.epochs, device="cuda", random_state=0
            ).fit(X, y),
            n,
            args.epochs,
            args.repeat,
        )
        print(
            f"  batch {batch:>5d}: skorch {theirs:>12,.0f}  sklfair {ours:>12,.0f}"
            f" samples/s  ratio {ours / theirs:.1f}x"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)

    X, y = adult_matrix()
    n, d = X.shape
    print(f"Adult: {n} rows x {d} columns, MLP 64-64, Adam, epochs={args.epochs}")
    print(f"torch {torch.__version__}, thread limit {args.threads} for everyone")

    batch = 256
    print(f"\nCPU, batch {batch}, samples/s (best of {args.repeat} fits)")
    ratios = {(clock, peer): [] for clock in ("wall", "cpu") for peer in PEERS}
    for run in range(args.runs):
        for clock, rates in zip(("wall", "cpu"), one_run(X, y, args, batch)):
            ours = rates["sklfair TabularNetClassifier"]
            for peer, name in PEERS.items():
                ratios[clock, peer].append(ours / rates[name])
            print(
                f"  run {run + 1} ({clock}): "
                + ", ".join(f"{name} {rate:,.0f}" for name, rate in rates.items())
            )
    for clock in ("wall", "cpu"):
        for peer, target in (("skorch", 5.0), ("sklearn", 1.5)):
            values = ratios[clock, peer]
            print(
                f"  ratio sklfair / {peer:<7s} ({clock:4s}) median "
                f"{np.median(values):.2f}x (runs: "
                + ", ".join(f"{r:.2f}" for r in values)
                + f"; target >= {target}x)"
            )

    parts, whole = batch_breakdown(X, y, batch, args.epochs)
    print(f"\nWhere one sklfair batch's CPU time goes (batch {batch}, microseconds)")
    for name, micros in parts.items():
        print(f"  {name:<16s} {micros:7.1f}  ({micros / whole:5.1%})")
    print(f"  {'loop total':<16s} {whole:7.1f}")

    if torch.cuda.is_available():
        gpu_rows(X, y, args)
    else:
        print("\nCUDA: not available on this machine (GPU rows skipped).")


if __name__ == "__main__":
    main()
