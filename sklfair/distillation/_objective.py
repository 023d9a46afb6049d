"""The distillation objective as loss terms of the one training loop.

:class:`SoftTargetLoss` (classification) and :class:`TeacherMSELoss`
(regression) are :class:`~sklfair.nets.LossTerm` objects: the nets' training
loop hands them the batch's soft targets (the teacher's outputs) and they
return the blended loss; :func:`teacher_log_scores` and
:func:`tempered_softmax` turn a teacher's scores into soft targets.
"""

from __future__ import annotations

import numpy as np
import torch

from sklfair.nets import LossTerm

__all__ = ["SoftTargetLoss", "TeacherMSELoss", "tempered_softmax", "teacher_log_scores"]


class SoftTargetLoss(LossTerm):
    """``alpha * CE(hard labels) + (1 - alpha) * T^2 * KL(teacher || student)``.

    The loop hands in the weighted hard-label cross-entropy as ``loss``; the
    KL divergence between the teacher's tempered probabilities
    (``batch["soft_targets"]``) and the student's tempered softmax
    ``softmax(logits / T)`` is weighted by ``batch["sample_weight"]`` the same
    way. The ``T^2`` factor keeps the soft term's gradients on the scale of the
    hard term's whatever the temperature (Hinton et al., 2015).

    Records the epoch's weighted mean KL as ``"distill_kl"`` in the history.
    """

    requires = ("soft_targets",)

    def __init__(self, alpha, temperature):
        self.alpha = float(alpha)
        self.temperature = float(temperature)

    def setup(self, net, data):
        self._sum = torch.zeros((), device=net.device)
        self._count = 0

    def __call__(self, loss, outputs, batch):
        target = batch["soft_targets"]
        log_student = torch.log_softmax(outputs / self.temperature, dim=1)
        # xlogy(0, 0) = 0: classes the teacher rules out cost nothing.
        kl = (torch.xlogy(target, target) - target * log_student).sum(dim=1)
        kl = (batch["sample_weight"] * kl).mean()
        self._sum = self._sum + kl.detach() * len(target)
        self._count += len(target)
        return self.alpha * loss + (1.0 - self.alpha) * self.temperature**2 * kl

    def epoch_summary(self):
        value = float(self._sum.item()) / max(self._count, 1)
        self._sum = torch.zeros_like(self._sum)
        self._count = 0
        return {"distill_kl": value}


class TeacherMSELoss(LossTerm):
    """``alpha * MSE(true targets) + (1 - alpha) * MSE(teacher predictions)``.

    Both in the regressor's standardised target space (the loop standardises
    ``y`` and ``soft_targets`` alike). Records ``"distill_mse"``.
    """

    requires = ("soft_targets",)

    def __init__(self, alpha):
        self.alpha = float(alpha)

    def setup(self, net, data):
        self._sum = torch.zeros((), device=net.device)
        self._count = 0

    def __call__(self, loss, outputs, batch):
        target = batch["soft_targets"].reshape(outputs.shape)
        mse = ((outputs - target) ** 2).mean(dim=1)
        mse = (batch["sample_weight"] * mse).mean()
        self._sum = self._sum + mse.detach() * len(target)
        self._count += len(target)
        return self.alpha * loss + (1.0 - self.alpha) * mse

    def epoch_summary(self):
        value = float(self._sum.item()) / max(self._count, 1)
        self._sum = torch.zeros_like(self._sum)
        self._count = 0
        return {"distill_mse": value}


def tempered_softmax(logits, temperature):
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def teacher_log_scores(teacher, X):
    """Teacher log-probabilities (or logits), shape (n, n_classes), float64."""
    if hasattr(teacher, "predict_proba"):
        proba = np.asarray(teacher.predict_proba(X), dtype=np.float64)
        if proba.ndim != 2:
            raise ValueError(
                "The teacher's predict_proba must return an array of shape "
                f"(n_samples, n_classes); got shape {proba.shape}."
            )
        with np.errstate(divide="ignore"):  # log(0) = -inf: stays 0 when tempered
            return np.log(proba)
    scores = np.asarray(teacher.decision_function(X), dtype=np.float64)
    if scores.ndim == 1:  # binary: the score of the positive class
        scores = np.column_stack([np.zeros_like(scores), scores])
    return scores
