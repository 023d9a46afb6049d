"""COMPAS's three risk levels as a multi-class target, for the tests.

One definition for every multi-class test on real data: the target is
``score_text`` (Low, Medium, High) and race is merged into three groups
(African-American, Caucasian, Other), so that every group has rows of every
level.
"""

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
