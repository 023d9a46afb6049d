"""The run of an audit: failures, interrupts, and the state it restores.

The real contenders train networks; these tests of the run's mechanics
replace them with a logistic regression and models whose fit fails or is
interrupted, on a synthetic data set of 120 rows. The full run on real data
is in test_quick_run.py.
"""

import io
import signal
import time

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from skorch.callbacks import Callback
from threadpoolctl import threadpool_info

import sklfair.audit._run as run_module
from sklfair.audit import (
    AuditError,
    Contender,
    load_audit_data,
    make_preprocessor,
    run_audit,
)
from sklfair.audit._run import _resolve_device
from sklfair.nets import TabularNetClassifier


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """120 rows: two features, sex (sensitive), a binary text target."""
    rng = np.random.default_rng(0)
    n = 120
    sex = rng.choice(["female", "male"], n)
    income = rng.normal(size=n) + (sex == "male")
    frame = pd.DataFrame(
        {
            "income": income.round(3),
            "housing": rng.choice(["own", "rent"], n),
            "sex": sex,
            "repaid": np.where(income + rng.normal(size=n) > 0.5, "yes", "no"),
        }
    )
    path = tmp_path_factory.mktemp("data") / "loans.csv"
    frame.to_csv(path, index=False)
    return load_audit_data(csv=path, target="repaid", sensitive=["sex"])


def logistic_contender(data):
    """A quick model that fits."""
    return Contender(
        "logistic regression",
        "baseline",
        lambda fitted: make_pipeline(
            make_preprocessor(data.X, data.sensitive), LogisticRegression()
        ),
        "a logistic regression",
    )


@pytest.fixture
def use_contenders(monkeypatch):
    """``use_contenders(lambda data: [...])`` replaces the audit's models."""

    def use(build, missing=()):
        def contenders(data, **kwargs):
            return build(data), list(missing)

        monkeypatch.setattr(run_module, "make_contenders", contenders)

    return use


class _Broken:
    """A classifier whose fit fails, to check that one failure ends nothing."""

    def fit(self, X, y):
        raise RuntimeError("this model cannot be fitted\nsecond line")


class _Interrupted(Pipeline):
    """A fit interrupted by Ctrl-C: SIGINT arrives while it runs.

    ``swallow=True`` catches the KeyboardInterrupt and ends the fit
    normally, as skorch's training loop does: the model can predict.
    """

    swallow = False

    def fit(self, X, y):
        try:
            signal.raise_signal(signal.SIGINT)
            time.sleep(5)  # not reached: the handler raises at once
        except KeyboardInterrupt:
            if not self.swallow:
                raise
        return super().fit(X, y)


class _InterruptAtEpoch(Callback):
    """Ctrl-C during the second epoch of a skorch net."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            signal.raise_signal(signal.SIGINT)


def _state():
    """What a run may change: torch threads, BLAS pools, the SIGINT handler."""
    pools = sorted((p["internal_api"], p["num_threads"]) for p in threadpool_info())
    return torch.get_num_threads(), pools, signal.getsignal(signal.SIGINT)


def test_a_failing_model_is_a_note_not_the_end(small_data, use_contenders, tmp_path):
    use_contenders(
        lambda data: [
            logistic_contender(data),
            Contender("broken", "baseline", lambda fitted: _Broken()),
        ],
        missing=["something: not available"],
    )
    progress = io.StringIO()
    out = tmp_path / "report"
    result = run_audit(small_data, out=out, progress=progress)
    assert list(result.table.index) == ["logistic regression"]
    assert "broken failed: RuntimeError: this model cannot be fitted" in result.notes
    assert "left out: something: not available" in result.notes
    assert "[2/2] broken: FAILED" in progress.getvalue()
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "broken failed" in report
    assert (out / "groups_logistic_regression.png").is_file()


def test_cuda_request_without_a_gpu_falls_back_with_a_note(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    notes, stream = [], io.StringIO()
    assert _resolve_device("cuda", notes, stream) == "cpu"
    assert "CUDA is not available" in notes[0]
    assert stream.getvalue().startswith("note: CUDA is not available")
    assert _resolve_device("auto", [], None) == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _resolve_device("auto", [], None) == "cuda"
    assert _resolve_device("cpu", [], None) == "cpu"


def test_threads_apply_during_the_run_and_are_restored(small_data, use_contenders):
    before = _state()
    assert before[0] == 1  # tests/conftest.py pins one thread
    seen = []

    class _Probe(Pipeline):
        def fit(self, X, y):
            seen.append(_state())
            return super().fit(X, y)

    use_contenders(
        lambda data: [
            Contender(
                "probe",
                "baseline",
                lambda fitted: _Probe(
                    [
                        ("preprocess", make_preprocessor(data.X, data.sensitive)),
                        ("model", LogisticRegression()),
                    ]
                ),
            )
        ]
    )
    run_audit(small_data, threads=2, device="cpu", progress=False)
    (during,) = seen
    assert during[0] == 2
    assert all(n == 2 for _, n in during[1])
    assert _state() == before


@pytest.mark.parametrize("swallow", [False, True], ids=["raised", "swallowed"])
def test_an_interrupt_stops_the_run_and_writes_nothing(
    small_data, use_contenders, tmp_path, swallow
):
    """Ctrl-C during a fit: KeyboardInterrupt, no report, state restored --
    also when the model's fit caught the interrupt and returned."""
    fitted_after = []

    def interrupted(data):
        model = _Interrupted(logistic_contender(data).make({}).steps)
        model.swallow = swallow
        return model

    class _After(_Broken):
        def fit(self, X, y):
            fitted_after.append(True)
            raise AssertionError("fitted after the interrupt")

    use_contenders(
        lambda data: [
            logistic_contender(data),
            Contender("ctrl-c", "baseline", lambda fitted: interrupted(data)),
            Contender("after", "baseline", lambda fitted: _After()),
        ]
    )
    before = _state()
    progress = io.StringIO()
    out = tmp_path / "report"
    with pytest.raises(KeyboardInterrupt):
        run_audit(small_data, out=out, threads=2, device="cpu", progress=progress)
    assert fitted_after == []
    assert "[2/3] ctrl-c: interrupted; nothing is written" in progress.getvalue()
    assert list(tmp_path.iterdir()) == []
    assert _state() == before


def test_an_interrupt_that_skorch_catches_still_stops_the_run(
    small_data, use_contenders, tmp_path
):
    """A real network whose training loop is interrupted at its second epoch:
    the audit stops whether or not skorch lets the interrupt through."""

    def interrupted_net(fitted):
        return make_pipeline(
            make_preprocessor(small_data.X, small_data.sensitive),
            TabularNetClassifier(
                max_epochs=50, callbacks=[("ctrl_c", _InterruptAtEpoch())]
            ),
        )

    use_contenders(
        lambda data: [Contender("network", "baseline", interrupted_net)],
    )
    before = _state()
    with pytest.raises(KeyboardInterrupt):
        run_audit(small_data, out=tmp_path / "report", progress=False)
    assert list(tmp_path.iterdir()) == []
    assert _state() == before


def test_a_folder_in_use_is_refused_before_any_fit(
    small_data, use_contenders, tmp_path
):
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.html").write_text("an older report")
    fitted = []
    use_contenders(
        lambda data: [Contender("m", "baseline", lambda f: fitted.append(1))]
    )
    with pytest.raises(AuditError, match="not empty.*--overwrite"):
        run_audit(small_data, out=out, progress=False)
    assert fitted == []
    assert (out / "report.html").read_text() == "an older report"
