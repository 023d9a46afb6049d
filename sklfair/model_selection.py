"""Fairness-aware model selection from a search's ``cv_results_``.

- :func:`constrained_refit` -- a ``refit=`` callable for
  :class:`~sklearn.model_selection.GridSearchCV` (or any search with
  multi-metric scoring) that picks the best score among the candidates whose
  fairness gap stays within a bound;
- :func:`pareto_front` -- the candidates no other candidate beats on both the
  score and the gap, as a DataFrame.

Both read two entries of a multi-metric search's ``scoring`` dict: a score
(higher is better, as every scikit-learn scorer) and a *constraint*, a
fairness gap such as a demographic parity difference. Gaps are "lower is
better", so fairness scorers report them negated
(``make_scorer(..., greater_is_better=False)`` gives
``mean_test_<name> = -gap``). These functions undo the sign: ``bound`` and the
``gap`` columns are always non-negative gaps. A constraint column whose values
are all non-negative (a scorer that returns the gap itself) is read as the gap
directly; a column with both signs is an error, because it is not a gap.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

__all__ = ["constrained_refit", "pareto_front"]

# Rounding slack when comparing a mean gap with the bound.
_TOLERANCE = 1e-12


def _scorer_names(cv_results):
    return [
        key[len("mean_test_") :] for key in cv_results if key.startswith("mean_test_")
    ]


def _mean_test(cv_results, name, role):
    key = f"mean_test_{name}"
    if key not in cv_results:
        names = _scorer_names(cv_results)
        hint = ""
        if names == ["score"]:
            hint = (
                " This search used a single scorer: pass a dict, e.g. "
                "scoring={'accuracy': 'accuracy', 'dp_gap': fairness_scorer}."
            )
        raise ValueError(
            f"The {role} {name!r} is not a scorer of this search "
            f"(cv_results_ has no {key!r}). Available scorer names: {names}.{hint}"
        )
    return np.asarray(cv_results[key], dtype=float)


def _resolve_names(cv_results, score, constraint):
    if not isinstance(score, str):
        raise TypeError(f"score must be a scorer name (str), got {score!r}.")
    if constraint is None:
        others = [name for name in _scorer_names(cv_results) if name != score]
        if len(others) != 1:
            raise ValueError(
                "constraint=None picks the one scorer other than the score, but "
                f"this search has {len(others)}: {others}. Name the fairness "
                "gap's scorer with constraint=."
            )
        constraint = others[0]
    if not isinstance(constraint, str):
        raise TypeError(f"constraint must be a scorer name (str), got {constraint!r}.")
    if constraint == score:
        raise ValueError(f"score and constraint are the same scorer {score!r}.")
    return constraint


def _scores_and_gaps(cv_results, score, constraint):
    """Mean scores, non-negative mean gaps and the resolved constraint name."""
    constraint = _resolve_names(cv_results, score, constraint)
    scores = _mean_test(cv_results, score, "score")
    signed = _mean_test(cv_results, constraint, "constraint")
    finite = signed[np.isfinite(signed)]
    if np.all(finite <= 0):
        gaps = -signed  # the make_scorer(greater_is_better=False) convention
    elif np.all(finite >= 0):
        gaps = signed
    else:
        raise ValueError(
            f"mean_test_{constraint} has both positive and negative values, so it "
            "is not a fairness gap (gaps are reported as -gap by a scorer made "
            "with greater_is_better=False, or as the gap itself)."
        )
    return scores, gaps + 0.0, constraint


def _params(cv_results, index):
    params = cv_results.get("params")
    return params[index] if params is not None else {}


class _ConstrainedRefit:
    """The callable returned by :func:`constrained_refit` (picklable)."""

    def __init__(self, score, constraint, bound):
        self.score = score
        self.constraint = constraint
        self.bound = bound

    def __repr__(self):
        return (
            f"constrained_refit(score={self.score!r}, "
            f"constraint={self.constraint!r}, bound={self.bound!r})"
        )

    def __call__(self, cv_results):
        scores, gaps, constraint = _scores_and_gaps(
            cv_results, self.score, self.constraint
        )
        n_candidates = scores.shape[0]
        index = np.arange(n_candidates)
        valid = np.isfinite(scores) & np.isfinite(gaps)
        if not valid.any():
            raise ValueError(
                f"Every candidate has a NaN mean_test_{self.score} or "
                f"mean_test_{constraint}: the fits or the scorers failed (see "
                "the search's warnings, or set error_score='raise')."
            )
        feasible = valid & (gaps <= self.bound + _TOLERANCE)
        if not feasible.any():
            candidates = index[valid]
            smallest = candidates[
                np.lexsort((candidates, -scores[valid], gaps[valid]))[0]
            ]
            raise ValueError(
                f"No candidate has a mean {constraint} gap within bound="
                f"{self.bound}: the smallest gap is {gaps[smallest]:.4g} "
                f"(candidate {smallest}, params {_params(cv_results, smallest)}, "
                f"mean {self.score} {scores[smallest]:.4g}). Raise the bound, or "
                "search a grid with fairer candidates (e.g. stronger "
                "regularisation or a mitigation)."
            )
        rank_key = f"rank_test_{self.score}"
        ranks = (
            np.asarray(cv_results[rank_key], dtype=float)
            if rank_key in cv_results
            else index.astype(float)
        )
        candidates = index[feasible]
        order = np.lexsort(
            (
                candidates,
                ranks[feasible],
                gaps[feasible],
                -scores[feasible],
            )
        )
        return int(candidates[order[0]])


def constrained_refit(score="accuracy", constraint=None, bound=0.05):
    """Make a ``refit=`` callable that selects the best fair-enough candidate.

    The callable takes a search's ``cv_results_`` and returns the index of the
    candidate with the highest ``mean_test_<score>`` among those whose mean
    fairness gap (``mean_test_<constraint>``, sign undone, see the module
    docstring) is at most ``bound``. Ties on the score go to the smaller gap,
    then to the better ``rank_test_<score>``, then to the first candidate.
    Candidates with a NaN score or gap (failed fits) are never selected.

    .. versionadded:: 0.1

    Parameters
    ----------
    score : str, default="accuracy"
        Name of the score in the search's ``scoring`` dict.
    constraint : str, default=None
        Name of the fairness gap's scorer in the search's ``scoring`` dict.
        None uses the only other scorer of the search (an error if there are
        several).
    bound : float, default=0.05
        Largest allowed mean gap, a non-negative number whatever the scorer's
        sign.

    Returns
    -------
    refit : callable
        ``refit(cv_results) -> int``, to pass as
        ``GridSearchCV(..., refit=refit)``. It is picklable, so the fitted
        search can be saved.

    Raises
    ------
    ValueError
        From this function: for a negative or non-numeric ``bound``. From the
        callable (so from the search's ``fit``): when ``score`` or
        ``constraint`` is not a scorer of the search (the message lists the
        available names), when the gap column has both signs, or when no
        candidate is within the bound (the message gives the smallest gap
        found and its candidate's parameters).

    See Also
    --------
    pareto_front : All the score/gap trade-offs of a search.

    Notes
    -----
    With a callable ``refit``, scikit-learn sets ``best_index_``,
    ``best_params_`` and ``best_estimator_`` but not ``best_score_``; read the
    score as ``search.cv_results_[f"mean_test_{score}"][search.best_index_]``.

    Examples
    --------
    >>> from sklfair.model_selection import constrained_refit
    >>> cv_results = {
    ...     "params": [{"C": 0.1}, {"C": 1.0}, {"C": 10.0}],
    ...     "mean_test_accuracy": [0.70, 0.75, 0.80],
    ...     "mean_test_dp_gap": [-0.02, -0.04, -0.12],  # -gap
    ... }
    >>> refit = constrained_refit("accuracy", "dp_gap", bound=0.05)
    >>> refit
    constrained_refit(score='accuracy', constraint='dp_gap', bound=0.05)
    >>> refit(cv_results)
    1
    >>> constrained_refit("accuracy", "dp_gap", bound=0.01)(cv_results)
    Traceback (most recent call last):
    ...
    ValueError: No candidate has a mean dp_gap gap within bound=0.01: the smallest \
gap is 0.02 (candidate 0, params {'C': 0.1}, mean accuracy 0.7). ...

    In a search (``fairness_scorer`` returns ``-gap``)::

        search = GridSearchCV(
            clf, {"C": [0.1, 1, 10]},
            scoring={"accuracy": "accuracy", "dp_gap": fairness_scorer},
            refit=constrained_refit("accuracy", "dp_gap", bound=0.05),
        )
    """
    if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
        raise ValueError(f"bound must be a non-negative number, got {bound!r}.")
    if not bound >= 0:  # also rejects NaN
        raise ValueError(
            f"bound must be a non-negative gap, got {bound!r}; it is compared "
            "with the gap itself, whatever the sign of the fairness scorer."
        )
    if not isinstance(score, str):
        raise TypeError(f"score must be a scorer name (str), got {score!r}.")
    if constraint is not None and not isinstance(constraint, str):
        raise TypeError(
            f"constraint must be a scorer name (str) or None, got {constraint!r}."
        )
    return _ConstrainedRefit(score, constraint, bound)


def pareto_front(
    cv_results, score="accuracy", constraint=None, *, all_candidates=False
):
    """Return the candidates that no other candidate beats on score and gap.

    A candidate is on the front (non-dominated) when no other candidate has a
    score at least as high *and* a gap at least as small, with one of the two
    strictly better. Candidates with equal score and gap are all kept.
    Candidates with a NaN score or gap are never on the front.

    .. versionadded:: 0.1

    Parameters
    ----------
    cv_results : dict
        A search's ``cv_results_`` (or a dict with the same keys: ``params``
        and ``mean_test_<name>``, optionally ``std_test_<name>``).
    score : str, default="accuracy"
        Name of the score (higher is better) in the search's ``scoring``.
    constraint : str, default=None
        Name of the fairness gap's scorer; None uses the only other scorer.
        Its sign is undone as described in the module docstring.
    all_candidates : bool, default=False
        If False, return only the front's rows. If True, return every
        candidate with a boolean ``pareto`` column marking the front.

    Returns
    -------
    front : pandas.DataFrame
        One row per candidate, indexed by the candidate's position in
        ``cv_results`` (index name ``"candidate"``), sorted by ``gap``
        (ascending), then ``score`` (descending), then position. Columns:
        ``params`` (the parameter dict), one ``param_<name>`` column per
        searched parameter, ``score`` and ``gap`` (the mean test values, the
        gap as a non-negative number), ``std_score`` and ``std_gap`` when the
        results have them, and ``pareto`` when ``all_candidates=True``.
        ``front.attrs`` holds the ``score`` and ``constraint`` names.

    See Also
    --------
    constrained_refit : Pick one candidate under a gap bound.

    Examples
    --------
    >>> from sklfair.model_selection import pareto_front
    >>> cv_results = {
    ...     "params": [{"C": 0.1}, {"C": 1.0}, {"C": 10.0}, {"C": 100.0}],
    ...     "mean_test_accuracy": [0.70, 0.75, 0.80, 0.78],
    ...     "mean_test_dp_gap": [-0.02, -0.04, -0.12, -0.15],
    ... }
    >>> pareto_front(cv_results, "accuracy", "dp_gap")[["param_C", "score", "gap"]]
               param_C  score   gap
    candidate
    0              0.1   0.70  0.02
    1              1.0   0.75  0.04
    2             10.0   0.80  0.12
    """
    scores, gaps, constraint = _scores_and_gaps(cv_results, score, constraint)
    n_candidates = scores.shape[0]
    index = np.arange(n_candidates)
    valid = np.isfinite(scores) & np.isfinite(gaps)

    on_front = np.zeros(n_candidates, dtype=bool)
    # Sweep by increasing gap: a candidate is on the front when it has the best
    # score among the candidates with its gap, and beats every smaller gap.
    best_so_far = -np.inf
    candidates = index[valid]
    order = candidates[np.lexsort((-scores[valid], gaps[valid]))]
    start = 0
    while start < order.size:
        stop = start
        while stop < order.size and gaps[order[stop]] == gaps[order[start]]:
            stop += 1
        group = order[start:stop]
        group_best = scores[group].max()
        if group_best > best_so_far:
            on_front[group[scores[group] == group_best]] = True
            best_so_far = group_best
        start = stop

    params = cv_results.get("params")
    if params is None:
        params = [{} for _ in range(n_candidates)]
    frame = pd.DataFrame({"params": list(params)}, index=index)
    param_table = pd.DataFrame(list(params), index=index)
    for name in param_table.columns:
        frame[f"param_{name}"] = param_table[name]
    frame["score"] = scores
    frame["gap"] = gaps
    if f"std_test_{score}" in cv_results:
        frame["std_score"] = np.asarray(cv_results[f"std_test_{score}"], dtype=float)
    if f"std_test_{constraint}" in cv_results:
        frame["std_gap"] = np.asarray(cv_results[f"std_test_{constraint}"], dtype=float)
    if all_candidates:
        frame["pareto"] = on_front
    else:
        frame = frame[on_front]
    frame.index.name = "candidate"
    sort_order = np.lexsort(
        (frame.index.to_numpy(), -frame["score"].to_numpy(), frame["gap"].to_numpy())
    )
    frame = frame.iloc[sort_order]
    frame.attrs = {"score": score, "constraint": constraint}
    return frame
