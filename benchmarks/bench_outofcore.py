"""Peak memory of fair training out of core, and its held-out gap (issue 21).

Writes a synthetic parquet data set (``--rows``, default 20 million, x 20
float32 features and an integer sensitive column ``group`` with three groups
of 50/30/20%, three features acting as its proxies, a label whose base rate
depends on the group), one row group of ``--row-group`` rows at a time, never
all in memory; and a held-out file of ``--held-out`` rows drawn the same way.

Then, each in a fresh subprocess (so that its peak resident memory,
``ru_maxrss``, is its own; the baseline is the resident memory after the
imports), ``--epochs`` pass(es) of:

- ``net``: ``TabularNetClassifier.fit_chunks`` (the features only);
- ``reweighing``: ``ReweighingClassifier(...).fit_chunks`` (a counting pass,
  then the net's passes on reweighed chunks);
- ``lagrangian``: ``FairConstrainedClassifier(method="lagrangian",
  bound=--bound).fit_chunks`` with the held-out file as
  ``validation_chunks`` (a counting pass, the net's passes, a claim pass, a
  held-out pass);
- ``sample``: the in-memory ``FairConstrainedClassifier.fit`` on the first
  ``--sample`` rows, ``--sample-epochs`` epochs.

Printed per case: seconds, peak RSS above the baseline and its ratio to the
data's in-memory size as float32 and as float64 (the target is at most 0.3x
the float32 size), the accuracy and the demographic-parity gap on the
held-out rows (fairlearn's metric), and for the constrained fits the claim
on their training rows.

Run: ``python benchmarks/bench_outofcore.py [--rows 2000000] [--threads 1]``.
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

N_FEATURES = 20
GROUP_SHARES = (0.5, 0.3, 0.2)
SEED = 0
CASES = ("net", "reweighing", "lagrangian", "sample")


def synthetic(n_rows, seed):
    """Features (float32), group codes and 0/1 labels of ``n_rows`` rows."""
    rng = np.random.default_rng(seed)
    group = rng.choice(len(GROUP_SHARES), size=n_rows, p=GROUP_SHARES)
    X = rng.standard_normal((n_rows, N_FEATURES), dtype=np.float32)
    X[:, :3] += 0.6 * group[:, None].astype(np.float32)  # proxies of the group
    coef = np.linspace(-1, 1, N_FEATURES, dtype=np.float32)
    logit = X @ coef + 0.5 * group + rng.standard_normal(n_rows, dtype=np.float32)
    return X, group.astype(np.int8), (logit > 0.8).astype(np.int8)


def write_parquet(path, n_rows, row_group, seed):
    """Write ``n_rows`` rows one row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = [f"x{i}" for i in range(N_FEATURES)]
    schema = pa.schema(
        [(n, pa.float32()) for n in names] + [("group", pa.int8()), ("y", pa.int8())]
    )
    with pq.ParquetWriter(path, schema) as writer:
        for k, start in enumerate(range(0, n_rows, row_group)):
            X, group, y = synthetic(min(row_group, n_rows - start), seed + k)
            columns = [pa.array(X[:, j]) for j in range(N_FEATURES)]
            columns += [pa.array(group), pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def worker(args):
    """One case, in its own process; prints one JSON line."""
    import pandas as pd
    import torch
    from fairlearn.metrics import demographic_parity_difference

    from sklfair.constrained import FairConstrainedClassifier
    from sklfair.nets import ParquetChunks, TabularNetClassifier
    from sklfair.reweighting import ReweighingClassifier

    torch.set_num_threads(args.threads)
    features = [f"x{i}" for i in range(N_FEATURES)]
    baseline = current_rss_mb()

    def net(epochs):
        return TabularNetClassifier(
            hidden_units=(64, 64), batch_size=4096, max_epochs=epochs, random_state=0
        )

    def chunks(path, with_group=True):
        return ParquetChunks(
            path,
            "y",
            features=features + (["group"] if with_group else []),
            batch_rows=args.row_group,
            random_state=0,
        )

    def constrained(epochs):
        return FairConstrainedClassifier(
            net(epochs),
            bound=args.bound,
            method="lagrangian",
            sensitive_columns="group",
            method_params=None if args.dual_lr is None else {"dual_lr": args.dual_lr},
            random_state=0,
        )

    start = time.perf_counter()
    result = {}
    if args.case == "net":
        model = net(args.epochs).fit_chunks(
            chunks(args.train, with_group=False), classes=[0, 1]
        )
    elif args.case == "reweighing":
        model = ReweighingClassifier(net(args.epochs), sensitive_columns="group")
        model.fit_chunks(chunks(args.train))
    elif args.case == "lagrangian":
        model = constrained(args.epochs)
        model.fit_chunks(chunks(args.train), validation_chunks=chunks(args.held_out))
        result["validation_gap"] = model.validation_gaps_["demographic_parity"]
    else:
        import pyarrow.parquet as pq

        # the first rows only: the file's rows are in random order already
        batches = pq.ParquetFile(args.train).iter_batches(batch_size=args.sample)
        frame = next(batches).to_pandas()
        del batches
        model = constrained(args.sample_epochs)
        model.fit(frame.drop(columns="y").astype(np.float32), frame["y"])
        del frame
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    if hasattr(model, "constraint_violation_"):
        result["claim"] = model.constraint_violation_ + args.bound
    held = pd.read_parquet(args.held_out)
    X_held = held.drop(columns="y").astype(np.float32)
    if args.case == "net":
        X_held = X_held[features]
    predicted = model.predict(X_held)
    result.update(
        seconds=seconds,
        peak_mb=peak,
        baseline_mb=baseline,
        accuracy=float((predicted == held["y"].to_numpy()).mean()),
        gap=float(
            demographic_parity_difference(
                held["y"], predicted, sensitive_features=held["group"]
            )
        ),
    )
    print(json.dumps(result))


def measure(args, case):
    cmd = [sys.executable, __file__, "--worker", "--case", case]
    for key in ("train", "held_out", "threads", "epochs", "row_group", "bound"):
        cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    if args.dual_lr is not None:
        cmd += ["--dual-lr", str(args.dual_lr)]
    cmd += ["--sample", str(args.sample), "--sample-epochs", str(args.sample_epochs)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--held-out", type=str, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--held-out-rows", type=int, default=200_000)
    parser.add_argument("--row-group", type=int, default=262_144)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--sample", type=int, default=200_000)
    parser.add_argument("--sample-epochs", type=int, default=5)
    parser.add_argument("--bound", type=float, default=0.05)
    parser.add_argument(
        "--dual-lr", type=float, default=None, help="LagrangianTerm's dual_lr"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--dir", default=None, help="where to write the data")
    # internal: one case
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--case", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--train", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    if args.dir is not None:
        os.makedirs(args.dir, exist_ok=True)
    directory = tempfile.mkdtemp(prefix="sklfair-bench-outofcore-", dir=args.dir)
    try:
        args.train = os.path.join(directory, "train.parquet")
        args.held_out = os.path.join(directory, "held_out.parquet")
        start = time.perf_counter()
        write_parquet(args.train, args.rows, args.row_group, SEED)
        write_parquet(args.held_out, args.held_out_rows, args.row_group, SEED + 10**6)
        written = time.perf_counter() - start
        n_columns = N_FEATURES + 1  # the features and the group column
        data32 = args.rows * n_columns * 4 / 2**20
        data64 = 2 * data32
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
        print(
            f"{args.rows:,} rows x {N_FEATURES} features + group, "
            f"{os.path.getsize(args.train) / 2**20:,.0f} MB parquet (written in "
            f"{written:.0f} s), in memory {data32:,.0f} MB float32 / "
            f"{data64:,.0f} MB float64; row groups of {args.row_group:,}; "
            f"{args.epochs} epoch(s); MLP 64-64, batch 4096, {args.threads} "
            f"thread(s); DP bound {args.bound}, dual_lr "
            f"{args.dual_lr or 'default'}; load average {load} on "
            f"{os.cpu_count()} CPUs"
        )
        print(
            f"{'case':11} {'seconds':>8} {'peak-base MB':>13} {'/f32 data':>10} "
            f"{'/f64 data':>10} {'held-out acc':>13} {'held-out gap':>13} "
            f"{'claim (train)':>14}"
        )
        for case in args.cases:
            r = measure(args, case)
            extra = r["peak_mb"] - r["baseline_mb"]
            claim = f"{r['claim']:.4f}" if "claim" in r else "-"
            label = case if case != "sample" else f"sample {args.sample // 1000}k"
            print(
                f"{label:11} {r['seconds']:>8.1f} {extra:>13,.0f} "
                f"{extra / data32:>10.3f} {extra / data64:>10.3f} "
                f"{r['accuracy']:>13.4f} {r['gap']:>13.4f} {claim:>14}",
                flush=True,
            )
            if "validation_gap" in r:
                print(f"{'':11} validation_gaps_ (streamed): {r['validation_gap']:.4f}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
