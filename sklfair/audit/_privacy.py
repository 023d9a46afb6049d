"""The audit's privacy section (``--privacy``): how much each model leaks.

:func:`privacy_audit` attacks every fitted contender with
:func:`sklfair.privacy.membership_inference`: can the model's loss on a row
tell whether the row was one of its training rows? The members are the
training rows, the non-members the held-out rows. Both attacks run: the
loss threshold, and the calibrated one, whose reference models are clones
of the contender fitted on halves of the held-out rows (:data:`N_REFERENCES`
extra fits per contender: the reason the section is off by default). The
attack's AUC (0.5: a coin) and advantage (the best ``TPR - FPR``) are
reported overall and per group of every sensitive attribute.

A model whose attack fails becomes a note; the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sklfair.privacy import membership_inference

from ._messages import log, unique_warnings
from ._state import ModelStep

__all__ = ["N_REFERENCES", "PrivacyAudit", "privacy_audit"]

#: Reference models of the calibrated attack, per contender.
N_REFERENCES = 2


@dataclass
class PrivacyAudit:
    """What :func:`privacy_audit` measured.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model (index ``model``): ``attack AUC`` and
        ``advantage`` (the stronger attack's), ``p-value`` (of the larger
        advantage: is it above what a model that leaks nothing shows?), and
        for each attribute ``a``, ``advantage a`` (the largest advantage over
        its groups) and ``group a`` (that group).
    by_group : dict
        ``by_group[model][attribute]``: each attack's results per group
        (:meth:`~sklfair.privacy.MembershipInferenceResult.for_groups`).
    overall : dict of str to pandas.DataFrame
        Each model's results per attack (``overall`` of the result).
    n_references : int
        Reference models of the calibrated attack.
    """

    table: pd.DataFrame
    by_group: dict = field(default_factory=dict)
    overall: dict = field(default_factory=dict)
    n_references: int = N_REFERENCES


def _row(result, groups_by_attribute):
    overall = result.overall
    strongest = overall["advantage"].idxmax()
    row = {
        "attack AUC": result.auc,
        "advantage": result.advantage,
        "p-value": float(overall.loc[strongest, "p_value"]),
    }
    by_group = {}
    for attribute, groups in groups_by_attribute.items():
        table = result.for_groups(groups)
        by_group[attribute] = table
        largest = table["advantage"].idxmax()
        row[f"advantage {attribute}"] = float(table.loc[largest, "advantage"])
        row[f"group {attribute}"] = str(largest[1])
    return row, by_group


def privacy_audit(
    models,
    train,
    test,
    sensitive,
    *,
    n_references=N_REFERENCES,
    seed=0,
    notes=None,
    progress=None,
    watch=None,
):
    """Attack every model with membership inference, overall and per group.

    Parameters
    ----------
    models : dict of str to fitted classifier
    train, test : tuple of (pandas.DataFrame, pandas.Series)
        The training rows (members) and the held-out rows (non-members),
        sensitive columns included.
    sensitive : list of str
        The attributes whose groups are reported.
    n_references : int, default=2
        Reference models of the calibrated attack (0: the loss attack only).
    seed : int, default=0
        Seeds the attack's halves of the held-out rows.
    notes : list, default=None
        Where a failure or a warning of a model becomes a line.
    progress : file, default=None
        Where progress lines go.
    watch : InterruptWatch, default=None
        Checked after each model.

    Returns
    -------
    PrivacyAudit

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklfair.audit import privacy_audit
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"x": rng.normal(size=600),
    ...                   "sex": rng.choice(["f", "m"], 600)})
    >>> y = pd.Series((X["x"] + rng.normal(size=600) > 0).astype(int))
    >>> tree = DecisionTreeClassifier(random_state=0).fit(X[["x"]][:300], y[:300])
    >>> privacy = privacy_audit(
    ...     {"tree": tree}, (X[["x"]][:300], y[:300]), (X[["x"]][300:], y[300:]),
    ...     [], n_references=0)
    >>> bool(privacy.table.loc["tree", "advantage"] > 0.2)  # it memorised its rows
    True
    """
    notes = [] if notes is None else notes
    (X_train, y_train), (X_test, y_test) = train, test
    groups = {a: (X_train[a].to_numpy(), X_test[a].to_numpy()) for a in sensitive}
    rows, by_group, overall, warned = [], {}, {}, []
    for name, model in models.items():
        with ModelStep(
            name,
            section="privacy",
            failure="no membership inference",
            notes=notes,
            progress=progress,
            watch=watch,
        ) as step:
            result = membership_inference(
                model,
                X_train,
                y_train,
                X_test,
                y_test,
                n_references=n_references,
                random_state=seed,
            )
            row, tables = _row(result, groups)
        if step.failed:
            continue
        warned.extend(step.caught)
        rows.append({"model": name, **row})
        by_group[name], overall[name] = tables, result.overall
        log(
            progress,
            f"  privacy: {name}: attack AUC {row['attack AUC']:.3f}, "
            f"advantage {row['advantage']:.3f}",
        )
    if warned:
        # the reference fits, on halves of the held-out rows, repeat the
        # warnings of the models' own fits with smaller groups
        kinds = unique_warnings(warned, limit=120)
        notes.append(
            f"privacy: the attacks raised {len(warned)} warning(s), most from the "
            f"reference fits on halves of the held-out rows; the first: {kinds[0]}"
        )
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.set_index("model")
    return PrivacyAudit(
        table=table, by_group=by_group, overall=overall, n_references=n_references
    )
