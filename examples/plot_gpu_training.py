"""
Training on a GPU (and what happens without one)
================================================

Every sklfair network takes ``device=``: ``"auto"`` (the default) trains on
the first CUDA GPU when torch sees one and on the CPU otherwise, ``"cuda"``
asks for the GPU, ``"cpu"`` for the CPU. Nothing else changes: the same
Pipeline, the same ``fit`` and ``predict_proba`` (which returns float64
NumPy arrays wherever the network trained), the same fairness
meta-estimators -- the constrained and distilled networks train on the same
device, since they use the same training loop.

This example trains the same network on the CPU and, when there is one, on
the GPU, and compares the time. Without a GPU (as when these docs are built
in CI) it says so and shows the CPU run only: a ``"cuda"`` request falls back
to the CPU instead of failing, and ``device_`` tells where a network
actually trained.
"""

# %%
# Is there a GPU?
# ---------------
import time

import torch

has_gpu = torch.cuda.is_available()
if has_gpu:
    print("GPU:", torch.cuda.get_device_name(0))
else:
    print("No CUDA GPU here: the 'cuda' run below falls back to the CPU.")

# %%
# The data and the model
# ----------------------
# All 30,000 Taiwan credit-card clients; the sensitive columns are left out
# of the inputs. Large batches suit a GPU best; they also make each CPU epoch
# cheaper.
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_taiwan_credit
from sklfair.nets import TabularNetClassifier

cards = load_taiwan_credit()
X_train, X_test, y_train, y_test = train_test_split(
    cards.data, cards.target, test_size=0.3, stratify=cards.target, random_state=0
)
categorical = ["education", "marriage"]
numeric = [c for c in X_train.columns if c not in ["sex", "age_band", *categorical]]


def make_model(device):
    return make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), categorical),
            (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        ),
        TabularNetClassifier(
            hidden_units=(256, 256),
            max_epochs=10,
            batch_size=1024,
            lr=2e-3,
            device=device,
            random_state=0,
        ),
    )


# %%
# CPU and GPU
# -----------
# ``device_`` is where the network trained.
timings = {}
for device in ["cpu", "cuda"]:
    model = make_model(device)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    net = model[-1]
    label = f"{device} (ran on {net.device_})"
    timings[label] = seconds
    proba = model.predict_proba(X_test)
    print(
        f"{label}: fit {seconds:.1f} s, test accuracy "
        f"{model.score(X_test, y_test):.3f}, probabilities {proba.dtype}"
    )

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 2.5), layout="constrained")
ax.barh(list(timings), list(timings.values()), color="#4C72B0")
ax.set_xlabel("fit seconds, 10 epochs on 21,000 rows")
if not has_gpu:
    ax.set_title("No GPU here: both runs trained on the CPU")
plt.show()
