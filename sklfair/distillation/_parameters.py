"""Counting the learned parameters of teachers and students alike."""

from __future__ import annotations

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from sklfair._fitting import final_estimator

__all__ = ["count_parameters"]


def count_parameters(estimator):
    """Number of learned parameters of a fitted model, or None when unknown.

    What is counted, for the final step of a Pipeline (preprocessing steps are
    not counted) and through :class:`~sklearn.frozen.FrozenEstimator`:

    - sklfair nets (anything with ``net_.module_``): torch parameters;
    - tree models: nodes (``tree_.node_count``), summed over the trees of a
      forest or boosting ensemble; for
      :class:`~sklearn.ensemble.HistGradientBoostingClassifier` the nodes of
      every predictor tree;
    - linear models: ``coef_`` and ``intercept_`` entries; MLPs: weights and
      biases;
    - meta-estimators with a fitted ``estimator_``, ``student_`` or
      ``estimators_``: the sum over those.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.distillation import count_parameters
    >>> count_parameters(LogisticRegression().fit([[0, 1], [1, 0]], [0, 1]))
    3
    """
    est = estimator
    while True:
        if isinstance(est, FrozenEstimator):
            est = est.estimator
        elif isinstance(est, Pipeline):
            est = final_estimator(est)
        else:
            break
    net = getattr(est, "net_", None)
    if net is not None and hasattr(net, "module_"):
        return int(sum(p.numel() for p in net.module_.parameters()))
    if hasattr(est, "_predictors"):  # HistGradientBoosting*
        return int(sum(len(p.nodes) for it in est._predictors for p in it))
    tree = getattr(est, "tree_", None)
    if tree is not None and hasattr(tree, "node_count"):
        return int(tree.node_count)
    if hasattr(est, "coefs_") and hasattr(est, "intercepts_"):  # MLP*
        return int(
            sum(np.size(c) for c in est.coefs_)
            + sum(np.size(b) for b in est.intercepts_)
        )
    if hasattr(est, "coef_"):
        return int(np.size(est.coef_) + np.size(getattr(est, "intercept_", 0)))
    children = getattr(est, "estimators_", None)
    if children is not None:
        counts = [
            count_parameters(child)
            for child in np.asarray(children, dtype=object).ravel()
        ]
        if counts and all(c is not None for c in counts):
            return int(sum(counts))
    for name in ("student_", "estimator_"):
        child = getattr(est, name, None)
        if child is not None and child is not est:
            return count_parameters(child)
    return None
