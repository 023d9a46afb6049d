"""COMPAS's three risk levels as a multi-class target, for the tests.

One definition for every multi-class test on real data: the target is
``score_text`` (Low, Medium, High) and race is merged into three groups
(African-American, Caucasian, Other), so that every group has rows of every
level. :func:`compas_split` is the user guide's split of them and
:func:`compas_encoder` the encoding the tests' models put in front.
"""

from sklearn.compose import make_column_transformer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.datasets import load_compas

#: Race categories too small to stand alone, merged into "Other".
_MERGED = {"Asian": "Other", "Native American": "Other", "Hispanic": "Other"}


def compas_risk_levels(drop=("sex", "age_cat")):
    """``(X, y)``: COMPAS's features without the columns ``drop``, race as
    strings merged into three groups, and the risk level as strings."""
    bunch = load_compas()
    X = bunch.data.drop(columns=list(drop)).copy()
    X["race"] = X["race"].astype(str).replace(_MERGED)
    y = bunch.frame["score_text"].astype(str).to_numpy()
    return X, y


def compas_split():
    """``X_train, X_test, y_train, y_test``: the risk levels split 70/30,
    stratified, seed 0 (``benchmarks/bench_breadth.py`` and the guide)."""
    X, y = compas_risk_levels()
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def compas_encoder(categorical=("c_charge_degree",)):
    """One-hot ``categorical``, standardise the other columns."""
    return make_column_transformer(
        (OneHotEncoder(), list(categorical)), remainder=StandardScaler()
    )
