"""The models an audit compares, and the preprocessing they share.

:func:`make_contenders` lists them in table order as :class:`Contender`
records (a name, a kind, a function that builds the unfitted estimator):
logistic regression and a :class:`~sklfair.nets.TabularNetClassifier`
(baselines), :class:`~sklfair.reweighting.ReweighingClassifier`,
:class:`~sklfair.constrained.FairConstrainedClassifier` (Lagrangian at two
bounds, and group thresholds), a gradient-boosting teacher and two
:class:`~sklfair.distillation.DistilledClassifier` students (plain and fair).
Every one sits in the same preprocessing Pipeline
(:func:`make_preprocessor`), which never lets a sensitive column in.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklfair.exceptions import AuditError

__all__ = [
    "BUDGETS",
    "CONSTRAINTS",
    "LAGRANGIAN_BOUNDS",
    "STUDENT_BOUND",
    "Contender",
    "check_constraint",
    "make_contenders",
    "make_preprocessor",
]

#: The two bounds of the Lagrangian contenders (largest allowed gap).
LAGRANGIAN_BOUNDS = (0.05, 0.02)

#: Bound of the fair distilled student.
STUDENT_BOUND = 0.02

#: Fairness constraints the audit can aim at (``--constraint``).
CONSTRAINTS = ("demographic_parity", "equalized_odds", "equal_opportunity")

#: Training budgets: the default run and the fast ``quick`` one (for tests).
BUDGETS = {
    "full": {
        "net_epochs": 20,
        "batch_size": 256,
        "student_epochs": 20,
        "hgb_iter": 200,
        "lr_iter": 1000,
    },
    # Fewer epochs of the same batches: a smaller batch would take more
    # optimizer steps per epoch, and the quick run would be the slower one.
    "quick": {
        "net_epochs": 5,
        "batch_size": 256,
        "student_epochs": 5,
        "hgb_iter": 40,
        "lr_iter": 300,
    },
}

# Categorical columns of a CSV with more distinct values than this are
# rare-category-merged by the one-hot encoder.
_MAX_CATEGORIES = 30

# Short names of the constraints, for the table's row names.
_SHORT = {
    "demographic_parity": "DP",
    "equalized_odds": "EO",
    "equal_opportunity": "EOpp",
}


def check_constraint(constraint):
    """Raise :class:`~sklfair.exceptions.AuditError` unless in :data:`CONSTRAINTS`."""
    if constraint not in CONSTRAINTS:
        raise AuditError(
            f"unknown constraint {constraint!r}; choose from {list(CONSTRAINTS)}"
        )


def make_preprocessor(X, sensitive):
    """The preprocessing shared by every model: sensitive columns never enter.

    Categorical (non-numeric) columns are one-hot encoded (missing values
    are a category of their own; unknown categories at prediction time are
    ignored); numeric columns are mean-imputed and standardised. Columns are
    picked by name, so the sensitive ones are dropped whether or not a
    meta-estimator removed them first.

    Parameters
    ----------
    X : pandas.DataFrame
        The data (only its column names and dtypes are used).
    sensitive : list of str
        Columns left out.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Unfitted; dense float output.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfair.audit import make_preprocessor
    >>> X = pd.DataFrame({"income": [1.0, 2.0, None],
    ...                   "housing": pd.Categorical(["own", "rent", "own"]),
    ...                   "sex": ["f", "m", "f"]})
    >>> make_preprocessor(X, ["sex"]).fit_transform(X).shape
    (3, 3)
    """
    features = [c for c in X.columns if c not in set(sensitive)]
    numeric = [
        c
        for c in features
        if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
    ]
    categorical = [c for c in features if c not in set(numeric)]
    transformers = []
    if categorical:
        transformers.append(
            (
                "categories",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=_MAX_CATEGORIES,
                    sparse_output=False,
                ),
                categorical,
            )
        )
    if numeric:
        transformers.append(
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), numeric)
        )
    return ColumnTransformer(transformers, remainder="drop")


@dataclass
class Contender:
    """One model of the audit.

    Attributes
    ----------
    name : str
        Its row in the table.
    kind : str
        ``"baseline"``, ``"pre-processing"``, ``"in-processing"``,
        ``"post-processing"`` or ``"distillation"``.
    make : callable
        ``make(fitted) -> estimator``: builds the unfitted estimator, given the
        dict of contenders fitted so far (a distilled student uses the fitted
        teacher).
    note : str
        What it is, in a few words (shown in the report).
    bound : float or None
        The bound on the gap it was fitted to keep (its certificate is for
        this bound); None for a model without one (certified at the audit's
        bound).
    """

    name: str
    kind: str
    make: object
    note: str = ""
    bound: float | None = None


def make_contenders(
    data, *, constraint="demographic_parity", device="auto", seed=0, quick=False
):
    """The models an audit compares, in table order.

    Parameters
    ----------
    data : AuditData
        The data (for the column names and the attribute to mitigate).
    constraint : {"demographic_parity", "equalized_odds", \
            "equal_opportunity"}, default="demographic_parity"
        The fairness constraint of the in-processing and distilled
        contenders.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the networks train.
    seed : int, default=0
        Seeds every model.
    quick : bool, default=False
        Small training budgets (:data:`BUDGETS`), for tests and smoke runs.

    Returns
    -------
    contenders : list of Contender
    missing : list of str
        The contenders left out, with the reason (empty: every part of
        sklfair the audit uses is part of the package).

    Examples
    --------
    >>> from sklfair.audit import load_audit_data, make_contenders
    >>> contenders, missing = make_contenders(load_audit_data("german"))
    >>> [c.name for c in contenders][:3], missing
    (['logistic regression', 'network', 'reweighing'], [])
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression

    from sklfair.constrained import FairConstrainedClassifier
    from sklfair.distillation import DistilledClassifier
    from sklfair.nets import TabularNetClassifier
    from sklfair.reweighting import ReweighingClassifier

    check_constraint(constraint)
    budget = BUDGETS["quick" if quick else "full"]
    preprocessor = make_preprocessor(data.X, data.sensitive)
    target = [data.mitigate]
    short = _SHORT[constraint]

    def net(hidden_units=(64, 64), epochs=budget["net_epochs"]):
        return TabularNetClassifier(
            hidden_units=hidden_units,
            max_epochs=epochs,
            batch_size=budget["batch_size"],
            device=device,
            random_state=seed,
        )

    def pipeline(estimator):
        return Pipeline([("preprocess", clone(preprocessor)), ("model", estimator)])

    def student(fitted, **fair):
        return DistilledClassifier(
            FrozenEstimator(fitted["gradient boosting"]),
            pipeline(net(hidden_units=(32,), epochs=budget["student_epochs"])),
            sensitive_columns=target,
            random_state=seed,
            **fair,
        )

    contenders = [
        Contender(
            "logistic regression",
            "baseline",
            lambda fitted: pipeline(
                LogisticRegression(max_iter=budget["lr_iter"], random_state=seed)
            ),
            "sklearn LogisticRegression, sensitive columns not inputs",
        ),
        Contender(
            "network",
            "baseline",
            lambda fitted: pipeline(net()),
            "TabularNetClassifier (64, 64), sensitive columns not inputs",
        ),
        Contender(
            "reweighing",
            "pre-processing",
            lambda fitted: ReweighingClassifier(
                pipeline(net()), sensitive_columns=target
            ),
            f"ReweighingClassifier(network), weights by {data.mitigate}",
        ),
    ]
    for bound in LAGRANGIAN_BOUNDS:
        contenders.append(
            Contender(
                f"lagrangian {short}<={bound:g}",
                "in-processing",
                lambda fitted, bound=bound: FairConstrainedClassifier(
                    pipeline(net()),
                    constraint=constraint,
                    bound=bound,
                    method="lagrangian",
                    sensitive_columns=target,
                ),
                f"FairConstrainedClassifier(network, method='lagrangian', "
                f"{constraint} gap of {data.mitigate} <= {bound:g})",
                bound=bound,
            )
        )
    contenders += [
        Contender(
            f"threshold {short}",
            "post-processing",
            lambda fitted: FairConstrainedClassifier(
                pipeline(net()),
                constraint=constraint,
                method="threshold",
                sensitive_columns=target,
                random_state=seed,
            ),
            f"FairConstrainedClassifier(network, method='threshold'): group "
            f"thresholds by {data.mitigate}, which it reads at prediction",
        ),
        Contender(
            "gradient boosting",
            "baseline",
            lambda fitted: pipeline(
                HistGradientBoostingClassifier(
                    max_iter=budget["hgb_iter"], random_state=seed
                )
            ),
            "sklearn HistGradientBoostingClassifier: the teacher of the students",
        ),
        Contender(
            "distilled",
            "distillation",
            student,
            "DistilledClassifier: a (32,) network taught by the gradient "
            "boosting (fit seconds exclude the teacher's fit)",
        ),
        Contender(
            f"distilled {short}<={STUDENT_BOUND:g}",
            "distillation",
            lambda fitted: student(fitted, constraint=constraint, bound=STUDENT_BOUND),
            f"the same student trained under {constraint} of "
            f"{data.mitigate} <= {STUDENT_BOUND:g}",
            bound=STUDENT_BOUND,
        ),
    ]
    return contenders, []
