"""compare() against fairlearn and scikit-learn on German credit with string
labels: the favourable label is named, and every gap, accuracy and AUC of
the float, int8 and ONNX models is the oracle's."""

import numpy as np
import pytest
from fairlearn.metrics import (
    demographic_parity_difference,
    equalized_odds_difference,
)
from sklearn.compose import make_column_transformer
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_german_credit
from sklfair.deploy import compare, quantize, to_onnx
from sklfair.nets import TabularNetClassifier


@pytest.mark.parametrize("pos_label", ["good", "bad"])
def test_string_labels_with_a_named_favourable_label(pos_label):
    data = load_german_credit()
    X = data.data.drop(columns=["sex", "age_band"])
    y = np.where(data.target == 1, "good", "bad")
    categorical = list(X.select_dtypes("category").columns)
    numeric = list(X.select_dtypes("number").columns)
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), categorical),
            (StandardScaler(), numeric),
        ),
        TabularNetClassifier(hidden_units=(16,), max_epochs=10, random_state=0),
    ).fit(X, y)
    small = quantize(model)
    groups = data.data[["sex", "age_band"]]
    models = {"float": model, "int8": small, "int8.onnx": to_onnx(small, X.iloc[:5])}
    table = compare(
        models,
        X,
        y,
        sensitive_features=groups,
        pos_label=pos_label,
        batch_size=1000,
        n_latency_rows=2,
        repeats=1,
    )
    column = list(model.classes_).index(pos_label)
    for name, fitted in (("float", model), ("int8", small)):
        labels = fitted.predict(X)
        expected = {
            "accuracy": accuracy_score(y, labels),
            "auc": roc_auc_score(y == pos_label, fitted.predict_proba(X)[:, column]),
        }
        for attribute in groups:
            for kind, gap in (
                ("dp", demographic_parity_difference),
                ("eo", equalized_odds_difference),
            ):
                expected[f"{kind} {attribute}"] = gap(
                    y == pos_label,
                    labels == pos_label,
                    sensitive_features=groups[attribute],
                )
        for key, value in expected.items():
            assert table.loc[name, key] == pytest.approx(value, abs=1e-12), key
    # the int8 graph decides as the int8 model here
    assert table.loc["int8.onnx", "accuracy"] == table.loc["int8", "accuracy"]
    assert table.loc["int8", "auc"] > 0.6  # ranked by the favourable label
    with pytest.raises(ValueError, match="pos_label='yes' is not a label of y"):
        compare({"float": model}, X, y, sensitive_features=groups, pos_label="yes")
