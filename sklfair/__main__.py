"""Command line: ``python -m sklfair <command>``.

``audit``
    The main job: fit a baseline and every mitigation on a data set (bundled
    Taiwan credit by default, or a CSV file), print the comparison table
    (every gap with its interval, each model's certificate), the credit table
    and, with ``--privacy``, the membership-inference table, and write an
    HTML report with plots (:mod:`sklfair.audit`). Progress goes to stderr,
    the tables to stdout. Exit status: 0 done (a bound not certified is a
    finding, not an error); 2 bad arguments (a one-line error: a missing
    column, a file that cannot be read or parsed, an approval rate outside
    (0, 1], an output folder in use without ``--overwrite``); 130
    interrupted (Ctrl-C), with nothing written.

``export``
    Distil a gradient-boosting teacher into a student network, prune and
    quantize it, export it to ONNX and print the deployment report
    (:mod:`sklfair.deploy`).

``train``
    Fit a :class:`~sklfair.nets.TabularNetClassifier` in a preprocessing
    Pipeline on a bundled data set and print its test accuracy and demographic
    parity difference.
"""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]

#: Exit status of an interrupted command (128 + SIGINT, as shells report it).
_INTERRUPTED = 130

_LOADERS = {
    "german": ("load_german_credit", "sex"),
    "taiwan": ("load_taiwan_credit", "age_band"),
    "adult": ("load_adult", "sex"),
    "compas": ("load_compas", "race"),
}


def _train(args):
    import numpy as np
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from sklfair import datasets
    from sklfair.metrics import demographic_parity_difference
    from sklfair.nets import TabularNetClassifier

    loader, default_sensitive = _LOADERS[args.dataset]
    bunch = getattr(datasets, loader)()
    sensitive = args.sensitive or default_sensitive
    X, y = bunch.data, bunch.target
    if sensitive not in bunch.sensitive.columns:
        raise SystemExit(
            f"sklfair train: error: {sensitive!r} is not a sensitive attribute of "
            f"{args.dataset}; choose from {list(bunch.sensitive.columns)}"
        )
    groups = bunch.sensitive[sensitive]
    X_model = X.drop(columns=list(bunch.sensitive.columns), errors="ignore")
    X_tr, X_te, y_tr, y_te, _, g_te = train_test_split(
        X_model, y, groups, test_size=0.3, stratify=y, random_state=args.seed
    )
    model = make_pipeline(
        make_column_transformer(
            (
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include="category"),
            ),
            remainder=make_pipeline(SimpleImputer(), StandardScaler()),
        ),
        TabularNetClassifier(
            max_epochs=args.epochs, device=args.device, random_state=args.seed
        ),
    )
    print(
        f"Training TabularNetClassifier on {args.dataset} "
        f"({len(X_tr)} train / {len(X_te)} test rows; "
        f"{sensitive!r} is not a model input) ...",
        flush=True,
    )
    start = time.perf_counter()
    model.fit(X_tr, y_tr)
    seconds = time.perf_counter() - start
    y_pred = model.predict(X_te)
    accuracy = float(np.mean(y_pred == np.asarray(y_te)))
    dp = demographic_parity_difference(y_te, y_pred, sensitive_features=g_te)
    print(f"fit time                       {seconds:8.2f} s")
    print(f"test accuracy                  {accuracy:8.4f}")
    print(f"demographic parity difference  {dp:8.4f}  (by {sensitive})")
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text):
    """A seed of numpy's generators, 0 to 2**32 - 1 (``--seed``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(
            f"must be between 0 and 4294967295 (2**32 - 1), got {value}"
        )
    return value


def _share(text):
    """A share in (0, 1] (``--approval-rate``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value:g}")
    return value


def _gap(text):
    """A gap between rates, 0 to 1 (``--bound``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"must be a gap between rates, 0 to 1, got {value:g}"
        )
    return value


def _audit(args):
    import matplotlib

    from sklfair.audit import (
        AuditError,
        format_credit_table,
        format_privacy_table,
        format_table,
        load_audit_data,
        run_audit,
    )

    # The figures are only saved to files; the process ends after the report.
    matplotlib.use("Agg")
    try:
        data = load_audit_data(
            args.dataset,
            csv=args.csv,
            target=args.target,
            sensitive=args.sensitive,
            mitigate=args.mitigate,
            bad_label=args.bad_label,
        )
        result = run_audit(
            data,
            out=args.out,
            overwrite=args.overwrite,
            constraint=args.constraint,
            bound=args.bound,
            approval_rate=args.approval_rate,
            reasons=args.reasons,
            privacy=args.privacy,
            device=args.device,
            seed=args.seed,
            quick=args.quick,
            threads=args.threads,
        )
    except AuditError as exc:
        print(f"python -m sklfair audit: error: {exc}", file=sys.stderr)
        return 2
    settings = result.settings
    print(
        f"sklfair audit of {data.name}: {settings['n_test']} held-out rows, "
        f"positive label {data.pos_label!r}; mitigations aim at {data.mitigate}; "
        f"certificates of {settings['constraint']} by {data.mitigate}"
    )
    print(format_table(result.table))
    if result.credit is not None and not result.credit.table.empty:
        print()
        print(format_credit_table(result.credit))
    if result.privacy is not None and not result.privacy.table.empty:
        print()
        print(format_privacy_table(result.privacy))
    for note in result.notes:
        print(f"note: {note}")
    report = [str(f) for f in result.files if f.name == "report.html"]
    if report:
        print(f"report: {report[0]}")
    print(f"total time: {result.seconds:.0f} s", file=sys.stderr)
    return 0


def build_parser():
    parser = _Parser(
        prog="python -m sklfair",
        description="sklfair: fair machine learning on tabular data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    from sklfair.audit import APPROVAL_RATE, BOUND, CONSTRAINTS, DATASETS, REASONS

    audit = sub.add_parser(
        "audit",
        help="compare a baseline with every mitigation and write a report",
        description=(
            "Fit a baseline (logistic regression, a network, gradient boosting) "
            "and every sklfair mitigation on a stratified split, print the "
            "comparison table (accuracy, AUC, demographic parity and equalized "
            "odds differences per sensitive attribute, each with its 95% "
            "interval, each model's certificate, fit seconds), the credit table "
            "(Gini, KS, calibration, approval and bad rates and adverse impact "
            "ratios at a cutoff) and, with --privacy, the membership-inference "
            "table, and write DIR/report.html with plots. Default: bundled "
            "Taiwan credit, sensitive sex and age_band, mitigations aimed at "
            "age_band."
        ),
    )
    source = audit.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset", choices=sorted(DATASETS), help="a bundled data set (taiwan)"
    )
    source.add_argument("--csv", metavar="PATH", help="a CSV file with a header row")
    audit.add_argument("--target", metavar="COL", help="the CSV's binary target")
    audit.add_argument(
        "--sensitive",
        nargs="+",
        metavar="COL",
        help="sensitive attributes, each reported (default: the data set's)",
    )
    audit.add_argument(
        "--mitigate",
        metavar="COL",
        help="the sensitive attribute the mitigations aim at",
    )
    audit.add_argument(
        "--constraint",
        choices=CONSTRAINTS,
        default="demographic_parity",
        help="fairness constraint of the constrained models",
    )
    audit.add_argument(
        "--bound",
        type=_gap,
        default=BOUND,
        metavar="B",
        help="bound certified for the models fitted without one (default "
        f"{BOUND:g}); a model fitted to keep a bound is certified at its own",
    )
    audit.add_argument(
        "--approval-rate",
        type=_share,
        default=APPROVAL_RATE,
        metavar="R",
        help="share of the held-out applicants each model's cutoff approves in "
        f"the credit section (default {APPROVAL_RATE:g})",
    )
    audit.add_argument(
        "--bad-label",
        metavar="VALUE",
        help="the CSV target's bad outcome (a default), whose probability is the "
        "PD (default: the greater label); bundled data sets know theirs",
    )
    audit.add_argument(
        "--reasons",
        choices=REASONS,
        default="fast",
        help="which models' declined rows get reasons in the credit section: "
        "fast (the networks, the logistic regression and gradient boosting by "
        "their own explainers, group thresholds through the score they "
        "threshold; default), all (also the models without a fast explainer, "
        "and the group thresholds' own rule, through shap's slow permutation "
        "explainer) or none",
    )
    audit.add_argument(
        "--privacy",
        action="store_true",
        help="also attack every model with membership inference, overall and "
        "per group (extra fits: off by default)",
    )
    audit.add_argument(
        "--out", metavar="DIR", default="audit_out", help="report folder (audit_out)"
    )
    audit.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the report folder if a previous audit wrote it (without "
        "this flag, a folder that is not empty is refused)",
    )
    audit.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where the networks train (auto: a GPU when there is one)",
    )
    audit.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="N",
        help="seeds the split and models (0 to 2**32 - 1)",
    )
    audit.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        metavar="N",
        help="CPU threads of torch and the other numeric libraries (default 1: "
        "the networks are small, and extra threads slow a busy machine down)",
    )
    audit.add_argument(
        "--quick", action="store_true", help="small training budgets (smoke runs)"
    )
    audit.set_defaults(handler=_audit)

    train = sub.add_parser(
        "train", help="train a TabularNetClassifier on a bundled data set"
    )
    train.add_argument("--dataset", choices=sorted(_LOADERS), default="german")
    train.add_argument("--sensitive", help="sensitive attribute to measure")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--device", default="auto")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(handler=_train)

    from sklfair.deploy._cli import add_export_parser

    add_export_parser(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"python -m sklfair {args.command}: interrupted", file=sys.stderr)
        return _INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
