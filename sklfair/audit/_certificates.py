"""The audit's certificates: does each model keep its bound on held-out rows?

:func:`certify_models` certifies every fitted contender with
:func:`sklfair.metrics.certify` on the held-out rows: the constraint the
mitigations aim at, on the attribute they aim at, at the contender's own
bound (a Lagrangian or fair student fitted to keep a gap under 0.02 is held
to 0.02) or, for a model without one, at the audit's bound. A bound that is
not certified is not an error here: the certificate marks it (``NOT
CERTIFIED`` when the gap is too large, ``NOT CERTIFIABLE with these rows``
when the groups are too small for any model to certify it), and the report
shows it in red.
"""

from __future__ import annotations

import warnings

from sklfair.exceptions import BoundNotMetWarning
from sklfair.metrics import certify

from ._messages import one_line

__all__ = ["BOUND", "certify_models", "verdict_columns"]

#: The bound certified for a model fitted without one (the looser of the
#: Lagrangian contenders' bounds).
BOUND = 0.05


def certify_models(
    models,
    bounds,
    X_test,
    y_test,
    *,
    attribute,
    constraint,
    pos_label,
    confidence,
    notes=None,
):
    """Certify every model on the held-out rows.

    Parameters
    ----------
    models : dict of str to fitted classifier
    bounds : dict of str to float
        The bound each model is certified at.
    X_test, y_test : pandas.DataFrame, pandas.Series
        Held-out rows, sensitive columns included.
    attribute : str
        The sensitive column the constraint is about.
    constraint : str
        A constraint name of :func:`sklfair.metrics.certify`.
    pos_label : object
        The positive label of the gaps.
    confidence : float
        Confidence level of the intervals.
    notes : list, default=None
        Where a model that cannot be certified becomes a line (the others
        go on); None raises instead.

    Returns
    -------
    dict of str to FairnessCertificate

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklfair.audit import certify_models
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"sex": rng.choice(["f", "m"], 2000)})
    >>> y = pd.Series(rng.integers(0, 2, 2000))
    >>> model = DummyClassifier(strategy="constant", constant=1).fit(X, y)
    >>> certificates = certify_models(
    ...     {"constant": model}, {"constant": 0.05}, X, y, attribute="sex",
    ...     constraint="demographic_parity", pos_label=1, confidence=0.95)
    >>> certificates["constant"].results[["estimate", "bound", "verdict"]]
                        estimate  bound    verdict
    constraint
    demographic_parity       0.0   0.05  certified
    """
    certificates = {}
    for name, model in models.items():
        try:
            with warnings.catch_warnings():
                # the certificate marks a bound that fails; no warning on top
                warnings.simplefilter("ignore", BoundNotMetWarning)
                certificates[name] = certify(
                    model,
                    X_test,
                    y_test,
                    sensitive_columns=[attribute],
                    constraint=constraint,
                    bound=bounds[name],
                    confidence=confidence,
                    pos_label=pos_label,
                )
        except Exception as exc:  # noqa: BLE001 - one model must not end it
            if notes is None:
                raise
            notes.append(f"{name}: no certificate ({one_line(exc)})")
    return certificates


def verdict_columns(certificate):
    """The comparison table's ``bound`` and ``certificate`` of one model.

    Parameters
    ----------
    certificate : FairnessCertificate
        Of one constraint.

    Returns
    -------
    dict
        ``bound`` (float) and ``certificate`` (the verdict: ``"certified"``,
        ``"NOT CERTIFIED"`` or ``"NOT CERTIFIABLE with these rows"``).
    """
    row = certificate.results.iloc[0]
    return {"bound": float(row["bound"]), "certificate": str(row["verdict"])}
