"""``TabularNetClassifier``: a skorch-trained network as an sklearn classifier."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets

from ._base import BaseTabularNet
from ._data import small_int_dtype

__all__ = ["TabularNetClassifier"]

# Labels coded at a time by np.searchsorted (its int64 result stays small).
_CODE_SLAB = 2**16


def class_positions(classes, y):
    """The position of every label of ``y`` in the sorted ``classes``.

    In the smallest integer dtype that holds them, coded slab by slab (no
    int64 array of every row); labels that already are their positions
    (integer classes ``0 .. k - 1``) are only cast, not copied when they
    already have that dtype. Every label must be one of ``classes``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.nets._classifier import class_positions
    >>> class_positions(np.array(["a", "b"]), np.array(["b", "a", "b"]))
    array([1, 0, 1], dtype=int8)
    """
    dtype = small_int_dtype(len(classes))
    if (
        y.dtype.kind in "iu"
        and classes.dtype.kind in "iu"
        and np.array_equal(classes, np.arange(len(classes)))
    ):
        return y.astype(dtype, copy=False)
    codes = np.empty(len(y), dtype=dtype)
    for start in range(0, len(y), _CODE_SLAB):
        stop = start + _CODE_SLAB
        codes[start:stop] = np.searchsorted(classes, y[start:stop])
    return codes


def _cross_entropy(outputs, y):
    return torch.nn.functional.cross_entropy(outputs, y, reduction="none")


# the mean over the batch in one operation (the training loop's equal-weight path)
_cross_entropy.mean = torch.nn.functional.cross_entropy

_nll_loss_forward = torch.ops.aten.nll_loss_forward.default
_nll_loss_backward = torch.ops.aten.nll_loss_backward.default
_log_softmax_backward = torch.ops.aten._log_softmax_backward_data.default


def _cross_entropy_mean_and_grad(outputs, y):
    """The mean cross-entropy of ``outputs`` and its gradient with respect to
    them, by the operations (and in the order) autograd runs for
    ``cross_entropy(outputs, y)``: the same numbers, without its graph."""
    log_p = torch.log_softmax(outputs, 1)
    loss, total_weight = _nll_loss_forward(log_p, y, None, 1, -100)
    grad = _nll_loss_backward(
        torch.ones_like(loss), log_p, y, None, 1, -100, total_weight
    )
    return loss, _log_softmax_backward(grad, log_p, 1, log_p.dtype)


def cross_entropy_reduced_and_grad(outputs, y, reduce):
    """A reduction of the rows' cross-entropies and its gradient with
    respect to ``outputs``, by the operations (and in the order) autograd
    runs: ``reduce(sample_loss)`` returns the loss and its gradient with
    respect to ``sample_loss``, as the reduction's backward gives it."""
    log_p = torch.log_softmax(outputs, 1)
    sample_loss, total_weight = _nll_loss_forward(log_p, y, None, 0, -100)
    loss, upstream = reduce(sample_loss)
    grad = _nll_loss_backward(upstream, log_p, y, None, 0, -100, total_weight)
    return loss, _log_softmax_backward(grad, log_p, 1, log_p.dtype)


def _cross_entropy_weighted_mean_and_grad(outputs, y, weight):
    """The weighted mean cross-entropy ``mean(weight * cross_entropy(outputs,
    y, reduction="none"))`` and its gradient with respect to ``outputs``, by
    the operations (and in the order) autograd runs for that expression."""

    def weighted_mean(sample_loss):
        # mean's backward (ones / n, in float32), then the product's (times
        # the weights): w * (1 / n) is the same float32 numbers in one
        # operation
        upstream = weight * (1.0 / sample_loss.shape[0])
        return (weight * sample_loss).mean(), upstream

    return cross_entropy_reduced_and_grad(outputs, y, weighted_mean)


_cross_entropy.mean_and_grad = _cross_entropy_mean_and_grad
_cross_entropy.weighted_mean_and_grad = _cross_entropy_weighted_mean_and_grad


class TabularNetClassifier(ClassifierMixin, BaseTabularNet):
    """Neural network classifier for tabular data, trained with skorch.

    A multi-layer perceptron (or the user's own ``torch.nn.Module``) trained
    with a weighted cross-entropy loss through sklfair's single training loop:
    the data live as tensors on the device and are sliced by index per batch.
    Inputs are cast to float32 for training; predictions are computed in
    float64, so they do not depend on how rows are batched.

    Parameters
    ----------
    hidden_units : tuple of int, default=(64, 64)
        Width of each hidden layer of the default MLP.
    activation : {"relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid"} \
            or nn.Module class, default="relu"
        Hidden-layer activation.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    batch_norm : bool, default=False
        Whether to add ``BatchNorm1d`` after each hidden linear layer.
    module : nn.Module class or callable, default=None
        A custom module, called as ``module(n_features=..., n_outputs=...,
        **module_params)`` and returning logits. ``None`` uses the MLP above.
    module_params : dict, default=None
        Extra keyword arguments for ``module``.
    monotonic_cst : array-like of int of shape (n_features,) or dict, \
            default=None
        Monotone constraints, in scikit-learn's convention (as in
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`): ``1``
        the probability of ``classes_[1]`` increases with the column,
        ``-1`` it decreases, ``0`` no constraint; a list with one entry per
        column of ``X``, or a dict from column name (``feature_names_in_``)
        to constraint. The constraints hold by construction (non-negative
        weights on every path from a constrained column; see
        :ref:`monotone_nets`), for any trained weights and whatever the
        training loss, including fairness terms. Binary classification
        only; needs ``module=None``, ``batch_norm=False`` and a non-decreasing
        ``activation``. In a Pipeline the net sees the transformed columns:
        name them after ``set_output(transform="pandas")``, or map
        constraints on original columns with
        :func:`~sklfair.nets.monotonic_cst_for`.
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
            default="adam"
        Optimizer; fused kernels are used where torch has them.
    lr : float, default=1e-3
        Learning rate. A fit whose training loss ends orders of magnitude
        above its loss before the first step (a learning rate too large)
        warns with :class:`~sklearn.exceptions.ConvergenceWarning`; one whose
        loss becomes NaN or infinite stops with
        :class:`~sklfair.nets.NonFiniteLossError`.
    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.
    privacy : :class:`~sklfair.privacy.DPSGD` or None, default=None
        Train with differential privacy (DP-SGD through opacus): Poisson
        batches of expected size ``batch_size``, every row's gradient clipped
        and Gaussian noise calibrated so that ``max_epochs`` epochs spend at
        most ``privacy.target_epsilon``. ``partial_fit`` and warm-started
        fits spend from the same budget and are refused before they would
        exceed it. A private fit refuses what the guarantee cannot cover
        (fairness loss terms, unequal weights not declared per row, batch
        normalisation, ``fit_chunks``); its history has no ``train_loss``.
        See :ref:`privacy`.
    batch_size : int or None, default=256
        Rows per optimizer step (``None``: the whole training set).
    max_epochs : int, default=20
        Passes over the training data.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified) and stop when
        the validation loss has not improved for ``n_iter_no_change`` epochs,
        restoring the best parameters.
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping.
    n_iter_no_change : int, default=5
        Patience of early stopping, in epochs.
    callbacks : list of (name, skorch.callbacks.Callback), default=None
        Extra skorch callbacks (e.g. ``LRScheduler``, ``Checkpoint``).
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit``.
    device : str, default="auto"
        ``"auto"`` picks CUDA when available; ``"cpu"``, ``"cuda"``,
        ``"cuda:1"``... A CUDA request on a machine without CUDA falls back to
        the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split; two fits with the same seed give identical predictions on CPU.
    verbose : int, default=0
        Print skorch's per-epoch log when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the input columns, when X was a DataFrame with string names.
    net_ : skorch.NeuralNet
        The trained skorch net (``net_.module_`` is the torch module).
    history_ : pandas.DataFrame
        Per-epoch training log, one row per epoch (``history_["train_loss"]``;
        skorch's own History is ``net_.history``).
    n_iter_ : int
        Number of epochs trained.
    device_ : str
        Device the network was trained on.
    epsilon_ : float
        With ``privacy``: the epsilon spent by every fit since the last one
        from scratch (below ``target_epsilon`` after early stopping).
    delta_ : float
        With ``privacy``: the delta of ``epsilon_``.
    noise_multiplier_ : float
        With ``privacy``: the noise's standard deviation over
        ``max_grad_norm``.

    See Also
    --------
    TabularNetRegressor : the same network for regression.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklfair.nets import TabularNetClassifier
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = TabularNetClassifier(max_epochs=30, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).dtype
    dtype('float64')
    >>> clf.score(X, y) > 0.9
    True
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        sensitive_features=None,
        soft_targets=None,
        loss_terms=None,
    ):
        """Train the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Numeric training data (any numeric dtype; cast to float32).
        y : array-like of shape (n_samples,)
            Class labels (strings, ints, bools).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; the loss is their exact weighted mean, so an
            integer weight ``k`` equals repeating the row ``k`` times and zero
            weights drop rows.
        sensitive_features : array-like of shape (n_samples,), default=None
            Group label per row, used by ``loss_terms`` (fairness constraints).
        soft_targets : array-like of shape (n_samples, n_classes), default=None
            Target probabilities in ``classes_`` order, used by ``loss_terms``
            (distillation).
        loss_terms : list of :class:`~sklfair.nets.LossTerm`, default=None
            Extra loss terms applied on every batch.

        Returns
        -------
        self : TabularNetClassifier
        """
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            sensitive_features=sensitive_features,
            soft_targets=soft_targets,
            loss_terms=loss_terms,
        )

    def _encode_target(self, y, reset, classes=None):
        check_classification_targets(y)
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(
                f"{type(self).__name__} supports a 1-D target only; got shape "
                f"{y.shape}."
            )
        from_y = False
        if reset or not hasattr(self, "classes_"):
            from_y = classes is None
            if classes is not None:
                check_classification_targets(np.asarray(classes))
                classes_ = np.unique(classes)
            else:
                classes_ = LabelEncoder().fit(y).classes_
            if len(classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes in y; got 1 "
                    f"class: {classes_[0]!r}."
                )
            self.classes_ = classes_
        elif classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(classes)!r} is not the same as the classes "
                f"the model was fitted with, {self.classes_!r}."
            )
        if not from_y:  # else every label of y is in classes_ by construction
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            if len(unknown):
                raise ValueError(f"y contains labels not seen before: {unknown!r}.")
        return class_positions(self.classes_, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``X, y``, continuing from the current network.

        For data that arrive in pieces (streams, files too large for memory):
        each call makes one shuffled pass over the rows it is given and keeps
        the optimizer state between calls. ``early_stopping`` is ignored (as
        in sklearn's ``MLPClassifier.partial_fit``); weights are scaled by the
        mean weight of the first call so that calls weigh rows alike.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Numeric training rows.
        y : array-like of shape (n_samples,)
            Class labels, all in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every class the model will see. Required on the first call (when
            the model is not fitted yet); later calls may omit it.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative per-row weights.

        Returns
        -------
        self : TabularNetClassifier
        """
        if not hasattr(self, "net_") and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: one "
                "call may not show every class, e.g. classes=np.unique(y_all)."
            )
        return self._fit(
            X, y, sample_weight=sample_weight, incremental=True, classes=classes
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks, *, classes=None):
        """Train on data larger than memory, one chunk at a time.

        Makes ``max_epochs`` passes over the chunks; within each chunk the
        rows are shuffled and batched as in :meth:`fit`. Only one chunk and
        the network are in memory at a time. The first chunk fixes the
        feature names and the weight scale. ``early_stopping`` is not
        available (there is no held-out set); sensitive features and loss
        terms need the whole data set in memory and are not supported here.

        Parameters
        ----------
        chunks : iterable, callable or :class:`~sklfair.nets.ParquetChunks`
            Chunks as ``(X, y)`` or ``(X, y, sample_weight)`` tuples or dicts
            with keys ``"X"``, ``"y"`` (and ``"sample_weight"``): a list, a
            callable returning a fresh iterator per pass, or a
            :class:`~sklfair.nets.ParquetChunks`. A generator is read once,
            so it needs ``max_epochs=1``.
        classes : array-like of shape (n_classes,)
            Every class label in the data (required: no single chunk is
            guaranteed to show them all).

        Returns
        -------
        self : TabularNetClassifier
        """
        if classes is None:
            raise ValueError(
                "fit_chunks needs classes=...: it sees one chunk at a time, so "
                "it cannot know every label in advance."
            )
        return self._fit_chunks(chunks, classes=classes)

    def _n_outputs(self):
        return len(self.classes_)

    def _monotone_binary(self):
        if len(self.classes_) > 2:
            raise ValueError(
                f"{type(self).__name__}: monotonic_cst is not supported for "
                f"multiclass classification (got {len(self.classes_)} classes), "
                "as in HistGradientBoostingClassifier: a class probability of a "
                "softmax over several scores cannot be kept monotone."
            )
        return True

    def _sample_loss(self):
        return _cross_entropy

    def _stratify(self, y_enc):
        return y_enc

    def _target_tensor(self, y, device):
        # the smallest integer dtype: the batches widen it to int64
        dtype = small_int_dtype(len(self.classes_))
        return torch.as_tensor(np.asarray(y).astype(dtype, copy=False), device=device)

    def _check_soft_targets(self, soft_targets, n_samples):
        soft = np.asarray(soft_targets, dtype=np.float64)
        expected = (n_samples, len(self.classes_))
        if soft.shape != expected:
            raise ValueError(
                f"soft_targets must have shape {expected} (rows, classes in "
                f"classes_ order); got {soft.shape}."
            )
        if not np.all(np.isfinite(soft)) or soft.min() < 0:
            raise ValueError("soft_targets must be finite, non-negative probabilities.")
        return soft

    def _soft_target_tensor(self, soft, device):
        return torch.as_tensor(soft, dtype=torch.float32, device=device)

    def predict_proba(self, X):
        """Class probabilities, float64, rows summing to 1.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        logits = self._raw_outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X):
        """Most probable class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        logits = self._raw_outputs(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags
