"""The regression constraints: group means and group losses."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import FairnessConstraint

__all__ = ["GroupMeanParity", "GroupLossParity", "BoundedGroupLoss"]


class _RegressionConstraint(FairnessConstraint):
    """A regression constraint; ``bound`` is in the units of ``y`` (squared
    for the losses)."""

    task = "regression"
    _parameter_constraints: dict = {
        "bound": [Interval(numbers.Real, 0, None, closed="left"), None],
    }

    @staticmethod
    def _as_2d(array):
        array = np.asarray(array, dtype=np.float64)
        return array.reshape(len(array), -1)


class GroupMeanParity(_RegressionConstraint):
    """Regression: the mean prediction differs by at most ``bound`` between groups.

    The regression analogue of demographic parity, one rate per output.

    Parameters
    ----------
    bound : float >= 0 or None, default=None
        Largest allowed difference of group means, in the units of ``y``;
        None leaves it to the meta-estimator's ``bound``.
    """

    name = "group_mean_parity"

    def event_names(self, n_outputs):
        if n_outputs == 1:
            return ["mean_prediction"]
        return [f"mean_prediction[{j}]" for j in range(n_outputs)]

    def _values(self, outputs, batch):
        return outputs, outputs.detach(), None

    def _array_values(self, y, predictions):
        values = self._as_2d(predictions)
        return values, np.ones_like(values)


class GroupLossParity(_RegressionConstraint):
    """Regression: group mean squared errors differ by at most ``bound``.

    Parameters
    ----------
    bound : float >= 0 or None, default=None
        Largest allowed difference of group mean squared errors, in squared
        units of ``y``; None leaves it to the meta-estimator's ``bound``.
    """

    name = "group_loss_parity"

    def event_names(self, n_outputs):
        return ["mean_squared_error"]

    def _values(self, outputs, batch):
        loss = batch["sample_loss"][:, None]
        return loss, loss.detach(), None

    def _array_values(self, y, predictions):
        loss = ((self._as_2d(y) - self._as_2d(predictions)) ** 2).mean(axis=1)
        return loss[:, None], np.ones((len(loss), 1))


class BoundedGroupLoss(GroupLossParity):
    """Regression: every group's mean squared error is at most ``bound``.

    Not a gap: the bound is on the level of each group's loss (fairlearn's
    :class:`~fairlearn.reductions.BoundedGroupLoss`).

    Parameters
    ----------
    bound : float >= 0 or None, default=None
        Largest allowed group mean squared error, in squared units of ``y``;
        None leaves it to the meta-estimator's ``bound``.
    """

    name = "bounded_group_loss"
    pairwise = False
