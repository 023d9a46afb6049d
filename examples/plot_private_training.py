"""
Private training: what a credit model remembers, and DP-SGD
===========================================================

A network that fits its training rows well also remembers them. Given an
applicant's record and the model, an attacker can often tell whether the
record was in the training data -- for a credit model, whether the person
had a loan with the lender. This example measures that leak on the German
credit data with :func:`~sklfair.privacy.membership_inference`, then trains
the same network with differential privacy
(:class:`~sklfair.privacy.DPSGD`, DP-SGD through opacus) and measures again.
"""

# %%
# Members, non-members and a network that memorises
# -------------------------------------------------
# Half of the applicants train the model (the members); the other half are
# rows from the same population that it never sees (the non-members). The
# preprocessing is fitted on the members here for brevity; a private model
# meant for release fits it on public data (see the user guide).
import matplotlib.pyplot as plt
from sklearn.compose import make_column_transformer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_german_credit
from sklfair.nets import TabularNetClassifier
from sklfair.privacy import DPSGD, membership_inference

credit = load_german_credit()
X = credit.data.drop(columns=["sex", "age_band"])
y, sex = credit.target, credit.sensitive["sex"]
X_in, X_out, y_in, y_out, sex_in, sex_out = train_test_split(
    X, y, sex, test_size=0.5, stratify=y, random_state=0
)
categorical = X.select_dtypes("category").columns


def make_model(**params):
    preprocess = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), categorical),
        remainder=StandardScaler(),
    )
    net = TabularNetClassifier(hidden_units=(64, 64), random_state=0, **params)
    return make_pipeline(preprocess, net)


plain = make_model(max_epochs=60, lr=1e-2).fit(X_in, y_in)
leak = membership_inference(
    plain,
    X_in,
    y_in,
    X_out,
    y_out,
    sensitive_features=(sex_in, sex_out),
    random_state=0,
)
print(f"plain net: accuracy on non-members {plain.score(X_out, y_out):.3f}")
print(leak.overall.round(3))

# %%
# The loss attack (Yeom et al.) calls a row a member when the model's loss
# on it is low; the calibrated attack compares the loss with that of
# reference models that never saw the row. The advantage is the best
# ``TPR - FPR`` over thresholds: how much better than a coin the attacker
# guesses. Per group:
print(leak.by_group[["auc", "advantage", "n_members"]].round(3))

# %%
# The same network, trained privately
# -----------------------------------
# DP-SGD clips every row's gradient and adds noise calibrated so that the
# whole fit spends at most ``target_epsilon``; ``epsilon_`` says what it
# spent. ``target_delta`` is set below ``1 / n`` (the default), as a release
# should.
private = make_model(
    max_epochs=10,
    lr=1e-2,
    batch_size=64,
    privacy=DPSGD(target_epsilon=1.0, target_delta=1e-4),
).fit(X_in, y_in)
net = private[-1]
guarded = membership_inference(private, X_in, y_in, X_out, y_out, random_state=0)
print(
    f"private net: epsilon {net.epsilon_:.2f} at delta {net.delta_:g}, "
    f"accuracy on non-members {private.score(X_out, y_out):.3f}"
)
print(guarded.overall.round(3))

# %%
# What the attacker sees
# ----------------------
# The loss attack's scores (minus the loss) of members and non-members. The
# plain net gives its members a loss near zero; under DP-SGD the two
# distributions are nearly the same.
fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
for ax, (title, result) in zip(axes, [("plain", leak), ("DP-SGD, eps 1", guarded)]):
    score = result.scores["loss"]
    members = score[: len(y_in)]
    others = score[len(y_in) :]
    ax.hist(others, bins=30, alpha=0.6, label="non-members", density=True)
    ax.hist(members, bins=30, alpha=0.6, label="members", density=True)
    advantage = result.overall.loc["loss", "advantage"]
    ax.set_title(f"{title}: advantage {advantage:.2f}")
    ax.set_xlabel("-loss")
axes[0].legend()
plt.tight_layout()
plt.show()
