"""Each original column's contribution to a classifier's score, over shap.

:func:`feature_contributions` returns a :class:`shap.Explanation` whose
values are additive contributions to the log-odds of the adverse class, one
per *original* column of ``X``. Three shap explainers do the work:

- ``"deep"``: :class:`shap.DeepExplainer` (DeepLIFT rescale rule averaged
  over a background set) on the torch module of a fitted sklfair net, over
  the preprocessing's output columns. shap explains one row per call; rows
  are handed to it in blocks (a block is one "sample" whose output is the sum
  of its rows' log-odds), so one call covers hundreds of rows and gives each
  row exactly the attributions shap would give it alone;
- ``"linear"``: :class:`shap.LinearExplainer` for a binary
  :class:`~sklearn.linear_model.LogisticRegression` (exact: ``coef * (x -
  mean of the background)``), over the preprocessing's output columns;
- ``"tree"``: :class:`shap.TreeExplainer` for a tree model -- gradient
  boosting (scikit-learn's, XGBoost, LightGBM), random forests, decision
  trees -- over the preprocessing's output columns, path-dependent: exact
  Shapley values of the expected output given the known columns, over the
  training rows each branch of the trees saw, so the base value is the
  training rows' average and ``background`` is not used. (shap 0.51's
  interventional algorithm sends a value equal to a split threshold down
  the wrong branch of a scikit-learn histogram gradient boosting tree --
  and such values are common: the thresholds are data values -- so its
  contributions miss the model's output.) Boosting models add up
  log-odds, explained as they are; forests and trees average
  probabilities, whose contributions are carried to the log-odds by the
  rescale rule (each scaled by ``(logit f(x) - logit E f) / (f(x) - E
  f)``, as DeepLIFT carries them through a sigmoid), so that they still
  add up to the row's log-odds minus the base value ``logit E f``;
- ``"permutation"``: :class:`shap.PermutationExplainer` on the estimator's
  ``predict_proba`` over the original columns themselves (any classifier,
  any preprocessing; slower).

Model-specific explainers see the transformed columns; their attributions are
summed back onto the original columns through
:func:`sklfair._feature_origins.feature_origins`, so a one-hot-encoded category is one
contribution. An sklfair meta-estimator whose predictions are its inner
estimator's on ``X`` without the sensitive columns (reweighing, a
training-loop constraint, a student) is explained through that estimator;
the unwrapping is checked on the explained rows against the meta-estimator's
own ``predict_proba`` before it is used.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._feature_origins import feature_origins, input_names
from .._group_labels import plain_value
from .._sensitive import drop_sensitive_columns

__all__ = ["feature_contributions", "import_shap"]

METHODS = ("auto", "deep", "linear", "tree", "permutation")

# rows handed to shap's DeepExplainer per call (see the module docstring)
_DEEP_BLOCK = 256
# a contribution sum may differ from the explained log-odds by this much
# (float32 arithmetic of the net) before the explanation is refused
_ADDITIVITY_TOL = 1e-3
_PROBA_CLIP = 1e-12
# sklfair's layers that are linear in their input (see _deep)
_LINEAR_LAYERS = (": NonNegativeLinear",)


def import_shap():
    """Import shap (an optional dependency) with its import-time noise muted."""
    try:
        with warnings.catch_warnings():
            # shap 0.51 configures matplotlib colormaps in a way matplotlib
            # 3.11 deprecates, on import
            warnings.filterwarnings(
                "ignore",
                message="The set_(bad|over|under) function will be deprecated",
                category=PendingDeprecationWarning,
            )
            import shap
    except ImportError as exc:  # pragma: no cover - the test extra has shap
        raise ImportError(
            "sklfair.explain needs shap: pip install 'sklfair[explain]'."
        ) from exc
    return shap


class _Unexplainable(Exception):
    """The requested model-specific explainer does not apply; says why."""


def feature_contributions(
    estimator,
    X,
    *,
    adverse_class=None,
    background=None,
    n_background=100,
    method="auto",
    random_state=None,
):
    """Contribution of each original column to each row's adverse log-odds.

    For every row of ``X``, shap values of the log-odds of the adverse class
    (``log p / (1 - p)``), grouped by the columns of ``X``: the values of a
    row add up to its log-odds minus the base value, the average log-odds
    over ``background``. A positive value pushes the row toward the adverse
    class (toward a decline, when the adverse class is "default").

    .. versionadded:: 0.1

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        Any fitted binary classifier with ``predict_proba``: an sklfair net,
        a Pipeline ending in one, an sklfair meta-estimator, or any other
        model (explained by permutation).
    X : DataFrame or array-like of shape (n_samples, n_features)
        The rows to explain, as the estimator takes them.
    adverse_class : label, default=None
        The class whose log-odds are explained; ``None`` takes
        ``classes_[1]`` (with 0/1 labels, 1 -- for credit data coded
        1 = default, the bad outcome). For German credit coded 1 = good,
        pass ``adverse_class=0``.
    background : DataFrame or array-like, default=None
        Reference rows: contributions measure each row against them (the
        base value is their average log-odds). ``None`` draws
        ``n_background`` rows of ``X``; pass the training data, or the
        approved applicants, to explain declines against them. The tree
        explainer measures against the training rows instead (see the
        module description).
    n_background : int, default=100
        Rows kept from ``background`` (drawn at random when it has more).
    method : {"auto", "deep", "linear", "tree", "permutation"}, default="auto"
        The shap explainer (see the module description). ``"auto"`` takes
        ``"deep"`` for an sklfair net (possibly in a Pipeline or a
        meta-estimator), ``"linear"`` for a binary logistic regression,
        ``"tree"`` for a tree model (gradient boosting, random forest,
        decision tree), and ``"permutation"`` otherwise or when the former
        do not apply.
    random_state : int, RandomState instance or None, default=None
        Draws the background rows and the permutations.

    Returns
    -------
    explanation : shap.Explanation
        ``values`` of shape (n_samples, n_features) in the columns of ``X``
        (``feature_names``), ``base_values`` of shape (n_samples,), ``data``
        the rows of ``X`` (an object array); ``output_names`` names the
        explained output, e.g. ``"log-odds of class 'default'"``.

    Raises
    ------
    ValueError
        For an estimator that is not a fitted binary classifier with
        ``predict_proba``, an unknown ``adverse_class``, a background with
        other columns than ``X``, or a model-specific ``method`` that does
        not apply to the estimator (the message says why).

    See Also
    --------
    reason_codes : the columns that pushed each row toward the adverse class.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklfair.explain import feature_contributions
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] - X[:, 1] > 0).astype(int)
    >>> clf = LogisticRegression().fit(X, y)
    >>> expl = feature_contributions(clf, X[:5], background=X)
    >>> expl.values.shape
    (5, 3)
    >>> log_odds = clf.decision_function(X[:5])
    >>> bool(np.allclose(expl.values.sum(axis=1) + expl.base_values, log_odds))
    True
    """
    shap = import_shap()
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}.")
    check_is_fitted(estimator)
    if not is_classifier(estimator) or not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"{type(estimator).__name__} is not a classifier with predict_proba; "
            "feature_contributions explains the probability of a class."
        )
    classes = np.asarray(estimator.classes_)
    if len(classes) != 2:
        raise ValueError(
            f"feature_contributions explains binary classifiers; "
            f"{type(estimator).__name__} has {len(classes)} classes."
        )
    if adverse_class is None:
        adverse = 1
    else:
        matches = np.flatnonzero(classes == adverse_class)
        if not len(matches):
            raise ValueError(
                f"adverse_class={adverse_class!r} is not one of the classes "
                f"{classes.tolist()}."
            )
        adverse = int(matches[0])
    if sp.issparse(X):
        raise ValueError("feature_contributions takes dense X (e.g. a DataFrame).")
    rng = check_random_state(random_state)
    data = _Rows(X)
    background = data.background(background, n_background, rng)

    order = [method] if method != "auto" else _auto_order(estimator)
    for name in order:
        try:
            if name == "permutation":
                values, base = _permutation(
                    shap, estimator, data, background, adverse, rng
                )
            else:
                values, base = _model_specific(
                    shap, name, estimator, data, background, adverse
                )
        except _Unexplainable as exc:
            if method != "auto":
                raise ValueError(f"method={method!r} does not apply: {exc}") from exc
            continue
        return shap.Explanation(
            values=values,
            base_values=np.full(data.n_rows, base),
            data=data.objects(),
            feature_names=list(data.names),
            output_names=f"log-odds of class {plain_value(classes[adverse])!r}",
        )
    raise AssertionError("permutation always applies")  # pragma: no cover


class _Rows:
    """Rows to explain in the caller's container (DataFrame or array)."""

    def __init__(self, X):
        if isinstance(X, pd.DataFrame):
            self.X = X
        else:
            X = np.asarray(X)
            if X.ndim != 2:
                raise ValueError(f"X must be 2-D; got shape {X.shape}.")
            self.X = X
        self.names = input_names(self.X)
        self.n_rows = self.X.shape[0]

    @property
    def is_frame(self):
        return isinstance(self.X, pd.DataFrame)

    def frame(self, rows=None):
        rows = self.X if rows is None else rows
        if isinstance(rows, pd.DataFrame):
            return rows
        return pd.DataFrame(rows, columns=self.names)

    def like_input(self, frame):
        """A frame of these columns, in the container the estimator takes."""
        if self.is_frame:
            return frame.set_axis(self.X.columns, axis=1)
        return frame.to_numpy(dtype=self.X.dtype)

    def head(self, rows, n):
        return rows.iloc[:n] if isinstance(rows, pd.DataFrame) else rows[:n]

    def objects(self):
        return self.frame().to_numpy(dtype=object)

    def background(self, background, n_background, rng):
        if background is None:
            background = self.X
        elif self.is_frame:
            if not isinstance(background, pd.DataFrame) or list(
                background.columns
            ) != list(self.X.columns):
                raise ValueError(
                    "background must be a DataFrame with the columns of X, in "
                    f"the same order ({list(self.X.columns)[:8]}...)."
                )
        else:
            background = np.asarray(background)
            if background.ndim != 2 or background.shape[1] != self.X.shape[1]:
                raise ValueError(
                    f"background must have X's {self.X.shape[1]} columns; got "
                    f"shape {background.shape}."
                )
        n = background.shape[0]
        if n == 0:
            raise ValueError("background has no rows.")
        if n > n_background:
            keep = np.sort(rng.choice(n, n_background, replace=False))
            background = (
                background.iloc[keep]
                if isinstance(background, pd.DataFrame)
                else background[keep]
            )
        return background

    def kept_positions(self, drop):
        """Positions of the columns that ``drop`` keeps."""
        if drop is None:
            return np.arange(len(self.names))
        if self.is_frame:
            kept = drop(self.X.iloc[:0]).columns
            lookup = {c: i for i, c in enumerate(self.X.columns)}
            return np.asarray([lookup[c] for c in kept], dtype=int)
        return np.asarray(drop(np.arange(len(self.names))[None, :])[0], dtype=int)


def _auto_order(estimator):
    final = _split_pipeline(_unwrap(estimator)[0])[1]
    from ..nets._base import BaseTabularNet

    if isinstance(final, BaseTabularNet):
        return ["deep", "permutation"]
    if isinstance(final, (LogisticRegression, LogisticRegressionCV)):
        return ["linear", "permutation"]
    if _is_tree_model(final):
        return ["tree", "permutation"]
    return ["permutation"]


# tree models of other libraries shap's TreeExplainer reads, by module
_TREE_LIBRARIES = ("xgboost", "lightgbm", "catboost")


def _is_tree_model(model):
    """Whether ``model`` is a tree model shap's TreeExplainer reads."""
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.tree import DecisionTreeClassifier

    sklearn_trees = (
        DecisionTreeClassifier,
        RandomForestClassifier,
        ExtraTreesClassifier,
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
    )
    module = type(model).__module__.split(".")[0]
    return isinstance(model, sklearn_trees) or module in _TREE_LIBRARIES


def _unwrap(estimator):
    """The model that scores ``X`` after the sensitive columns are dropped.

    Returns ``(model, drop)`` where ``drop`` maps ``X`` to the model's input
    (None: ``X`` as it is): an sklfair meta-estimator is replaced by its
    fitted inner estimator.
    """
    inner = None
    if hasattr(estimator, "sensitive_columns"):
        for attr in ("estimator_", "student_"):
            candidate = getattr(estimator, attr, None)
            if candidate is not None and hasattr(candidate, "predict_proba"):
                inner = candidate
                break
    if inner is None:
        return estimator, None
    columns = estimator.sensitive_columns
    if columns is None or not getattr(estimator, "drop_sensitive", False):
        return inner, None
    return inner, lambda X: drop_sensitive_columns(X, columns)


def _split_pipeline(model):
    if isinstance(model, Pipeline):
        pre = model[:-1] if len(model.steps) > 1 else None
        return pre, model[-1]
    return None, model


def _model_specific(shap, name, estimator, data, background, adverse):
    from ..nets._base import BaseTabularNet

    model, drop = _unwrap(estimator)
    pre, final = _split_pipeline(model)
    if name == "deep" and not isinstance(final, BaseTabularNet):
        raise _Unexplainable(
            f"{type(final).__name__} is not an sklfair net (the deep explainer "
            "runs on the net's torch module)."
        )
    if name == "linear" and not isinstance(
        final, (LogisticRegression, LogisticRegressionCV)
    ):
        raise _Unexplainable(f"{type(final).__name__} is not a LogisticRegression.")
    if name == "tree" and not _is_tree_model(final):
        raise _Unexplainable(
            f"{type(final).__name__} is not a tree model shap's TreeExplainer reads "
            "(gradient boosting, random forest, decision tree)."
        )
    if not np.array_equal(np.asarray(final.classes_), np.asarray(estimator.classes_)):
        raise _Unexplainable("the inner estimator's classes differ.")

    model_X = data.X if drop is None else drop(data.X)
    model_bg = background if drop is None else drop(background)
    # the unwrapped model must score the rows exactly as the estimator does
    n_check = min(data.n_rows, 256)
    if not np.allclose(
        estimator.predict_proba(data.head(data.X, n_check))[:, adverse],
        model.predict_proba(data.head(model_X, n_check))[:, adverse],
        rtol=1e-9,
        atol=1e-12,
    ):
        raise _Unexplainable(
            f"{type(estimator).__name__}'s probabilities are not its inner "
            "model's (e.g. a randomized or post-processed decision rule)."
        )

    # the final step's input, as it takes it (names kept), and as numbers
    Z_in = model_X if pre is None else pre.transform(model_X)
    Z_bg_in = model_bg if pre is None else pre.transform(model_bg)
    if name == "deep":
        values, base, log_odds = _deep(
            shap, final, _dense(Z_in), _dense(Z_bg_in), adverse
        )
    elif name == "tree":
        values, base, log_odds = _tree(shap, final, Z_in, adverse)
    else:
        values, base, log_odds = _linear(shap, final, Z_in, Z_bg_in, adverse)
    error = np.abs(values.sum(axis=1) + base - log_odds)
    if error.size and error.max() > _ADDITIVITY_TOL * (1 + np.abs(log_odds).max()):
        raise _Unexplainable(
            f"the {name} explainer's contributions miss the model's log-odds "
            f"by up to {error.max():.3g} (a layer it does not know?)."
        )

    # transformed columns -> the model's input columns -> the columns of X
    kept = data.kept_positions(drop)
    if pre is not None:
        _, origins = feature_origins(pre, data.names[kept])
    else:
        origins = np.arange(values.shape[1])
    if (origins < 0).any():
        raise _Unexplainable(
            "some transformed columns come from several original columns "
            "(e.g. PolynomialFeatures, PCA), so their attributions cannot be "
            "given to one column."
        )
    out = np.zeros((data.n_rows, len(data.names)))
    np.add.at(out.T, kept[origins], values.T)  # sums a category's columns
    return out, base


def _dense(Z):
    if sp.issparse(Z):
        Z = Z.toarray()
    return np.asarray(Z, dtype=np.float64)


def _deep(shap, net, Z, Z_bg, adverse):
    """DeepExplainer on the net's module, a block of rows per shap call."""
    import torch

    module = copy.deepcopy(net.net_.module_).cpu().float().eval()
    n_bg, n_features = Z_bg.shape
    block = min(_DEEP_BLOCK, max(len(Z), 1))
    bg = torch.as_tensor(Z_bg, dtype=torch.float32)
    bg_blocks = bg[:, None, :].expand(n_bg, block, n_features).contiguous()
    n_blocks = -(-len(Z) // block)
    padded = np.zeros((n_blocks * block, n_features), dtype=np.float32)
    padded[: len(Z)] = Z
    X_blocks = torch.as_tensor(padded).reshape(n_blocks, block, n_features)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        explainer = shap.DeepExplainer(_block_log_odds(module, adverse), bg_blocks)
        values = explainer.shap_values(X_blocks, check_additivity=False)
    # shap leaves a layer it does not know with its plain gradient: right
    # for a layer linear in its input (sklfair's NonNegativeLinear), wrong
    # for a non-linear one
    unknown = [
        str(w.message)
        for w in caught
        if "unrecognized nn.Module" in str(w.message)
        and not str(w.message).endswith(_LINEAR_LAYERS)
    ]
    if unknown:
        raise _Unexplainable(
            f"shap's DeepExplainer does not know a layer of this net ({unknown[0]})."
        )
    for w in caught:  # pass anything else on
        if "unrecognized nn.Module" not in str(w.message):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    values = np.asarray(values).reshape(n_blocks * block, n_features)[: len(Z)]
    with torch.no_grad():
        log_odds = _log_odds(module(torch.as_tensor(Z, dtype=torch.float32)), adverse)
        base = float(_log_odds(module(bg), adverse).double().mean())
    return values.astype(np.float64), base, log_odds.double().numpy()


def _log_odds(logits, adverse):
    return logits[:, adverse] - logits[:, 1 - adverse]


def _block_log_odds(module, adverse):
    """A module mapping blocks of rows to the sum of their adverse log-odds.

    shap explains one sample per call; a block of ``B`` rows as one sample
    (shape ``(B, n_features)``), against background blocks that repeat one
    background row ``B`` times, gives each row of the block the attributions
    shap would give that row alone: the rows do not interact and a sum is
    linear.
    """
    import torch

    class BlockLogOdds(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = module

        def forward(self, X):
            n_blocks, block, n_features = X.shape
            logits = self.module(X.reshape(n_blocks * block, n_features))
            log_odds = _log_odds(logits, adverse)
            return log_odds.reshape(n_blocks, block).sum(dim=1, keepdim=True)

    return BlockLogOdds()


def _linear(shap, model, Z_in, Z_bg_in, adverse):
    """LinearExplainer (exact) on a binary logistic regression."""
    Z_bg = _dense(Z_bg_in)
    masker = shap.maskers.Independent(Z_bg, max_samples=len(Z_bg))
    explainer = shap.LinearExplainer(model, masker)
    values = np.asarray(explainer.shap_values(_dense(Z_in)), dtype=np.float64)
    # decision_function is the log-odds of classes_[1]
    sign = -1.0 if adverse == 0 else 1.0
    base = sign * float(np.mean(model.decision_function(Z_bg_in)))
    return sign * values, base, sign * model.decision_function(Z_in)


def _logit(proba):
    proba = np.clip(np.asarray(proba, dtype=np.float64), _PROBA_CLIP, 1 - _PROBA_CLIP)
    return np.log(proba) - np.log1p(-proba)


def _tree(shap, model, Z_in, adverse):
    """TreeExplainer (path-dependent, exact) on a tree model.

    A model adding up log-odds (boosting) is explained as it is; a model
    averaging probabilities (forests, trees) has its probability
    contributions carried to the log-odds by the rescale rule.
    """
    categorical = getattr(model, "is_categorical_", None)
    if categorical is not None and np.any(categorical):
        raise _Unexplainable(
            f"{type(model).__name__} splits categories natively, which shap's "
            "TreeExplainer does not read (one-hot encode them instead)."
        )
    try:
        explainer = shap.TreeExplainer(
            model, feature_perturbation="tree_path_dependent", model_output="raw"
        )
    except Exception as exc:  # shap's InvalidModelError and others
        raise _Unexplainable(
            f"shap's TreeExplainer cannot read {type(model).__name__} ({exc})."
        ) from exc
    values = np.asarray(
        explainer.shap_values(_dense(Z_in), check_additivity=False), dtype=np.float64
    )
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    proba = model.predict_proba(Z_in)[:, adverse]
    log_odds = _logit(proba)
    if explainer.model.tree_output == "probability":
        if values.ndim != 3:
            raise _Unexplainable("the tree model's contributions are not per class.")
        values, mean = values[..., adverse], float(expected[adverse])
        base = float(_logit(mean))
        moved = proba - mean
        steep = np.abs(moved) > 1e-12
        # the slope of the logit between the mean and the row's probability;
        # its derivative where they meet
        slope = np.where(
            steep,
            (log_odds - base) / np.where(steep, moved, 1.0),
            1.0 / np.clip(mean * (1 - mean), _PROBA_CLIP, None),
        )
        return values * slope[:, None], base, log_odds
    if values.ndim == 3:  # one log-odds output per class: take the adverse one
        values, expected = values[..., adverse], expected[[adverse]]
        return values, float(expected[0]), log_odds
    # one output: the log-odds of classes_[1]
    sign = -1.0 if adverse == 0 else 1.0
    return sign * values, sign * float(expected[0]), log_odds


def _permutation(shap, estimator, data, background, adverse, rng):
    """PermutationExplainer over the original columns, categories as codes."""
    frame, bg_frame = data.frame(), data.frame(background)
    codes, decode = _encoder(frame, bg_frame)

    def log_odds(Z):
        proba = estimator.predict_proba(data.like_input(decode(Z)))[:, adverse]
        proba = np.clip(proba, _PROBA_CLIP, 1 - _PROBA_CLIP)
        return np.log(proba) - np.log1p(-proba)

    bg_codes = codes(bg_frame)
    masker = shap.maskers.Independent(bg_codes, max_samples=len(bg_codes))
    explainer = shap.PermutationExplainer(
        log_odds, masker, seed=int(rng.randint(2**31 - 1))
    )
    n_features = frame.shape[1]
    result = explainer(
        codes(frame), max_evals=max(500, 2 * n_features + 1), silent=True
    )
    return np.asarray(result.values, dtype=np.float64), float(
        np.mean(log_odds(bg_codes))
    )


def _encoder(frame, background):
    """Numbers for every column (shap's maskers take numbers), and back."""
    categories = {}
    for column in frame.columns:
        dtype = frame[column].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(
            dtype
        ):
            values = pd.concat([frame[column], background[column]], ignore_index=True)
            categories[column] = pd.Index(pd.unique(values.dropna()))

    def codes(data):
        out = np.empty(data.shape, dtype=np.float64)
        for j, column in enumerate(data.columns):
            if column in categories:
                index = categories[column].get_indexer(data[column])
                out[:, j] = np.where(index < 0, np.nan, index)
            else:
                out[:, j] = data[column].to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def decode(Z):
        columns = {}
        for j, column in enumerate(frame.columns):
            if column in categories:
                index = np.nan_to_num(Z[:, j], nan=-1).astype(int)
                values = categories[column].take(index, allow_fill=True)
            else:
                values = Z[:, j]
            columns[column] = pd.Series(values).astype(frame[column].dtype)
        return pd.DataFrame(columns)

    return codes, decode
