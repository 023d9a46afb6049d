"""The contenders of the audit and the preprocessing they share."""

import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from sklfair.audit import (
    CONSTRAINTS,
    LAGRANGIAN_BOUNDS,
    STUDENT_BOUND,
    AuditError,
    load_audit_data,
    make_contenders,
    make_preprocessor,
)
from sklfair.constrained import FairConstrainedClassifier
from sklfair.distillation import DistilledClassifier
from sklfair.reweighting import ReweighingClassifier

SENSITIVE = ["sex", "age_band"]


@pytest.fixture(scope="module")
def german():
    return load_audit_data("german")


def test_sensitive_columns_are_not_model_inputs(german):
    preprocessor = make_preprocessor(german.X, german.sensitive).fit(german.X)
    used = set(preprocessor.get_feature_names_out())
    for attribute in SENSITIVE:
        assert not any(attribute in name for name in used)


@pytest.mark.parametrize(
    "constraint, short", list(zip(CONSTRAINTS, ["DP", "EO", "EOpp"], strict=True))
)
def test_every_mitigation_is_a_contender(german, constraint, short):
    contenders, missing = make_contenders(german, constraint=constraint)
    assert missing == []
    assert [c.name for c in contenders] == [
        "logistic regression",
        "network",
        "reweighing",
        *[f"lagrangian {short}<={b:g}" for b in LAGRANGIAN_BOUNDS],
        f"threshold {short}",
        "gradient boosting",
        "distilled",
        f"distilled {short}<={STUDENT_BOUND:g}",
    ]
    built = {}
    for contender in contenders:
        # The students are built from the fitted teacher; a stand-in will do.
        built[contender.name] = contender.make(built)
    assert isinstance(built["reweighing"], ReweighingClassifier)
    for bound in LAGRANGIAN_BOUNDS:
        model = built[f"lagrangian {short}<={bound:g}"]
        assert isinstance(model, FairConstrainedClassifier)
        assert (model.constraint, model.bound, model.method) == (
            constraint,
            bound,
            "lagrangian",
        )
    fair_student = built[f"distilled {short}<={STUDENT_BOUND:g}"]
    assert isinstance(fair_student, DistilledClassifier)
    assert isinstance(fair_student.teacher, FrozenEstimator)
    assert fair_student.bound == STUDENT_BOUND
    # Every model aims at the attribute to mitigate, behind the preprocessing.
    for name in ("reweighing", f"threshold {short}", "distilled"):
        assert built[name].sensitive_columns == [german.mitigate]
    assert isinstance(built["network"], Pipeline)


def test_unknown_constraint_is_an_audit_error(german):
    with pytest.raises(AuditError, match="unknown constraint 'parity'"):
        make_contenders(german, constraint="parity")
