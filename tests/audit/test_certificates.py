"""Every contender certified on the held-out rows, a failed bound never hidden.

The verdicts are checked against :func:`sklfair.metrics.certify` called
here on the same fitted model and rows, and the three verdicts (certified,
NOT CERTIFIED: the gap is too large, NOT CERTIFIABLE: the rows are too few)
against models built to reach each one.
"""

import re
from contextlib import nullcontext

import numpy as np
import pandas as pd
import pytest
from audit_cases import BOUND, TIGHT, german_audit, held_out
from sklearn.base import BaseEstimator, ClassifierMixin

from sklfair.audit import certify_models
from sklfair.audit._certificates import verdict_columns
from sklfair.exceptions import BoundNotMetWarning
from sklfair.metrics import certify


class _ByGroup(ClassifierMixin, BaseEstimator):
    """Predicts 1 for the group ``favoured`` of column ``sex``, else 0."""

    def __init__(self, favoured="m"):
        self.favoured = favoured

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X):
        return (X["sex"] == self.favoured).to_numpy().astype(int)


def test_the_three_verdicts():
    rng = np.random.default_rng(0)
    big = pd.DataFrame({"sex": rng.choice(["f", "m"], 4000)})
    small = big.iloc[:40]
    model = _ByGroup().fit(big, None)
    y = pd.Series(rng.integers(0, 2, 4000))
    fair = _ByGroup(favoured="nobody").fit(big, None)
    certificates = certify_models(
        {"unfair": model, "fair": fair},
        {"unfair": 0.05, "fair": 0.05},
        big,
        y,
        attribute="sex",
        constraint="demographic_parity",
        pos_label=1,
        confidence=0.95,
    )
    assert verdict_columns(certificates["unfair"]) == {
        "bound": 0.05,
        "certificate": "NOT CERTIFIED",
    }
    assert verdict_columns(certificates["fair"])["certificate"] == "certified"
    (few,) = certify_models(
        {"fair": fair},
        {"fair": 0.05},
        small,
        y.iloc[:40],
        attribute="sex",
        constraint="demographic_parity",
        pos_label=1,
        confidence=0.95,
    ).values()
    assert few.results["verdict"].iloc[0] == "NOT CERTIFIABLE with these rows"


def test_a_model_that_cannot_be_certified_is_a_note():
    class _Broken(_ByGroup):
        def predict(self, X):
            raise RuntimeError("no predictions today")

    frame = pd.DataFrame({"sex": ["f", "m"] * 10})
    notes = []
    certificates = certify_models(
        {"broken": _Broken().fit(frame, None)},
        {"broken": 0.05},
        frame,
        pd.Series([0, 1] * 10),
        attribute="sex",
        constraint="demographic_parity",
        pos_label=1,
        confidence=0.95,
        notes=notes,
    )
    assert certificates == {}
    assert notes == ["broken: no certificate (RuntimeError: no predictions today)"]


def test_verdicts_match_certify_on_the_same_rows():
    result, _ = german_audit(privacy=True)
    X_test, y_test = held_out(result)
    for name, own in (("logistic regression", BOUND), ("claims 0.001", TIGHT)):
        expect = pytest.warns(BoundNotMetWarning) if own == TIGHT else nullcontext()
        with expect:
            expected = certify(
                result.models[name],
                X_test,
                y_test,
                sensitive_columns=["age_band"],
                constraint="demographic_parity",
                bound=own,
            )
        pd.testing.assert_frame_equal(
            result.certificates[name].results, expected.results
        )
        row = result.table.loc[name]
        assert row["bound"] == own
        assert row["certificate"] == expected.results["verdict"].iloc[0]
    assert result.table.loc["logistic regression", "certificate"] == "certified"
    assert (
        result.table.loc["claims 0.001", "certificate"]
        == "NOT CERTIFIABLE with these rows"
    )


def _row(page, name):
    (row,) = [r for r in re.findall(r"<tr[^>]*>.*?</tr>", page) if f">{name}<" in r]
    return row


def test_the_report_marks_the_failed_certificate():
    result, out = german_audit(privacy=True)
    page = (out / "report.html").read_text(encoding="utf-8")
    comparison = page.split('<h2 id="comparison">')[1].split("<h2 ")[0]
    failed = _row(comparison, "claims 0.001")
    assert failed.startswith('<tr class="fail">')
    assert '<td class="label verdict">' in failed
    assert "NOT CERTIFIABLE" in failed and "bound 0.001" in failed
    passed = _row(comparison, "logistic regression")
    assert passed.startswith('<tr class="pass">')
    assert "certified" in passed and "bound 0.5" in passed
    # each certificate, as it renders itself, in its own section
    certificates = page.split('<h2 id="certificates">')[1].split("<h2 ")[0]
    for name, certificate in result.certificates.items():
        html = certificate.to_html(title=f"Certificate of {name}")
        assert html in certificates
    summary = re.search(r'id="certificate-claims_0_001"><summary>(.*?)</summary>', page)
    assert 'class="fail">NOT CERTIFIABLE with these rows at 0.001' in summary.group(1)
