"""``TabularNetRegressor``: a skorch-trained network as an sklearn regressor."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ._base import BaseTabularNet
from ._numerics import check_float32_range, weighted_location_scale

__all__ = ["TabularNetRegressor"]


def _squared_error(outputs, y):
    return ((outputs - y) ** 2).mean(dim=1)


# the mean over the batch (and the outputs) in one operation (the training
# loop's equal-weight path)
_squared_error.mean = torch.nn.functional.mse_loss


class TabularNetRegressor(RegressorMixin, BaseTabularNet):
    """Neural network regressor for tabular data, trained with skorch.

    The same network and training loop as :class:`TabularNetClassifier`, with a
    weighted squared-error loss. Targets are standardised inside (weighted mean
    and standard deviation of each output) and predictions are mapped back, so
    the default learning rate suits targets of any finite scale. 1-D and 2-D targets
    are supported.

    Parameters
    ----------
    hidden_units, activation, dropout, batch_norm, module, module_params, \
monotonic_cst, optimizer, lr, weight_decay, privacy, batch_size, max_epochs, \
early_stopping, validation_fraction, n_iter_no_change, callbacks, warm_start, \
device, random_state, verbose
        As in :class:`TabularNetClassifier`; ``monotonic_cst`` constrains
        every predicted output. A private fit (``privacy``) does not
        standardise the targets: their mean and standard deviation would be
        exact statistics of the training rows, outside the guarantee. Scale
        ``y`` with constants known without looking at the data.

    Attributes
    ----------
    n_outputs_ : int
        Number of regression targets.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the input columns, when X was a DataFrame with string names.
    net_ : skorch.NeuralNet
        The trained skorch net.
    history_ : pandas.DataFrame
        Per-epoch training log, one row per epoch (skorch's own History is
        ``net_.history``).
    n_iter_ : int
        Number of epochs trained.
    device_ : str
        Device the network was trained on.
    epsilon_, delta_, noise_multiplier_ : float
        With ``privacy``: as in :class:`TabularNetClassifier`.

    See Also
    --------
    TabularNetClassifier : the same network for classification.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklfair.nets import TabularNetRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    >>> reg = TabularNetRegressor(max_epochs=100, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.score(X, y) > 0.9
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
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (exact weighted mean loss).
        sensitive_features : array-like of shape (n_samples,), default=None
            Group label per row, used by ``loss_terms``.
        soft_targets : array-like of shape (n_samples,) or (n_samples, \
n_outputs), default=None
            Teacher predictions on the target scale, used by ``loss_terms``
            (distillation); standardised like ``y``.
        loss_terms : list of :class:`~sklfair.nets.LossTerm`, default=None
            Extra loss terms applied on every batch (they see standardised
            outputs and targets).

        Returns
        -------
        self : TabularNetRegressor
        """
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            sensitive_features=sensitive_features,
            soft_targets=soft_targets,
            loss_terms=loss_terms,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``X, y``, continuing from the current network.

        Each call makes one shuffled pass over its rows and keeps the
        optimizer state. The first call fixes the target standardisation and
        the weight scale; ``early_stopping`` is ignored.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Numeric training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative per-row weights.

        Returns
        -------
        self : TabularNetRegressor
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_chunks(self, chunks):
        """Train on data larger than memory, one chunk at a time.

        Makes ``max_epochs`` passes over the chunks, shuffling rows within
        each chunk. The first chunk fixes the feature names, the target
        standardisation (an affine rescaling undone at prediction, so it need
        not be exact) and the weight scale. ``early_stopping``, sensitive
        features and loss terms are not available here.

        Parameters
        ----------
        chunks : iterable, callable or :class:`~sklfair.nets.ParquetChunks`
            Chunks as ``(X, y)`` or ``(X, y, sample_weight)`` tuples or dicts
            with keys ``"X"``, ``"y"`` (and ``"sample_weight"``): a list, a
            callable returning a fresh iterator per pass, or a
            :class:`~sklfair.nets.ParquetChunks`. A generator is read once,
            so it needs ``max_epochs=1``.

        Returns
        -------
        self : TabularNetRegressor
        """
        return self._fit_chunks(chunks)

    def _y_check_params(self):
        return {"multi_output": True, "y_numeric": True}

    def _encode_target(self, y, reset, classes=None):
        y = np.asarray(y, dtype=np.float64)
        if reset or not hasattr(self, "n_outputs_"):
            self._y_ndim = y.ndim
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        y = y.reshape(len(y), -1)
        if y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} outputs but the model was fitted with "
                f"{self.n_outputs_}."
            )
        return y

    def _prepare_targets(self, columns, sample_weight, reset, private=False):
        if reset or not hasattr(self, "_y_mean"):
            y = columns["y"]
            if private:  # the targets' mean and scale would leak, unprotected
                self._y_mean = np.zeros(y.shape[1])
                self._y_scale = np.ones(y.shape[1])
                return
            self._y_mean, self._y_scale = weighted_location_scale(y, sample_weight)

    def _n_outputs(self):
        return self.n_outputs_

    def _monotone_binary(self):
        return False

    def _sample_loss(self):
        return _squared_error

    def _target_tensor(self, y, device, what="y"):
        with np.errstate(over="ignore"):
            z = (y - self._y_mean) / self._y_scale
        check_float32_range(z, f"{what} (as the network trains on it)")
        return torch.as_tensor(z, dtype=torch.float32, device=device)

    def _check_soft_targets(self, soft_targets, n_samples):
        soft = np.asarray(soft_targets, dtype=np.float64).reshape(n_samples, -1)
        if soft.shape[1] != self.n_outputs_:
            raise ValueError(
                f"soft_targets must have {self.n_outputs_} output(s); got "
                f"{soft.shape[1]}."
            )
        if not np.all(np.isfinite(soft)):
            raise ValueError("soft_targets must be finite.")
        return soft

    def _soft_target_tensor(self, soft, device):
        return self._target_tensor(soft, device, what="soft_targets")

    def output_scaling(self):
        """How the network's raw outputs become predictions.

        The network is trained on standardised targets; :meth:`predict`
        maps its outputs back. Exporters (:mod:`sklfair.deploy`) fold this
        affine map into the network's last layer.

        Returns
        -------
        scale, offset : ndarray of shape (n_outputs_,)
            ``predict`` returns ``outputs * scale + offset``.
        ravel : bool
            Whether ``predict`` returns a 1-D array (``y`` was 1-D at fit).
        """
        check_is_fitted(self, "net_")
        return (
            np.array(self._y_scale, dtype=np.float64).reshape(-1),
            np.array(self._y_mean, dtype=np.float64).reshape(-1),
            self._y_ndim == 1,
        )

    def predict(self, X):
        """Predicted targets, float64.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out = self._raw_outputs(X) * self._y_scale + self._y_mean
        return out.ravel() if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
