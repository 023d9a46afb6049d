"""
From a gradient-boosting teacher to an int8 ONNX student
========================================================

A credit model is deployed where the training stack is not: a scoring
service, a database, a phone. This example takes the path of
:mod:`sklfair.deploy` on Taiwan credit card clients (1 = default next
month):

1. a :class:`~sklearn.ensemble.HistGradientBoostingClassifier` teacher;
2. a small network student distilled from it under a fairness constraint
   (demographic parity between clients under 25 and the others);
3. the student pruned (half of its hidden units removed, then fine-tuned
   with the constraint kept) and quantized to int8;
4. the whole Pipeline -- one-hot encoding, imputation, scaling and the
   network -- exported as one ONNX graph and run with onnxruntime;
5. one table of what compression cost: size, speed, accuracy, AUC and the
   group gaps, measured on held-out clients.

Compression is known to cost the smallest groups first, so every
compressed model is measured again rather than assumed fair.
"""

# %%
# Data, teacher and fair student
# ------------------------------
# 6,000 of the 30,000 clients keep the example short. ``age_band`` stays in
# ``X``: the student reads its groups from it and never uses it as an input.
import torch
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_taiwan_credit
from sklfair.distillation import DistilledClassifier
from sklfair.nets import TabularNetClassifier

torch.set_num_threads(1)
cards = load_taiwan_credit()
X = cards.data.drop(columns="sex")
X, _, y, _ = train_test_split(
    X, cards.target, train_size=6_000, stratify=cards.target, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
categorical = ["education", "marriage"]  # with missing values: a category
numeric = [c for c in X.columns if c not in categorical + ["age_band"]]


def preprocess():
    return make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), categorical),
        (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
    )


teacher = make_pipeline(
    preprocess(), HistGradientBoostingClassifier(max_iter=100, random_state=0)
).fit(X_train, y_train)
student = DistilledClassifier(
    FrozenEstimator(teacher),
    make_pipeline(
        preprocess(),
        TabularNetClassifier(hidden_units=(128, 64), max_epochs=15, random_state=0),
    ),
    constraint="demographic_parity",
    bound=0.02,
    sensitive_columns="age_band",
    random_state=0,
).fit(X_train, y_train)

# %%
# Prune and quantize
# ------------------
# :func:`~sklfair.deploy.prune` removes half of each hidden layer's units
# (torch's ``ln_structured``) and fine-tunes the smaller network through the
# same training loop, distilling from the unpruned student with the
# demographic parity constraint of the original fit.
# :func:`~sklfair.deploy.quantize` gives int8 weights (torchao). Both return
# copies; the student itself is untouched.
from sklfair.deploy import prune, quantize

pruned = prune(student, X_train, y_train, sparsity=0.5, max_epochs=5)
int8 = quantize(student)
pruned_int8 = quantize(pruned)
print("student hidden units:", student.student_[-1].hidden_units)
print("pruned hidden units: ", pruned.student_[-1].hidden_units)

# %%
# One ONNX graph per model
# ------------------------
# :func:`~sklfair.deploy.to_onnx` converts the student's whole Pipeline. The
# graph takes one input per column the student uses -- ``age_band`` is not
# one of them -- and returns labels and probabilities.
import numpy as np
import onnxruntime as ort

from sklfair.deploy import onnx_inputs, to_onnx

graphs = {
    "student.onnx": to_onnx(student, X_train.iloc[:5]),
    "int8.onnx": to_onnx(int8, X_train.iloc[:5]),
    "pruned int8.onnx": to_onnx(pruned_int8, X_train.iloc[:5]),
}
session = ort.InferenceSession(graphs["int8.onnx"].SerializeToString())
print("graph inputs:", [i.name for i in session.get_inputs()][:5], "...")
labels, probabilities = session.run(None, onnx_inputs(session, X_test))
print(
    "int8 graph vs int8 model, same decisions:", np.mean(labels == int8.predict(X_test))
)

# %%
# What compression cost
# ---------------------
# :func:`~sklfair.deploy.compare` measures every model and graph on the
# held-out clients: the size of what is deployed (a pickled student Pipeline
# or an ONNX file), parameters, milliseconds per row at batch 1, rows per
# second at batch 10,000, accuracy, AUC, and the demographic parity (dp) and
# equalized odds (eo) differences by age band. A model whose gap rises past
# the student's bound of 0.02 would raise a
# :class:`~sklfair.exceptions.DeploymentGapWarning`.
import pandas as pd

from sklfair.audit import interval_columns
from sklfair.deploy import compare

table = compare(
    {
        "teacher": teacher,
        "student": student,
        "pruned": pruned,
        "int8": int8,
        **graphs,
    },
    X_test,
    y_test,
    sensitive_features=X_test["age_band"],
    reference="student",
    n_latency_rows=50,
    n_threads=1,
)
# each gap with its 95% interval in one column
shown = interval_columns(table.round(4).astype({"rows_per_s": int}))
with pd.option_context("display.width", 200, "display.max_columns", 12):
    print(shown)
