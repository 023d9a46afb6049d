"""The DP-SGD specification a net is given as ``privacy=``, and its ledger.

:class:`DPSGD` is a small parameter object (``get_params``/``set_params``, so
``privacy__target_epsilon`` is searchable in ``GridSearchCV``): the privacy
budget and the clipping norm. It holds no data.

:class:`PrivacyLedger` is what a net keeps while it trains privately: the
noise multiplier calibrated by opacus's accountant to reach the budget over
the planned steps, and the accountant that records every noisy step, so the
spent epsilon is known after early stopping, and further training
(``partial_fit``, a warm start) is refused before it would overspend. It
knows nothing of the nets: the training loop calls :meth:`PrivacyLedger.plan`
and attaches :meth:`PrivacyLedger.step_hook` to opacus's optimizer.

opacus is imported when a private fit starts, not when this module is.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import warnings

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions

from ..exceptions import PrivacyBudgetError, PrivacyWarning

__all__ = ["DPSGD", "PrivacyLedger", "import_opacus"]

# The RDP accountant warns when the best order sits at the end of its grid of
# orders: the epsilon it returns is then a valid but looser upper bound, and a
# user of sklfair has no grid to widen. Silenced around our own calls only.
_OPACUS_ORDER_WARNING = "Optimal order is the"


def import_opacus():
    """Import opacus, or say which extra installs it."""
    try:
        import opacus
    except ImportError as exc:  # pragma: no cover - the test extra has it
        raise ImportError(
            "Private training (privacy=DPSGD(...)) needs opacus: "
            "pip install 'sklfair[privacy]' (or pip install opacus)."
        ) from exc
    return opacus


class DPSGD(BaseEstimator):
    """Differentially private training (DP-SGD) for an sklfair net.

    Given as ``privacy=`` to :class:`~sklfair.nets.TabularNetClassifier` or
    :class:`~sklfair.nets.TabularNetRegressor`, it makes the net train with
    DP-SGD through opacus (Abadi et al., 2016): each step draws a Poisson
    sample of the rows, clips every row's gradient to ``max_grad_norm``,
    adds Gaussian noise and steps. The noise is calibrated by opacus's
    accountant so that the whole fit (``max_epochs`` epochs of
    ``ceil(n / batch_size)`` steps) spends at most ``target_epsilon``; the
    fitted net reports what it spent as ``epsilon_`` and ``delta_``. Read the
    user guide (:ref:`privacy`) for what the guarantee covers.

    Parameters
    ----------
    target_epsilon : float, default=3.0
        The privacy budget epsilon for everything the net is trained on from
        its first fit on. Smaller is more private and noisier.
    target_delta : float or None, default=None
        The budget's delta. ``None`` uses ``1 / n`` (``n``: the training rows
        of the first fit). That is a common default but a weak one: a
        mechanism that publishes one random row in full satisfies
        ``delta = 1 / n``. For a release, pass ``target_delta`` well below
        ``1 / n`` (e.g. ``1e-5`` or ``0.1 / n``); the noise grows only
        slowly as delta shrinks.
    max_grad_norm : float, default=1.0
        The clipping norm: every row's gradient (of its weighted loss) is
        scaled down to at most this L2 norm before the noise is added. The
        noise's standard deviation is ``noise_multiplier * max_grad_norm``.
    accountant : {"rdp", "prv"}, default="rdp"
        opacus's privacy accountant. ``"rdp"`` (Renyi DP, opacus's
        ``get_noise_multiplier`` default) is fast and conservative;
        ``"prv"`` (privacy random variables, the default of opacus's
        ``PrivacyEngine``) is tighter, so less noise for the same budget,
        and slower to calibrate.
    accept_weights : bool, default=False
        Whether a private ``fit`` accepts unequal ``sample_weight``.
        ``False``: it raises, because weights computed from the whole data set
        (class balancing, reweighing from group x label counts) let every row
        move every other row's weight, which per-row clipping does not bound.
        Equal weights are an unweighted fit either way. ``True`` states that each row's
        weight depends on that row alone, or on statistics released under
        their own budget (see :func:`noisy_fair_sample_weight`). Weights must
        then lie in ``[0, 1]``: a row of weight ``w`` joins each batch with
        probability ``w`` times the sample rate, and its clipped gradient
        counts whole, so each step is, in expectation, the weighted mean of
        the clipped gradients. Weights inside the loss would not survive the
        clipping (a clipped gradient has the same norm whatever its weight),
        and no row joins more often than the rate the accountant counts, so
        the guarantee holds for every row. Rows of zero weight are dropped.

    See Also
    --------
    membership_inference : measure how much a fitted model leaks.

    Notes
    -----
    The noise comes from torch's generator, seeded from the net's
    ``random_state``: reproducible, but not a cryptographically secure
    source (opacus's ``secure_mode``); draw a fresh seed for a release.

    .. versionadded:: 0.2

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklfair.nets import TabularNetClassifier
    >>> from sklfair.privacy import DPSGD
    >>> X, y = make_classification(n_samples=1000, random_state=0)
    >>> clf = TabularNetClassifier(
    ...     privacy=DPSGD(target_epsilon=3.0), max_epochs=5, random_state=0
    ... ).fit(X, y)
    >>> clf.epsilon_ <= 3.0, clf.delta_
    (True, 0.001)
    >>> clf.get_params()["privacy__target_epsilon"]
    3.0
    """

    _parameter_constraints: dict = {
        "target_epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "target_delta": [None, Interval(numbers.Real, 0, 1, closed="neither")],
        "max_grad_norm": [Interval(numbers.Real, 0, None, closed="neither")],
        "accountant": [StrOptions({"rdp", "prv"})],
        "accept_weights": ["boolean"],
    }

    def __init__(
        self,
        target_epsilon=3.0,
        *,
        target_delta=None,
        max_grad_norm=1.0,
        accountant="rdp",
        accept_weights=False,
    ):
        self.target_epsilon = target_epsilon
        self.target_delta = target_delta
        self.max_grad_norm = max_grad_norm
        self.accountant = accountant
        self.accept_weights = accept_weights

    def check(self):
        """Validate the parameters (a net calls this when a fit starts).

        Raises
        ------
        ValueError
            For a parameter out of range, including an infinite
            ``target_epsilon`` (use ``privacy=None`` for a non-private fit).
        """
        if isinstance(self.target_epsilon, numbers.Real) and math.isinf(
            self.target_epsilon
        ):
            raise ValueError(
                "DPSGD(target_epsilon=inf) promises nothing; use privacy=None "
                "for a fit without differential privacy."
            )
        self._validate_params()
        return self


class PrivacyLedger:
    """The budget of one private network, from its first fit on.

    Parameters
    ----------
    spec : DPSGD
        The specification of the first fit.
    n_rows : int
        Training rows of the first fit (the default delta is ``1 / n_rows``).
    batch_size : int or None
        Expected rows per step (``None``: every row, i.e. sample rate 1).
    epochs : int
        Epochs the budget is planned for (``max_epochs``).

    Attributes
    ----------
    noise_multiplier : float
        Noise standard deviation over the clipping norm, the same for every
        step the network ever takes (``inf`` until a fit plans a step: a
        first fit with ``max_epochs=0`` leaves it to the next one).
    delta : float
    target_epsilon : float
    accountant : opacus.accountants.IAccountant
        Records every noisy step taken.
    """

    def __init__(self, spec, n_rows, batch_size, epochs):
        import_opacus()
        from opacus.accountants import create_accountant

        self.mechanism = spec.accountant
        self.target_epsilon = float(spec.target_epsilon)
        self.delta = (
            1.0 / n_rows if spec.target_delta is None else float(spec.target_delta)
        )
        if n_rows and self.delta > 1.0 / n_rows:
            warnings.warn(
                f"DPSGD(target_delta={self.delta:g}) is above 1 / n = "
                f"{1.0 / n_rows:.3g} for the {n_rows} training rows: a mechanism "
                "that publishes a random row in full already satisfies "
                "delta = 1 / n, so this guarantee says less than that. Pass "
                "target_delta well below 1 / n (e.g. 1e-5 or 0.1 / n).",
                PrivacyWarning,
                stacklevel=7,
            )
        self.accountant = create_accountant(mechanism=self.mechanism)
        sample_rate, steps = self.sampling(n_rows, batch_size)
        # no step planned (max_epochs=0): the noise is calibrated by the first
        # training that takes steps (see plan)
        self.noise_multiplier = math.inf
        if epochs * steps:
            self._calibrate(sample_rate, steps, epochs)

    def _calibrate(self, sample_rate, steps, epochs):
        """Set the noise that spends ``target_epsilon`` over ``epochs`` epochs."""
        try:
            self.noise_multiplier = _noise_multiplier(
                self.target_epsilon,
                self.delta,
                sample_rate,
                epochs * steps,
                self.mechanism,
            )
        except ValueError as exc:
            if "budget is too low" not in str(exc):
                raise
            tighter = '; accountant="prv" is tighter' if self.mechanism == "rdp" else ""
            raise ValueError(
                f"No noise is enough for target_epsilon={self.target_epsilon:g} at "
                f"delta={self.delta:.3g} over {epochs * steps} steps ({epochs} "
                f"epoch(s) at sample rate {sample_rate:.3g}): opacus's "
                f'"{self.mechanism}" accountant cannot certify so small an '
                "epsilon. Raise target_epsilon or target_delta, or train fewer "
                f"epochs (max_epochs){tighter}."
            ) from exc

    @staticmethod
    def sampling(n_rows, batch_size):
        """Poisson sample rate and steps per epoch, as opacus's ``DPDataLoader``.

        An epoch is ``ceil(n_rows / batch_size)`` steps at sample rate
        ``1 / ceil(n_rows / batch_size)``: every row is expected once per
        epoch, in batches of ``n_rows * sample_rate`` rows on average.
        """
        if n_rows == 0:
            return 1.0, 0
        steps = 1 if batch_size is None else math.ceil(n_rows / batch_size)
        return 1.0 / steps, steps

    @property
    def epsilon(self):
        """The epsilon spent so far (at :attr:`delta`)."""
        if not self.accountant.history:
            return 0.0
        with _quiet_orders():
            return float(self.accountant.get_epsilon(delta=self.delta))

    def plan(self, n_rows, batch_size, epochs):
        """Check that ``epochs`` more epochs fit in the budget; return the rate.

        A ledger that planned no step yet (a first fit with ``max_epochs=0``)
        calibrates its noise for these epochs instead.

        Raises
        ------
        PrivacyBudgetError
            When the epsilon after those epochs (composed with what was
            spent) would exceed ``target_epsilon``.
        """
        sample_rate, steps = self.sampling(n_rows, batch_size)
        if epochs * steps == 0:
            return sample_rate
        if math.isinf(self.noise_multiplier):
            # the first fit planned no step (max_epochs=0) and spent nothing:
            # the noise is calibrated for this first training that steps
            self._calibrate(sample_rate, steps, epochs)
            return sample_rate
        if not self.accountant.history:
            # the first fit: the noise was calibrated for exactly this plan
            return sample_rate
        projected = copy.deepcopy(self.accountant)
        projected.history.append((self.noise_multiplier, sample_rate, epochs * steps))
        with _quiet_orders():
            after = float(projected.get_epsilon(delta=self.delta))
        if after > self.target_epsilon:
            spent = self.epsilon
            raise PrivacyBudgetError(
                f"Training {epochs} more epoch(s) would spend epsilon "
                f"{after:.3g} in all (delta={self.delta:.3g}), beyond "
                f"target_epsilon={self.target_epsilon:g}; {spent:.3g} is spent "
                "already. The network's budget covers everything it was "
                "trained on since its first fit: refit from scratch "
                "(warm_start=False) for a new model under a new budget."
            )
        return sample_rate

    def step_hook(self, sample_rate):
        """A ``DPOptimizer`` step hook recording each noisy step."""
        return self.accountant.get_optimizer_hook_fn(sample_rate=sample_rate)


@functools.lru_cache(maxsize=256)
def _noise_multiplier(target_epsilon, delta, sample_rate, steps, mechanism):
    """opacus's calibration, remembered: the folds of a cross-validation and
    the points of a grid search often ask for the same one, and it takes
    seconds when the sample rate is large (small data, big batches)."""
    from opacus.accountants.utils import get_noise_multiplier

    with _quiet_orders():
        return float(
            get_noise_multiplier(
                target_epsilon=target_epsilon,
                target_delta=delta,
                sample_rate=sample_rate,
                steps=steps,
                accountant=mechanism,
            )
        )


class _quiet_orders(warnings.catch_warnings):
    """Silence opacus's RDP "optimal order is at the end of the grid" warning."""

    def __enter__(self):
        result = super().__enter__()
        warnings.filterwarnings(
            "ignore", message=_OPACUS_ORDER_WARNING, category=UserWarning
        )
        return result
