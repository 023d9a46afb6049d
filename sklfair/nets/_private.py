"""The one training loop's private mode: DP-SGD steps through opacus.

:class:`PrivateTraining` is what the loop holds during a fit with
``privacy=DPSGD(...)``. For the length of the fit it wraps the net's module
in opacus's ``GradSampleModule`` (per-sample gradients) and its optimizer in
opacus's ``DPOptimizer`` (per-sample clipping, Gaussian noise, the
accountant's step hook), and it draws the Poisson-sampled batches DP-SGD's
accounting assumes: at every step each row joins the batch independently
with probability ``sample_rate`` (times its weight, at most 1, when the fit
has sample weights). The rows are drawn as an index tensor from
the loop's own generator, the way the plain loop draws its permutation
(opacus's ``UniformWithReplacementSampler`` does the same draw but returns
Python lists for a ``DataLoader``). Nothing of clipping or noise is written
here: opacus does both.
"""

from __future__ import annotations

import numpy as np
import torch

from ..exceptions import PrivacyGuaranteeError
from ..privacy._dpsgd import import_opacus

__all__ = ["PrivateTraining"]


class PrivateTraining:
    """DP-SGD for one fit of the training loop.

    Parameters
    ----------
    ledger : sklfair.privacy._dpsgd.PrivacyLedger
        The network's budget: noise multiplier and accountant.
    max_grad_norm : float
        Per-sample clipping norm.
    batch_size : int or None
        Expected rows per step (None: all).
    noise_seed : int
        Seeds the generator of the Gaussian noise.
    weights : ndarray of shape (n_rows,)
        Weights in ``(0, 1]`` of the training rows: row ``i`` joins each
        batch with probability ``weights[i] * sample_rate``. Its clipped
        gradient then counts whole, so the expected step is the
        ``weights``-weighted mean of the clipped gradients: the weights act
        after clipping, which weights inside the loss would not (clipping
        erases a weight as soon as a gradient is clipped). No row joins more
        often than at ``sample_rate``, the rate the accountant counts, so the
        guarantee holds for every row; rows of weight below 1 fare better.
    """

    def __init__(self, ledger, max_grad_norm, batch_size, noise_seed, weights):
        n_rows = len(weights)
        self.ledger = ledger
        self.max_grad_norm = float(max_grad_norm)
        self.sample_rate, self.steps_per_epoch = ledger.sampling(n_rows, batch_size)
        self.rates = None
        if not np.all(weights == 1):
            self.rates = torch.as_tensor(weights * self.sample_rate)
        self.expected_batch_size = self.sample_rate * float(np.sum(weights))
        self.noise_seed = noise_seed
        self.module = None
        self.optimizer = None

    @staticmethod
    def check_module(module):
        """Raise when a layer makes per-sample gradients meaningless.

        Batch normalisation mixes the rows of a batch (each row's output
        depends on the others), so clipping one row's gradient no longer
        bounds its influence; opacus's validator lists such layers.
        """
        import_opacus()
        from opacus.validators import ModuleValidator

        was_training = module.training
        module.train()
        errors = ModuleValidator.validate(module, strict=False)
        module.train(was_training)
        if errors:
            details = "; ".join(str(e) for e in errors)
            raise PrivacyGuaranteeError(
                "The network has layers DP-SGD cannot train privately: "
                f"{details}. Use batch_norm=False (or GroupNorm/LayerNorm in "
                "a custom module)."
            )

    def attach(self, module, optimizer, device):
        """Wrap ``module`` and ``optimizer`` for the length of the fit."""
        import_opacus()
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer

        self.module = GradSampleModule(module, batch_first=True, loss_reduction="mean")
        generator = torch.Generator(device=device).manual_seed(self.noise_seed)
        self.optimizer = DPOptimizer(
            optimizer,
            noise_multiplier=self.ledger.noise_multiplier,
            max_grad_norm=self.max_grad_norm,
            expected_batch_size=self.expected_batch_size,
            loss_reduction="mean",
            generator=generator,
        )
        self.optimizer.attach_step_hook(self.ledger.step_hook(self.sample_rate))
        return self.module

    def detach(self):
        """Remove opacus's hooks and per-sample attributes from the module."""
        if self.module is not None:
            self.module.to_standard_module()
        self.module = None
        self.optimizer = None

    def sample(self, n_rows, generator):
        """One Poisson batch: each row in with its own probability."""
        if self.rates is None and self.sample_rate >= 1.0:
            return torch.arange(n_rows)
        rates = self.sample_rate if self.rates is None else self.rates
        mask = torch.rand(n_rows, generator=generator, dtype=torch.float64) < rates
        return mask.nonzero().squeeze(1)

    def noise_step(self):
        """The step of an empty batch: no gradient, only noise (as opacus does).

        Every parameter gets an empty per-sample gradient; ``DPOptimizer``
        then clips nothing, adds the noise, steps and records the step.
        """
        self.optimizer.zero_grad(set_to_none=True)
        for p in self.optimizer.params:
            p.grad_sample = p.new_zeros((0, *p.shape))
        self.optimizer.step()
