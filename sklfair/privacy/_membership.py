"""Membership inference: how much a fitted model gives away about its rows.

An attacker who sees a row and the model's output on it guesses whether the
row was in the training set. Two attacks, both from the per-row loss:

- ``"loss"`` (Yeom et al., 2018): a row is a member when its loss is low.
  Models fit their training rows better than new rows, so the gap between
  the two loss distributions is the leak.
- ``"calibrated"`` (difficulty calibration, Watson et al., 2022): the
  row's loss is compared with its loss under reference models of the same
  kind trained without it. A row that is easy for any model no longer looks
  like a member; a row the model fits much better than its references do
  does.

Each attack is scored by its ROC AUC (0.5: no better than a coin) and its
membership advantage, the largest ``TPR - FPR`` over thresholds (Yeom et
al.'s measure), overall and per group. Nothing here knows of the nets: any
fitted sklearn classifier or regressor can be attacked.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone, is_regressor
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import _num_samples, check_is_fitted

from .._sensitive import check_sensitive_features

__all__ = ["membership_inference", "MembershipInferenceResult"]

_ATTACKS = ("loss", "calibrated")
_COLUMNS = ["auc", "advantage", "p_value", "n_members", "n_non_members"]
# -log of the probability given to a label the model never saw
_MAX_LOG_LOSS = -np.log(1e-12)


@dataclass(frozen=True)
class MembershipInferenceResult:
    """What :func:`membership_inference` found.

    Attributes
    ----------
    overall : pandas.DataFrame
        One row per attack (``"loss"``, ``"calibrated"``) with columns
        ``auc``, ``advantage``, ``p_value`` (one-sided two-sample
        Kolmogorov-Smirnov test that members score no higher than
        non-members: the advantage is that test's statistic),
        ``n_members`` and ``n_non_members``.
    by_group : pandas.DataFrame or None
        The same columns per (attack, group); None without
        ``sensitive_features``. NaN where a group has no member or no
        non-member.
    scores : dict of str to ndarray
        Each attack's membership score of every row, members (the rows of
        ``X_train``) first; higher means "more likely a member".
    """

    overall: pd.DataFrame
    by_group: pd.DataFrame | None
    scores: dict

    @property
    def auc(self):
        """The highest AUC of the attacks run."""
        return float(self.overall["auc"].max())

    @property
    def advantage(self):
        """The highest membership advantage of the attacks run."""
        return float(self.overall["advantage"].max())

    def for_groups(self, sensitive_features):
        """The per-group results for another grouping, without attacking again.

        The scores are kept, so grouping the rows by each sensitive attribute
        in turn (the audit's case) costs no further reference fits.

        Parameters
        ----------
        sensitive_features : array-like, or tuple of two array-likes
            As in :func:`membership_inference`.

        Returns
        -------
        by_group : pandas.DataFrame
            Indexed by (attack, group), with the columns of ``overall``.
        """
        member = self._member()
        groups = _groups(sensitive_features, int(member.sum()), int((~member).sum()))
        labels = sorted(pd.unique(groups), key=str)
        rows, keys = [], []
        for attack, score in self.scores.items():
            for label in labels:
                mask = (groups == label).to_numpy()
                rows.append(_attack_row(member[mask], score[mask]))
                keys.append((attack, label))
        return pd.DataFrame(
            rows,
            index=pd.MultiIndex.from_tuples(keys, names=["attack", "group"]),
            columns=_COLUMNS,
        )

    def _member(self):
        n_in = int(self.overall["n_members"].iloc[0])
        n_out = int(self.overall["n_non_members"].iloc[0])
        return np.r_[np.ones(n_in, dtype=bool), np.zeros(n_out, dtype=bool)]

    def to_frame(self):
        """Overall and per-group rows in one frame (group ``"all"`` overall)."""
        overall = self.overall.assign(group="all").set_index("group", append=True)
        if self.by_group is None:
            return overall
        return pd.concat([overall, self.by_group])

    def __repr__(self):
        return (
            f"MembershipInferenceResult(auc={self.auc:.3f}, "
            f"advantage={self.advantage:.3f})\n{self.overall.round(4)}"
        )


def per_example_loss(estimator, X, y):
    """Each row's loss under a fitted estimator (the attack's raw signal).

    Log loss of the true label for a classifier with ``predict_proba``
    (a label the model does not know counts as probability ``1e-12``), 0-1
    loss for a classifier without it, squared error (averaged over outputs)
    for a regressor.
    """
    if is_regressor(estimator):
        pred = np.asarray(estimator.predict(X), dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).reshape(pred.shape)
        err = (pred - y) ** 2
        return err.reshape(len(err), -1).mean(axis=1)
    y = np.asarray(y)
    if not hasattr(estimator, "predict_proba"):
        return (np.asarray(estimator.predict(X)) != y).astype(np.float64)
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    classes = np.asarray(estimator.classes_)
    position = np.searchsorted(classes, y)
    position = np.clip(position, 0, len(classes) - 1)
    known = classes[position] == y
    p = np.where(known, proba[np.arange(len(y)), position], 0.0)
    return np.minimum(-np.log(np.maximum(p, 1e-12)), _MAX_LOG_LOSS)


def _attack_row(member, score):
    """AUC, advantage and KS p-value of one score over one set of rows."""
    n_in = int(member.sum())
    n_out = int(len(member) - n_in)
    if n_in == 0 or n_out == 0:
        return [np.nan, np.nan, np.nan, n_in, n_out]
    fpr, tpr, _ = roc_curve(member, score)
    test = stats.ks_2samp(score[~member], score[member], alternative="greater")
    return [
        float(roc_auc_score(member, score)),
        float(np.max(tpr - fpr)),
        float(test.pvalue),
        n_in,
        n_out,
    ]


def _split_halves(y, classifier, rng):
    """Two halves of the rows, stratified by label for a classifier when possible."""
    index = np.arange(len(y))
    seed = rng.randint(np.iinfo(np.int32).max)
    if classifier:
        try:
            return train_test_split(index, test_size=0.5, random_state=seed, stratify=y)
        except ValueError:
            pass
    return train_test_split(index, test_size=0.5, random_state=seed)


def _reference_losses(estimator, X_train, y_train, X_out, y_out, n_references, rng):
    """Each row's mean loss under reference models that did not train on it.

    References are clones of ``estimator`` fitted on one half of the
    non-member rows; each scores the other half of the non-members and a
    random half of the members, so that every row, member or not, is scored
    by one reference of each pair: a member's reference loss must not be an
    average over more models than a non-member's, or its smaller spread alone
    would separate the two. Halves are drawn afresh for every pair.
    """
    n_in = _num_samples(X_train)
    total = np.zeros(n_in + _num_samples(X_out))
    count = np.zeros_like(total)
    y_out_arr = np.asarray(y_out)
    y_in_arr = np.asarray(y_train)
    for _ in range(n_references // 2):
        halves = _split_halves(y_out_arr, not is_regressor(estimator), rng)
        members = rng.permutation(n_in)
        member_halves = (members[: n_in // 2], members[n_in // 2 :])
        for (fit_rows, held_rows), scored in zip(
            (halves, halves[::-1]), member_halves, strict=True
        ):
            reference = clone(estimator).fit(
                _safe_indexing(X_out, fit_rows), y_out_arr[fit_rows]
            )
            total[scored] += per_example_loss(
                reference, _safe_indexing(X_train, scored), y_in_arr[scored]
            )
            total[n_in + held_rows] += per_example_loss(
                reference, _safe_indexing(X_out, held_rows), y_out_arr[held_rows]
            )
            count[scored] += 1
            count[n_in + held_rows] += 1
    return total / count


def _groups(sensitive_features, n_in, n_out):
    if isinstance(sensitive_features, tuple):
        if len(sensitive_features) != 2:
            raise ValueError(
                "sensitive_features as a tuple must be (groups of X_train, groups "
                f"of X_out); got a tuple of {len(sensitive_features)}."
            )
        parts = [
            check_sensitive_features(
                part, n, max_groups=None, min_groups=1, name="sensitive_features"
            )
            for part, n in zip(sensitive_features, (n_in, n_out))
        ]
        return pd.concat(parts, ignore_index=True)
    return check_sensitive_features(
        sensitive_features, n_in + n_out, max_groups=None, min_groups=1
    ).reset_index(drop=True)


@validate_params(
    {
        "estimator": [object],
        "X_train": ["array-like", "sparse matrix"],
        "y_train": ["array-like"],
        "X_out": ["array-like", "sparse matrix"],
        "y_out": ["array-like"],
        "sensitive_features": [None, "array-like", tuple],
        "n_references": [Interval(numbers.Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def membership_inference(
    estimator,
    X_train,
    y_train,
    X_out,
    y_out,
    *,
    sensitive_features=None,
    n_references=2,
    random_state=None,
):
    """Attack a fitted model: can its output tell its training rows apart?

    Runs the loss-threshold attack of Yeom et al. (2018) and, with
    ``n_references > 0``, its per-example calibrated variant (Watson et al.,
    2022), on members (``X_train``: rows the model was fitted on) and
    non-members (``X_out``: rows from the same population it never saw).
    Each attack is scored by its ROC AUC and its membership advantage, the
    largest ``TPR - FPR`` over thresholds, overall and per group.

    The best threshold is chosen on the rows being scored, so even a model
    that leaks nothing shows a small positive advantage (about
    ``1.36 * sqrt(1 / n_members + 1 / n_non_members)`` at the 95% level);
    the ``p_value`` column says whether the advantage is above that noise.

    .. versionadded:: 0.2

    Parameters
    ----------
    estimator : fitted classifier or regressor
        The model attacked; a classifier is attacked through
        ``predict_proba`` when it has one (the log loss of the true label),
        otherwise through ``predict``.
    X_train, y_train : array-like
        Rows the model was fitted on (members) and their targets.
    X_out, y_out : array-like
        Rows of the same population the model did not see (non-members).
    sensitive_features : array-like, or tuple of two array-likes, default=None
        Group of each row for the per-group results: one array over the rows
        of ``X_train`` then ``X_out``, or a pair ``(groups of X_train, groups
        of X_out)``. None: overall results only.
    n_references : int, default=2
        Reference models for the calibrated attack (an even number; 0 runs
        the loss attack only). They are clones of ``estimator`` fitted, a
        pair at a time, on the two halves of the non-member rows, so every
        row is scored by references that never trained on it. Their fit
        costs ``n_references`` fits of ``estimator`` on half of ``X_out``.
    random_state : int, RandomState instance or None, default=None
        Seeds the halves of the non-member rows.

    Returns
    -------
    result : MembershipInferenceResult
        ``overall`` and ``by_group`` frames, and the per-row ``scores``.

    See Also
    --------
    DPSGD : private training, which bounds what any such attack can learn.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklfair.privacy import membership_inference
    >>> X, y = make_classification(n_samples=600, flip_y=0.2, random_state=0)
    >>> tree = DecisionTreeClassifier(random_state=0).fit(X[:300], y[:300])
    >>> result = membership_inference(
    ...     tree, X[:300], y[:300], X[300:], y[300:], random_state=0
    ... )
    >>> # a fully grown tree memorises its rows
    >>> result  # doctest: +NORMALIZE_WHITESPACE
    MembershipInferenceResult(auc=0.606, advantage=0.193)
                   auc  advantage  p_value  n_members  n_non_members
    attack
    loss        0.5967     0.1933   0.0000        300            300
    calibrated  0.6056     0.1500   0.0012        300            300
    """
    check_is_fitted(estimator)
    if n_references % 2:
        raise ValueError(
            f"n_references must be even (references come in pairs fitted on the "
            f"two halves of the non-member rows); got {n_references}."
        )
    n_in, n_out = _num_samples(X_train), _num_samples(X_out)
    for name, X, y in (("train", X_train, y_train), ("out", X_out, y_out)):
        if _num_samples(y) != _num_samples(X):
            raise ValueError(
                f"X_{name} has {_num_samples(X)} rows but y_{name} has "
                f"{_num_samples(y)}."
            )
        if _num_samples(X) == 0:
            raise ValueError(f"X_{name} has no rows; the attack needs both sets.")
    member = np.r_[np.ones(n_in, dtype=bool), np.zeros(n_out, dtype=bool)]
    loss = np.r_[
        per_example_loss(estimator, X_train, y_train),
        per_example_loss(estimator, X_out, y_out),
    ]
    scores = {"loss": -loss}
    if n_references:
        reference = _reference_losses(
            estimator,
            X_train,
            y_train,
            X_out,
            y_out,
            n_references,
            check_random_state(random_state),
        )
        scores["calibrated"] = reference - loss

    overall = pd.DataFrame(
        [_attack_row(member, s) for s in scores.values()],
        index=pd.Index(list(scores), name="attack"),
        columns=_COLUMNS,
    )
    result = MembershipInferenceResult(overall=overall, by_group=None, scores=scores)
    if sensitive_features is None:
        return result
    return dataclasses.replace(result, by_group=result.for_groups(sensitive_features))
