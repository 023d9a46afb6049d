"""Fit time and peak memory of TabularNetClassifier against rows (issue 8).

Synthetic binary data, 50 float32 columns, labels from a noisy linear logit;
an MLP 64-64 with Adam, batch 4096, ``--epochs`` passes. Every measurement runs
in a fresh subprocess so that its peak resident memory (``ru_maxrss``) is its
own; the baseline is the resident memory after the imports, before the data
exist. Rows: 10k, 100k, 1M, 10M (``--rows`` to change) on the CPU, and on the
GPU when CUDA is present.

Columns: fit seconds; microseconds per row and epoch, overall and *marginal*
(the cost of the rows added since the previous size, in which the fixed
start-up cost cancels: flat when the time grows linearly); peak RSS, peak
minus the baseline, the size of X itself and their ratio. The last line of
each device compares the marginal cost of the last step with the first.

``--memory`` measures instead the peak memory of one epoch on 1M x 20
float64 rows (the issue 22 case) for the plain net and for
``FairConstrainedClassifier(method="lagrangian")`` around it, each in its own
subprocess, and prints ``(peak RSS - baseline) / size of X`` (X itself
included: 1.00 means the fit added nothing; the target is below 1.5). The
baseline is taken after the imports and a warm-up fit on 100 rows: building
torch's first optimizer imports ``torch._dynamo`` (about 70 MB of Python
modules, whatever the data); the ratio over the bare import baseline is
printed too, with the share of ``torch._dynamo``'s import in it, and the
marginal cost: the growth of the peak from 1M to 2M rows per MB of X
added, in which every one-time cost cancels (the copies the fit makes of
each row: 1.00 means none beyond X).

``--parquet`` adds the larger-than-memory case: 20 million rows x 50 columns
(4 GB as float32) are written to parquet in 1M-row files (row groups of 256k
rows, written piece by piece), then ``fit_chunks(ParquetChunks(...))`` makes
one pass; its peak RSS is printed next to the size of the data.

Run: ``python benchmarks/bench_scale.py [--epochs 2] [--parquet] [--threads 2]``
or ``python benchmarks/bench_scale.py --memory``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

N_FEATURES = 50
SEED = 0


def synthetic(n_rows, seed, n_features=N_FEATURES, dtype=np.float32):
    """X (n, n_features) of ``dtype`` and 0/1 labels of a noisy linear logit."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_features), dtype=dtype)
    coef = np.linspace(-1, 1, n_features, dtype=dtype)
    logit = X @ coef + rng.standard_normal(n_rows, dtype=dtype)
    return X, (logit > 0).astype(np.int64)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


MEMORY_ROWS, MEMORY_FEATURES = 1_000_000, 20


def memory_worker(args):
    """Peak memory of one epoch on float64 rows, in its own process."""
    import torch

    from sklfair.constrained import FairConstrainedClassifier
    from sklfair.nets import TabularNetClassifier

    torch.set_num_threads(args.threads)
    imported = current_rss_mb()
    # torch's one-time costs, independent of the data: building the first
    # optimizer imports torch._dynamo (torch.optim.Optimizer.add_param_group
    # is wrapped by torch._disable_dynamo, which imports it on first call)
    import torch._dynamo  # noqa: F401

    dynamo = current_rss_mb() - imported
    X, y = synthetic(100, SEED, MEMORY_FEATURES, dtype=np.float64)
    TabularNetClassifier(max_epochs=1, device="cpu").fit(X, y)
    del X, y
    baseline = current_rss_mb()
    X, y = synthetic(args.rows or MEMORY_ROWS, SEED, MEMORY_FEATURES, np.float64)
    groups = (X[:, 0] > 0.5).astype(np.int64)
    net = TabularNetClassifier(max_epochs=1, device="cpu", random_state=0)
    start = time.perf_counter()
    if args.case == "net":
        net.fit(X, y)
    else:
        FairConstrainedClassifier(net, method="lagrangian", random_state=0).fit(
            X, y, sensitive_features=groups
        )
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            dict(
                seconds=seconds,
                peak_mb=peak_rss_mb(),
                baseline_mb=baseline,
                imported_mb=imported,
                dynamo_mb=dynamo,
                x_mb=X.nbytes / 2**20,
            )
        )
    )


def memory(args):
    print(
        f"peak memory of one epoch, {MEMORY_ROWS:,} x {MEMORY_FEATURES} float64 "
        f"rows, batch 256, {args.threads} CPU threads"
    )
    for case, name in (
        ("net", "TabularNetClassifier"),
        ("lagrangian", 'FairConstrainedClassifier(method="lagrangian")'),
    ):
        r = measure(args, case=case, rows=MEMORY_ROWS)
        extra = r["peak_mb"] - r["baseline_mb"]
        after_import = r["peak_mb"] - r["imported_mb"]
        print(
            f"  {name:<48s} peak-base {extra:5,.0f} MB, X {r['x_mb']:3,.0f} MB: "
            f"ratio {extra / r['x_mb']:.2f}x (target < 1.5x); over the import "
            f"baseline {after_import / r['x_mb']:.2f}x; fit {r['seconds']:.1f} s"
        )
        print(
            f"  {'':<48s} of which torch._dynamo's import {r['dynamo_mb']:.0f} MB "
            f"= {r['dynamo_mb'] / r['x_mb']:.2f}x (torch.optim imports it at the "
            "first optimizer of a process); the import baseline without it: "
            f"{(after_import - r['dynamo_mb']) / r['x_mb']:.2f}x"
        )
        # the memory each added row costs, whatever is paid once (torch's
        # first optimizer imports torch._dynamo; the allocator's arenas)
        r2 = measure(args, case=case, rows=2 * MEMORY_ROWS)
        marginal = (r2["peak_mb"] - r["peak_mb"]) / (r2["x_mb"] - r["x_mb"])
        print(
            f"  {'':<48s} marginal: {2 * MEMORY_ROWS:,} rows peak "
            f"{r2['peak_mb']:,.0f} MB against {r['peak_mb']:,.0f} MB: "
            f"{marginal:.2f} MB per MB of X added (target < 1.5)"
        )


def worker(args):
    """One measurement, in its own process; prints one JSON line."""
    import torch

    from sklfair.nets import ParquetChunks, TabularNetClassifier

    torch.set_num_threads(args.threads)
    baseline = current_rss_mb()
    clf = TabularNetClassifier(
        max_epochs=args.epochs, batch_size=4096, device=args.device, random_state=0
    )
    if args.parquet_dir:
        chunks = ParquetChunks(args.parquet_dir, "y", random_state=0)
        n_rows = chunks.n_rows
        start = time.perf_counter()
        clf.fit_chunks(chunks, classes=[0, 1])
        seconds = time.perf_counter() - start
        X_test, y_test = synthetic(100_000, SEED + 1)
    else:
        n_rows = args.rows
        X, y = synthetic(n_rows, SEED)
        start = time.perf_counter()
        clf.fit(X, y)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        del X, y
        X_test, y_test = synthetic(100_000, SEED + 1)
    print(
        json.dumps(
            dict(
                rows=n_rows,
                seconds=seconds,
                peak_mb=peak_rss_mb(),
                baseline_mb=baseline,
                accuracy=clf.score(X_test, y_test),
            )
        )
    )


def measure(args, **extra):
    cmd = [sys.executable, __file__, "--worker", "--epochs", str(args.epochs)]
    cmd += ["--threads", str(args.threads)]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def write_parquet(directory, n_rows, rows_per_file=1_000_000):
    """Write the synthetic rows file by file: never all in memory."""
    import pandas as pd

    columns = [f"x{i}" for i in range(N_FEATURES)]
    for k, start in enumerate(range(0, n_rows, rows_per_file)):
        n = min(rows_per_file, n_rows - start)
        X, y = synthetic(n, SEED + 100 + k)
        frame = pd.DataFrame(X, columns=columns).assign(y=y)
        frame.to_parquet(
            os.path.join(directory, f"part-{k:04d}.parquet"), row_group_size=262_144
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--parquet", action="store_true")
    parser.add_argument("--parquet-rows", type=int, default=20_000_000)
    parser.add_argument("--memory", action="store_true")
    # internal: one measurement
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--parquet-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker and args.case:
        args.rows = args.rows[0] if args.rows else 0
        return memory_worker(args)
    if args.memory:
        return memory(args)
    if args.worker:
        args.rows = args.rows[0] if args.rows else 0
        return worker(args)

    import torch

    rows = args.rows or [10_000, 100_000, 1_000_000, 10_000_000]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(
        f"TabularNetClassifier, MLP 64-64, batch 4096, {args.epochs} epochs, "
        f"{N_FEATURES} float32 columns, {args.threads} CPU threads"
    )
    header = (
        f"{'device':6} {'rows':>11} {'fit s':>8} {'us/row/ep':>10} "
        f"{'marginal':>9} {'peak RSS MB':>12} {'peak-base MB':>13} {'X MB':>8} "
        f"{'peak-base/X':>11} {'test acc':>9}"
    )
    for device in devices:
        print(header)
        marginal = []
        previous = None
        for n in rows:
            r = measure(args, rows=n, device=device)
            per_row = r["seconds"] / (n * args.epochs) * 1e6
            # the cost of the rows added since the previous size: flat when
            # the time grows linearly (the fixed start-up cost cancels)
            step = ""
            if previous is not None:
                cost = (r["seconds"] - previous[1]) / ((n - previous[0]) * args.epochs)
                marginal.append(cost * 1e6)
                step = f"{cost * 1e6:.3f}"
            previous = (n, r["seconds"])
            x_mb = n * N_FEATURES * 4 / 2**20
            extra = r["peak_mb"] - r["baseline_mb"]
            print(
                f"{device:6} {n:>11,} {r['seconds']:>8.2f} {per_row:>10.3f} "
                f"{step:>9} {r['peak_mb']:>12,.0f} {extra:>13,.0f} {x_mb:>8,.0f} "
                f"{extra / x_mb:>11.2f} {r['accuracy']:>9.3f}"
            )
        if len(marginal) >= 2:
            print(
                f"{device}: marginal cost per row and epoch, last step / first "
                f"step = {marginal[-1] / marginal[0]:.2f} (1.00: time linear in "
                "rows; above 1: worse than linear)"
            )
        if device == "cuda":
            print("cuda: the GPU rows include the host-to-device copy of X")
    if not torch.cuda.is_available():
        print("cuda: not available on this machine (no GPU rows)")

    if args.parquet:
        directory = tempfile.mkdtemp(prefix="sklfair-bench-scale-")
        try:
            start = time.perf_counter()
            write_parquet(directory, args.parquet_rows)
            written = time.perf_counter() - start
            size = sum(
                os.path.getsize(os.path.join(directory, f))
                for f in os.listdir(directory)
            )
            r = measure(args, parquet_dir=directory, device="cpu", epochs=1)
            data_mb = args.parquet_rows * N_FEATURES * 4 / 2**20
            print(
                f"parquet: {args.parquet_rows:,} rows x {N_FEATURES} columns, "
                f"{size / 2**20:,.0f} MB on disk (written in {written:.0f} s), "
                f"{data_mb:,.0f} MB as float32"
            )
            print(
                f"parquet: fit_chunks 1 pass {r['seconds']:.1f} s "
                f"({args.parquet_rows / r['seconds']:,.0f} rows/s), peak RSS "
                f"{r['peak_mb']:,.0f} MB (baseline after imports "
                f"{r['baseline_mb']:,.0f} MB) = {r['peak_mb'] / data_mb:.2f} x the "
                f"data, test acc {r['accuracy']:.3f}"
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
