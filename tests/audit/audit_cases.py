"""A small audit shared by the audit's tests: German credit, two logistic models.

A plain module (not a conftest.py: a second conftest module beside
tests/metrics/conftest.py breaks collecting both folders in one run). The
audit runs once per process and per setting (``functools.cache``) on the
whole German credit data (700 training and 300 held-out rows) with two
quick contenders instead of the networks:

- ``logistic regression``: a baseline, certified at the run's bound, 0.5,
  which its held-out gap can show;
- ``claims 0.001``: the same model claiming a bound of 0.001, which 300
  held-out rows cannot certify for any model: its certificate fails.

The report is written to a temporary folder removed when the process ends.
"""

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklfair.audit import Contender, load_audit_data, make_preprocessor, run_audit

SEED = 1
BOUND = 0.5
TIGHT = 0.001


def contenders(data, **kwargs):
    """The two contenders, in the shape of ``make_contenders``."""

    def logistic(fitted):
        return make_pipeline(
            make_preprocessor(data.X, data.sensitive),
            LogisticRegression(max_iter=500),
        )

    return (
        [
            Contender("logistic regression", "baseline", logistic, "a baseline"),
            Contender(
                "claims 0.001",
                "in-processing",
                logistic,
                "the same model, claiming a bound it cannot show",
                bound=TIGHT,
            ),
        ],
        [],
    )


@functools.cache
def german_audit(privacy=False):
    """``(result, out)``: the audit of German credit and its report folder."""
    out = Path(tempfile.mkdtemp(prefix="sklfair-audit-test-")) / "report"
    atexit.register(shutil.rmtree, out.parent, ignore_errors=True)
    data = load_audit_data("german")
    import sklfair.audit._run as run_module

    original = run_module.make_contenders
    run_module.make_contenders = contenders
    try:
        result = run_audit(
            data,
            out=out,
            bound=BOUND,
            privacy=privacy,
            seed=SEED,
            device="cpu",
            progress=False,
        )
    finally:
        run_module.make_contenders = original
    return result, out


def held_out(result):
    """The held-out rows ``(X_test, y_test)`` of a result."""
    rows = result.test_index
    return result.data.X.iloc[rows], result.data.y.iloc[rows]
