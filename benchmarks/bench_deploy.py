"""Deployable students on Taiwan credit: int8, pruning, ONNX (issue 19's targets).

One run, on the bundled Taiwan credit data (stratified 70/30 split, seed 0):

- teacher: ``HistGradientBoostingClassifier(max_iter=200)`` in a Pipeline
  (one-hot categories, imputed and standardised numbers), the teacher of the
  distillation example;
- student: the same preprocessing and a 256-128 network, distilled from the
  teacher under demographic parity on ``age_band`` (bound 0.02);
- pruned: half of the student's hidden units removed, fine-tuned 10 epochs
  distilling from the student, the constraint kept;
- int8 (dynamic per-row input scales), int8 static (scales calibrated on
  2,000 training rows), pruned int8;
- the ONNX graphs of the student, the int8 student and the pruned int8
  student, run by onnxruntime.

Prints :func:`sklfair.deploy.compare`'s table on the 9,000 held-out rows,
then the targets, each from numbers of this run: the int8 ONNX student
within 0.003 AUC of the float student and of each of its group gaps, at most
30% of its ONNX file size, and at least 5x the teacher Pipeline's
``predict_proba`` throughput at batch 1 and batch 10,000. Also the parity of
the graphs with the models they come from (probabilities within 1e-5 for
the float graph, >= 99.9% equal decisions for the int8 graph).

Every model -- teacher, torch, onnxruntime -- runs on ``--threads`` threads
(default 2). Times move with the machine's load, printed with the results;
the ratios compare models measured in the same run.

Run: ``python benchmarks/bench_deploy.py [--threads N] [--hidden 256 128]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from sklfair.datasets import load_taiwan_credit
from sklfair.deploy import compare, onnx_inputs, quantize, to_onnx
from sklfair.deploy._cli import build_models, format_report

SENSITIVE = ["sex", "age_band"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 128])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    X, y = load_taiwan_credit(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=args.seed
    )
    print(
        f"Taiwan credit: {len(X_train)} training rows, {len(X_test)} held-out "
        f"rows; {args.threads} thread(s); load average at start "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    with threadpool_limits(limits=args.threads):
        start = time.perf_counter()
        models, seconds = build_models(
            X_train,
            y_train,
            sensitive=SENSITIVE,
            mitigate="age_band",
            hidden=args.hidden,
            seed=args.seed,
            log=print,
        )
        models["int8 static"] = quantize(models["student"], X_train.iloc[:2000])
        sample = X_train.iloc[:5]
        graphs = {
            "student.onnx": to_onnx(models["student"], sample),
            "int8.onnx": to_onnx(models["int8"], sample),
            "pruned int8.onnx": to_onnx(models["pruned int8"], sample),
        }
        print(f"models built in {time.perf_counter() - start:.0f} s")
        table = compare(
            {**models, **graphs},
            X_test,
            y_test,
            sensitive_features=X_test[SENSITIVE],
            reference="student",
            n_threads=args.threads,
        )
    print(format_report(table))
    print(f"load average at end {os.getloadavg()[0]:.1f}")

    # parity of the graphs with the models they come from
    import onnxruntime as ort

    def graph_outputs(graph):
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(
            graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        return session.run(None, onnx_inputs(session, X_test))

    _, proba = graph_outputs(graphs["student.onnx"])
    float_gap = np.abs(proba - models["student"].predict_proba(X_test)).max()
    label, _ = graph_outputs(graphs["int8.onnx"])
    agree = np.mean(label == models["int8"].predict(X_test))

    student, int8, teacher = (
        table.loc["student"],
        table.loc["int8.onnx"],
        table.loc["teacher"],
    )
    gaps = [
        c
        for c in table.columns
        if c.startswith(("dp ", "eo ")) and not c.endswith((" low", " high"))
    ]
    gap_moves = (table.loc["int8.onnx", gaps] - table.loc["student", gaps]).abs()
    size_ratio = int8["size_kb"] / table.loc["student.onnx", "size_kb"]
    speed_1 = teacher["latency_ms"] / int8["latency_ms"]
    speed_10k = int8["rows_per_s"] / teacher["rows_per_s"]

    def verdict(ok):
        return "PASS" if ok else "FAIL"

    print()
    print(
        f"targets (int8 ONNX student vs the float student and the teacher; "
        f"{args.threads} thread(s) each; load average now "
        f"{os.getloadavg()[0]:.1f}):"
    )
    auc_move = abs(int8["auc"] - student["auc"])
    print(
        f"  {verdict(auc_move <= 0.003)} AUC {int8['auc']:.4f} vs "
        f"{student['auc']:.4f}: moved {auc_move:.4f} (target <= 0.003)"
    )
    worst = gap_moves.idxmax()
    print(
        f"  {verdict(gap_moves.max() <= 0.003)} group gaps moved at most "
        f"{gap_moves.max():.4f} ({worst}; target <= 0.003); every move: "
        + ", ".join(f"{c} {m:.4f}" for c, m in gap_moves.items())
    )
    print(
        f"  {verdict(size_ratio <= 0.30)} ONNX file {int8['size_kb']:.1f} KB vs "
        f"{table.loc['student.onnx', 'size_kb']:.1f} KB: {size_ratio:.1%} "
        f"(target <= 30%)"
    )
    print(
        f"  {verdict(speed_1 >= 5)} batch 1: {int8['latency_ms']:.3f} ms vs the "
        f"teacher's {teacher['latency_ms']:.2f} ms per row: {speed_1:.0f}x "
        f"(target >= 5x)"
    )
    print(
        f"  {verdict(speed_10k >= 5)} batch 10,000: {int8['rows_per_s']:,.0f} vs "
        f"{teacher['rows_per_s']:,.0f} rows/s: {speed_10k:.1f}x (target >= 5x; "
        f"the float graph {table.loc['student.onnx', 'rows_per_s']:,.0f})"
    )

    # what a move of the gaps means: decisions that differ, the cells they
    # fall in, and the interval of the float student's gap on these rows
    from sklfair.metrics import fairness_interval

    flips = label != models["student"].predict(X_test)
    print(
        f"  decisions of the int8 graph that differ from the float student's: "
        f"{flips.sum()} of {len(flips)}"
    )
    y_arr = np.asarray(y_test)
    for attribute in SENSITIVE:
        groups = X_test[attribute].astype(str).to_numpy()
        for group in np.unique(groups):
            for outcome in (0, 1):
                cell = (groups == group) & (y_arr == outcome)
                if (flips & cell).any():
                    print(
                        f"    {(flips & cell).sum()} among the {cell.sum()} rows with "
                        f"{attribute}={group}, y={outcome}: one decision there moves "
                        f"that group's rate by 1/{cell.sum()} = {1 / cell.sum():.4f}"
                    )
    metric = {"dp": "demographic_parity_difference", "eo": "equalized_odds_difference"}
    kind, attribute = worst.split(" ", 1)
    interval = fairness_interval(
        metric[kind],
        y_test,
        models["student"].predict(X_test),
        sensitive_features=X_test[attribute],
    )
    print(
        f"  the float student's {worst} on these rows: {interval.estimate:.4f}, "
        f"95% interval [{interval.low:.4f}, {interval.high:.4f}] (width "
        f"{interval.high - interval.low:.4f}); the int8 graph's move is "
        f"{gap_moves.max() / (interval.high - interval.low):.0%} of that width"
    )
    print("parity of the graphs with their models:")
    print(
        f"  float graph: largest probability difference {float_gap:.1e} "
        f"(<= 1e-5: {verdict(float_gap <= 1e-5)})"
    )
    print(
        f"  int8 graph: {agree:.4%} equal decisions "
        f"(>= 99.9%: {verdict(agree >= 0.999)})"
    )
    pd.Series(seconds).rename("fit seconds").to_frame().pipe(print)


if __name__ == "__main__":
    main()
