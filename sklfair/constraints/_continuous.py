"""A constraint on the dependence of decisions on a continuous attribute.

:class:`Independence` bounds the normalised HSIC between a classifier's
decisions and a continuous sensitive attribute such as age in years, with no
bins (the definition lives in :mod:`sklfair._dependence` and is the one
:func:`sklfair.metrics.hsic_dependence` measures). It is demographic parity
for a continuous attribute: 0 exactly when the share of every class is the
same all along the attribute.

It is not a group-rate constraint: there are no groups to compare, so the
group-rate terms (:class:`~sklfair.constrained.LagrangianTerm`,
:class:`~sklfair.constrained.PenaltyTerm`) do not take it; the training loop
bounds it through :class:`~sklfair.constrained.DependenceTerm`, which
:class:`~sklfair.constrained.FairConstrainedClassifier` builds for
``method="lagrangian"`` and ``"penalty"``.

The attribute reaches the loop as integer codes of its distinct values in
increasing order (the codes the meta-estimators and the nets make of any
labels), which is all the measure needs: it depends on the attribute only
through its ranks.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from sklfair._dependence import DEFAULT_BANDWIDTH, kernel_dependence

from ._classification import _ClassificationConstraint, _onehot_np

__all__ = ["Independence"]


class Independence(_ClassificationConstraint):
    """Decisions independent of a continuous attribute: normalised HSIC <= bound.

    The dependence is the normalised Hilbert-Schmidt independence criterion
    (Gretton et al., 2005) between the one-hot decisions (linear kernel) and
    the attribute's weighted mid-ranks (Gaussian kernel of width
    ``bandwidth``), in [0, 1]; see :func:`sklfair.metrics.hsic_dependence`.
    It is zero exactly when every class's share of the decisions is flat
    along the attribute, whatever the shape of the dependence.

    In the training loop the decisions are replaced by their tempered
    softmax probabilities and the measure is taken on each batch (without
    the rows' pairing with themselves, which only adds a positive bias of
    order ``1 / batch_size``); the bound is about the decisions on the
    training rows, measured exactly at the end of every epoch.

    Use it with :class:`~sklfair.constrained.FairConstrainedClassifier`
    (``method="lagrangian"`` or ``"penalty"``, an sklfair net) and a
    numeric sensitive column, which is then kept unbinned.

    .. versionadded:: 0.2

    Parameters
    ----------
    bound : float in [0, 1] or None, default=None
        Largest allowed dependence; None leaves it to the meta-estimator's
        ``bound``.
    temperature : float, default=0.25
        Temperature of the softmax that stands for the decisions in the
        training loop.
    bandwidth : float, default=0.25
        Width of the Gaussian kernel on the attribute's ranks (in (0, 1)).

    See Also
    --------
    sklfair.metrics.hsic_dependence : The measure.
    sklfair.constrained.DependenceTerm : Its training-loop term.

    Examples
    --------
    >>> import numpy as np
    >>> from sklfair.constraints import Independence
    >>> age = np.repeat([20, 30, 40, 50], 25)
    >>> decisions = np.eye(2)[(age >= 40).astype(int)]  # one-hot
    >>> codes = np.unique(age, return_inverse=True)[1]
    >>> round(Independence(bound=0.05).max_gap(None, decisions, codes), 3)
    0.844
    """

    name = "independence"
    pairwise = False
    #: The attribute's values are kept: no bins, no groups (see _meta).
    continuous_attribute = True

    _parameter_constraints: dict = {
        **_ClassificationConstraint._parameter_constraints,
        "bandwidth": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(self, *, bound=None, temperature=0.25, bandwidth=DEFAULT_BANDWIDTH):
        super().__init__(bound=bound, temperature=temperature)
        self.bandwidth = bandwidth

    def event_names(self, n_outputs):
        return ["hsic"]

    def gap_names(self, n_groups, n_outputs, group_labels=None):
        """One "gap": the dependence itself."""
        return ["hsic"]

    # --- on fitted decisions (numpy) --------------------------------------
    def dependence(self, predictions, codes, sample_weight=None):
        """Normalised HSIC of decisions (one-hot rows, or probabilities) on
        the attribute's codes (its distinct values in increasing order)."""
        return kernel_dependence(
            _onehot_np(predictions), codes, sample_weight, bandwidth=self.bandwidth
        )

    def rates(self, y, predictions, groups, sample_weight=None, n_groups=None):
        """The dependence, in every level's cell.

        A dependence has no per-group rates; so that code written for rates
        (the fitted model's claim) reads the dependence as the largest
        "rate", the numerator holds it in every cell and the denominator 1.
        """
        codes = np.asarray(groups, dtype=np.int64)
        n_groups = int(codes.max()) + 1 if n_groups is None else n_groups
        value = self.dependence(predictions, codes, sample_weight)
        return np.full((1, n_groups), value), np.ones((1, n_groups))

    def gaps(self, y, predictions, groups, sample_weight=None):
        """The dependence, as an array of one "gap"."""
        return np.array([self.dependence(predictions, groups, sample_weight)])

    def max_gap(self, y, predictions, groups, sample_weight=None):
        return float(self.gaps(y, predictions, groups, sample_weight)[0])

    # --- in the training loop (torch) ---------------------------------------
    def _values(self, outputs, batch):
        raise TypeError(
            "Independence bounds a dependence on a continuous attribute, not "
            "group rates: it trains through sklfair.constrained.DependenceTerm "
            "(FairConstrainedClassifier with method='lagrangian' or 'penalty' "
            "builds it), not through the group-rate terms."
        )

    _decisions = _values

    def batch_dependence(
        self, outputs, ranks, weight, *, attribute=None, codes=None, table=None
    ):
        """Differentiable normalised HSIC of a batch's tempered probabilities.

        Parameters
        ----------
        outputs : Tensor of shape (B, n_classes)
            Logits.
        ranks : Tensor of shape (B,)
            The attribute's mid-rank of every row.
        weight : Tensor of shape (B,)
        attribute : float, default=None
            ``HSIC(A, A)``, the attribute's part of the normalisation, when it
            is known (e.g. from the whole training set); None: from the batch.
        codes, table : Tensor, default=None
            The rows' level codes and the ``(n_levels, n_levels)`` kernel
            between the levels: the kernel sums then run over the levels
            present instead of every pair of rows (cheaper when there are
            fewer levels than rows, e.g. age in years).

        Returns
        -------
        dependence : Tensor (scalar)
            Without the rows' pairing with themselves; may be slightly
            negative when the batch shows no dependence. Computed in float64,
            returned in the dtype of ``outputs``.
        """
        # float64: the sums then do not depend on the rows' order (as the
        # group-rate terms' sums, they make integer weights equal repeated rows)
        probabilities = self._softmax(outputs.double())
        weight = weight.detach().to(probabilities.dtype)
        share = weight / weight.sum().clamp_min(1e-12)
        kernel = None
        if table is None or attribute is None:
            ranks = ranks.detach().to(probabilities.dtype)
            kernel = torch.exp(
                -((ranks[:, None] - ranks[None, :]) ** 2) / (2.0 * self.bandwidth**2)
            )
        if attribute is None:
            row_mean = kernel @ share
            centred_kernel = kernel - row_mean[:, None] - row_mean[None, :]
            centred_kernel = centred_kernel + share @ row_mean
            attribute = share @ (centred_kernel**2) @ share
        if table is not None:
            kernel = (codes, table.to(probabilities.dtype))
        attribute = torch.as_tensor(attribute, dtype=probabilities.dtype)
        dependence = _BatchHSIC.apply(probabilities, share, kernel, attribute)
        return dependence.to(outputs.dtype)


def _apply_kernel(kernel, residual):
    """``L @ residual`` for the rows' kernel ``L``, given as a matrix or as
    ``(codes, table)`` (the kernel between levels and each row's level)."""
    if isinstance(kernel, tuple):
        codes, table = kernel
        levels = residual.new_zeros(table.shape[0], residual.shape[1])
        levels.index_add_(0, codes, residual)
        return (table @ levels)[codes]
    return kernel @ residual


class _BatchHSIC(torch.autograd.Function):
    """The batch's normalised HSIC, without the diagonal, with its gradient
    written out: one autograd node instead of a dozen small ones (the
    term's backward pass costs a fraction of the network's).

    With ``C`` the centred predictions, ``p`` the rows' shares, ``R = p C``,
    ``cross = <R, L R> - <R, R>``, ``S = C^T diag(p) C``, ``own = |S|^2`` and
    ``dep = cross / sqrt(own * attribute)``.
    """

    @staticmethod
    def forward(ctx, probabilities, share, kernel, attribute):
        centred = probabilities - share @ probabilities
        residual = centred * share[:, None]
        smoothed = _apply_kernel(kernel, residual)
        cross = (residual * smoothed).sum() - (residual**2).sum()
        moment = residual.T @ centred
        own = (moment**2).sum()
        scale = (own * attribute).clamp_min(1e-24).sqrt()
        ctx.save_for_backward(share, residual, smoothed, moment, cross, own, scale)
        return cross / scale

    @staticmethod
    def backward(ctx, grad):
        share, residual, smoothed, moment, cross, own, scale = ctx.saved_tensors
        grad_centred = (2.0 * (smoothed - residual) / scale) * share[:, None]
        grad_centred -= (2.0 * cross / (own.clamp_min(1e-300) * scale)) * (
            residual @ moment
        )
        grad_probabilities = grad_centred - share[:, None] * grad_centred.sum(0)
        return grad * grad_probabilities, None, None, None
