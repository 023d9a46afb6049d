"""Constrained training by Lagrange multipliers: :class:`LagrangianTerm`."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import torch

from sklfair.constraints._rates import TINY, group_sums

from ._binary_step import lagrangian_step
from ._feasibility import gap_floors
from ._gap_term import SQUARES, GapTerm, nanmax

__all__ = ["LagrangianTerm"]


class LagrangianTerm(GapTerm):
    """Constrained training: one Lagrange multiplier per gap, updated by dual ascent.

    The term added to the batch loss is an augmented Lagrangian of the
    constraints ``gap_k <= bound``, linearised at the running gaps::

        sum_k (lambda_k + rho * max(0, h_k - bound)) * (s_k - bound)

    where ``s_k`` are the batch's surrogate gaps (gaps of groups absent from
    the batch are left out) and ``h_k`` the *hard* gaps of the decisions,
    taken from a moving average of the per-group sums over recent batches so
    that small groups are estimated from enough rows. At every batch, once
    its term is computed, the batch's decisions join that average and the
    multipliers take a projected ascent step on the running gaps (the next
    batch reads them)::

        lambda_k <- clip(lambda_k + dual_lr / n_batches * (h_k - bound), 0, max)

    The quadratic penalty's slope is taken at the running gap ``h_k``, not at
    the batch's ``s_k``: a batch holds a few rows of a small group (often
    one), so its batch gaps are mostly noise, and the gradient of
    ``max(0, s_k - bound) ** 2`` would reward making every batch's rates
    alike -- predicting one class with confidence for everybody -- rather
    than making the groups' rates alike.

    A multiplier grows as long as its gap exceeds the bound and shrinks back
    towards zero once it is met, so the bound is met rather than traded off
    against accuracy (the proxy-Lagrangian of Cotter, Jiang & Sridharan, 2019:
    the network follows the smooth gaps, the multipliers the real ones).

    Gradient descent-ascent oscillates around the boundary, so the last
    network need not meet the bound even when most did. With
    ``select_best=True`` the network is evaluated on the training rows at the
    end of every epoch (see the base class) and, when training ends, the
    parameters of the epoch with the lowest loss among those that met the
    target (below), else among those that met the bound, else of the
    smallest violation, are restored.

    **Meeting the bound on new data.** A gap measured on a sample is an
    estimate: on new rows the same network's gap differs by the sampling
    noise of both samples, so a network aimed exactly at ``bound`` exceeds it
    on new data about half the time. Two remedies, which combine:

    - ``confidence`` > 0.5 aims the multipliers and the restore at
      ``bound - margin_``, with ``margin_ = z * se`` per gap: ``z`` the
      normal quantile of ``confidence`` (1.645 for 0.95) and ``se`` the
      standard error of the gap on the rows that drive the multipliers
      (:meth:`FairnessConstraint.gap_standard_errors`, recomputed from the
      decisions at the end of every epoch). If those rows were a fresh
      sample, a gap estimated at most ``bound - margin_`` would mean a gap at
      most ``bound`` in the population with probability ``confidence``. A
      gap whose margin would exceed half the bound is aimed at the bound
      itself (margin 0), and a pair of groups too small to tell a gap of
      ``bound`` from zero at all is aimed at the smallest gap it can
      resolve (``floors_``: the half-width of Newcombe's interval of a zero
      difference, as the certificates compute it): no target could make the
      claim true there, and chasing one only pushes the model towards
      predicting one class for everybody.
    - ``validation_fraction`` > 0 holds out that share of the training rows,
      stratified by group and label, from the network's loss: the
      multipliers and the restore use the decisions on those rows only
      (the two-dataset scheme of Cotter et al., 2019, "Training
      well-generalizing classifiers for fairness metrics and other
      data-dependent constraints"). This removes the optimism of a gap
      measured on the rows the network fits -- large with small data, large
      networks or long training -- at the price of fewer rows to fit and a
      noisier gap estimate. The restore then picks the lowest loss *on the
      held-out rows*. The rows are kept out by setting their weight to 0 in
      the loop's training tensors during :meth:`setup` (the other weights
      are scaled to keep a mean of 1); the first batch checks that the loop
      honoured it.

    **Several constraints.** With a list of constraints (each carrying its
    bound) every gap of every constraint gets its own multiplier and its own
    target, and the restore asks all of them to be met at once.

    **Where the arithmetic runs.** Per step, the batch is reduced on the
    training device to a few sums per (event, group) cell, which are copied
    to the host in one transfer (:meth:`GapTerm._batch_sums`); the
    multipliers, the margin and the dual step live there, as float64 CPU
    tensors, and are updated in numpy: they are arrays of a handful of
    numbers, for which eager torch's per-operation overhead would dominate.
    On a GPU the copy makes every step wait for its forward pass (one
    synchronisation per step). On a CPU, for one built-in constraint of a
    binary classifier and with numba installed, the batch's sums, the dual
    step and the term's gradient run as one compiled call, with the same
    numbers (:mod:`~sklfair.constrained._binary_step`).

    For a :class:`~sklfair.nets.TabularNetRegressor`, which standardises
    its target inside, gaps and ``bound`` are in units of the target's
    standard deviation (squared for the losses);
    :class:`~sklfair.constrained.FairConstrainedRegressor` converts.

    Parameters
    ----------
    constraint : str, FairnessConstraint or list of them
        What to bound; a list bounds several constraints together.
    bound : float or None, default=None
        Largest allowed gap of a constraint given by name (or of an object
        whose ``bound`` is None); None: the object's own bound, else 0.02.
    dual_lr : float, default=5.0
        Step size of the multipliers, per epoch: each batch moves them by
        ``dual_lr / n_batches`` times the violation. In a chunked fit
        (``fit_chunks``), per chunk: ``n_batches`` counts the batches of a
        chunk, and the network is evaluated after each chunk as at an
        epoch's end (margin renewed, best parameters kept).
    rho : float, default=1.0
        Weight of the quadratic penalty of the augmented Lagrangian (0: plain
        Lagrangian): the multipliers are raised by ``rho`` times the running
        gaps' excess over the target.
    smoothing : float in [0, 1) or "auto", default="auto"
        Decay of the moving average of the per-group sums used by the dual
        step. ``"auto"`` averages over enough batches for the smallest
        (event, group) cell to hold about 200 rows (and at most one epoch).
    max_multiplier : float, default=100.0
        Upper clip of the multipliers.
    select_best : bool, default=True
        Restore the best epoch's parameters at the end of training.
    validation_fraction : float in [0, 1), default=0.0
        Share of the training rows held out from the network's loss to
        drive the multipliers and the restore (0: every row does both).
    confidence : float in [0.5, 1), default=0.5
        Aim at ``bound - z * se`` (see above); 0.5 means no margin. The
        meta-estimators pass their own ``confidence``.
    random_state : int, default=0
        Seeds the choice of the held-out rows.

    Attributes
    ----------
    multipliers_ : Tensor of shape (n_gaps,)
        Current multipliers, in the order of ``gap_names_``.
    margin_ : Tensor of shape (n_gaps,)
        Current margin of every gap (zeros when ``confidence=0.5``).
    floors_ : ndarray of shape (n_gaps,)
        The smallest gap each pair of groups can resolve at ``confidence``
        (0 with ``confidence=0.5``).
    target_ : ndarray of shape (n_gaps,)
        ``max(bounds_ - margin_, floors_)``: what the multipliers aim at.
    gap_names_ : list of str
    history_ : list of dict
        One dict per epoch: ``"gaps"`` (hard gaps on the training rows at the
        end of the epoch), ``"loss"``, ``"margin"`` and ``"multipliers"``;
        with held-out rows also ``"validation_gaps"`` and
        ``"validation_loss"`` (on those rows).
    best_epoch_ : int
        Index (in ``history_``) of the epoch whose parameters were restored;
        the last one when ``select_best=False``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklfair.constrained import LagrangianTerm
    >>> from sklfair.nets import TabularNetClassifier
    >>> X, y = make_classification(n_samples=400, random_state=0)
    >>> groups = (X[:, 0] > 0).astype(int)
    >>> term = LagrangianTerm("demographic_parity", bound=0.05)
    >>> net = TabularNetClassifier(max_epochs=5, random_state=0)
    >>> net = net.fit(X, y, sensitive_features=groups, loss_terms=[term])
    >>> term.gap_names_
    ['selection_rate[1][0 - 1]', 'selection_rate[1][1 - 0]']
    >>> len(term.history_), term.multipliers_.shape
    (5, torch.Size([2]))
    """

    def __init__(
        self,
        constraint,
        bound=None,
        *,
        dual_lr=5.0,
        rho=1.0,
        smoothing="auto",
        max_multiplier=100.0,
        select_best=True,
        validation_fraction=0.0,
        confidence=0.5,
        random_state=0,
    ):
        super().__init__(constraint, bound)
        self.dual_lr = dual_lr
        self.rho = rho
        self.smoothing = smoothing
        self.max_multiplier = max_multiplier
        self.select_best = select_best
        self.validation_fraction = validation_fraction
        self.confidence = confidence
        self.random_state = random_state

    def setup(self, net, data):
        fraction, confidence = float(self.validation_fraction), float(self.confidence)
        if not 0.0 <= fraction < 1.0:
            raise ValueError(
                "validation_fraction must be in [0, 1), got "
                f"{self.validation_fraction!r}."
            )
        if not 0.5 <= confidence < 1.0:
            raise ValueError(
                f"confidence must be in [0.5, 1), got {self.confidence!r} (0.5: no "
                "margin; 0.95: the bound holds with 95% confidence)."
            )
        super().setup(net, data)
        self.z_ = NormalDist().inv_cdf(confidence) if confidence > 0.5 else 0.0
        n_gaps = len(self.gap_names_)
        # the multipliers' arithmetic runs on the host (see Notes)
        self.multipliers_ = torch.zeros(n_gaps, dtype=torch.float64)
        self.margin_ = torch.zeros(n_gaps, dtype=torch.float64)
        # the running gaps' excess over the target, for the penalty's slope
        self._running_excess = np.zeros(n_gaps)
        # moving averages of the decisions' sums and of the row counts
        self._avg = [np.zeros((2, k, self.n_groups_)) for k in self.n_events_]
        self._stepped = None
        # a chunked fit sets up on a sample and says how many rows it trains on
        chunked = "n_rows" in data
        n = int(data["n_rows"] if chunked else data["sample_weight"].shape[0])
        self._held_out = None
        self._dual_weight = None
        self._monitor_dual_weight = self._monitor["sample_weight"]
        self._monitor_dual_squares = self._monitor[SQUARES]
        if fraction > 0:
            self._hold_out(data, fraction)
        self.floors_ = self._floors(confidence)
        batch_size = n if net.batch_size in (None, -1) else min(net.batch_size, n)
        n_batches = max(1, -(-n // batch_size))
        # A chunked fit makes few passes over many rows. Its multipliers move
        # by dual_lr per chunk (the rows in memory at once, which the network
        # trains on as an in-memory fit does on an epoch) instead of per pass
        # over every row, which would leave them far behind the network; and
        # after every chunk's worth of batches the network is evaluated as at
        # an epoch end (the margin renewed, the best parameters kept), since
        # one pass may be all there is.
        dual_batches = n_batches
        if chunked:
            chunk_rows = -(-n // max(int(data.get("n_chunks", 1)), 1))
            dual_batches = max(1, -(-chunk_rows // batch_size))
        self._dual_step = float(self.dual_lr) / min(n_batches, dual_batches)
        self._checkpoint_every = dual_batches if dual_batches < n_batches else None
        self._steps = 0
        if self.smoothing == "auto":
            self.smoothing_ = self._auto_smoothing(batch_size, n_batches)
        else:
            self.smoothing_ = float(self.smoothing)
        self.best_epoch_ = None
        self._best = None

    @torch.no_grad()
    def _hold_out(self, data, fraction):
        """Keep a stratified share of the rows out of the network's loss.

        The rows are drawn within every (group, label) cell (every group for
        regression), so each cell keeps its share; their weight is set to 0
        in the training tensors *in place* (the loop then leaves them out of
        the base loss and of the surrogate gaps) and the other rows' weights
        are scaled up so that the mean weight stays 1.
        """
        weight = data["sample_weight"]
        # as int64 (the loop's entries already are: no second copy)
        codes = np.asarray(data["sensitive_features"].cpu().numpy(), dtype=np.int64)
        strata = codes
        if self.constraints_[0].task == "classification":
            strata = codes * self.n_outputs_
            strata += data["y"].cpu().numpy()
        n = len(strata)
        draw = np.random.RandomState(self.random_state).random_sample(n)
        order = np.lexsort((draw, strata))
        sizes = np.bincount(strata)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - np.repeat(starts, sizes)
        # at least one row of every cell of two or more rows, never all of them
        take = np.where(sizes >= 2, np.clip(np.rint(fraction * sizes), 1, sizes - 1), 0)
        held = torch.as_tensor(rank < take[strata], device=weight.device)
        total, kept = weight.sum(), weight.masked_fill(held, 0.0)
        if not held.any() or kept.sum() <= 0:
            raise ValueError(
                f"validation_fraction={fraction} leaves no rows to hold out or to "
                "fit on; use validation_fraction=0 on so little data."
            )
        self._held_out = held
        self._dual_weight = weight.masked_fill(~held, 0.0)
        index = self._monitor["index"]
        monitor_held = held if index is None else held[index.to(held.device)]
        self._monitor_dual_weight = self._monitor["sample_weight"] * monitor_held
        if self._monitor_dual_squares is not None:
            self._monitor_dual_squares = self._monitor_dual_squares * monitor_held
        weight.copy_(kept * (total / kept.sum()))
        self._verify_held_out = True

    def _floors(self, confidence):
        """The smallest gap each pair of groups can resolve, on the rows that
        measure the gaps (see :func:`~sklfair.constrained._feasibility.gap_floors`)."""
        rows = self._monitor
        weight = self._monitor_dual_weight.double().cpu().numpy()
        kept = weight > 0
        y = rows["y"].cpu().numpy()
        codes = rows["sensitive_features"].cpu().numpy()
        squares = self._monitor_dual_squares
        squares = None if squares is None else squares.double().cpu().numpy()[kept]
        return np.concatenate(
            [
                gap_floors(
                    constraint,
                    y[kept] if constraint.task == "classification" else None,
                    codes[kept],
                    weight[kept],
                    self.n_groups_,
                    confidence,
                    n_classes=self.n_outputs_,
                    squared_weight=squares,
                )
                if constraint.task == "classification"
                else np.zeros(
                    len(constraint.gap_names(self.n_groups_, self.n_outputs_))
                )
                for constraint in self.constraints_
            ]
        )

    @torch.no_grad()
    def _auto_smoothing(self, batch_size, n_batches):
        """Average over enough batches for the smallest (event, group) cell of
        the rows that drive the multipliers to hold about 200 rows."""
        rows = self._monitor
        ones = (self._monitor_dual_weight > 0).to(torch.float32)
        smallest = np.inf
        for constraint in self.constraints_:
            outputs = torch.zeros((rows["y"].shape[0], self.n_outputs_))
            outputs = outputs.to(self.device_)
            batch = dict(rows, sample_loss=torch.zeros_like(rows["sample_weight"]))
            hard, mask = constraint._decisions(outputs, batch)
            _, counts = group_sums(
                hard, mask, rows["sensitive_features"], ones, self.n_groups_
            )
            present = counts[counts > 0]
            if present.numel():
                smallest = min(smallest, float(present.min()))
        share = (smallest if np.isfinite(smallest) else 1.0) / rows["y"].shape[0]
        window = min(n_batches, max(1.0, 200.0 / max(share * batch_size, TINY)))
        return 1.0 - 1.0 / window

    @property
    def target_(self):
        """What the multipliers aim at: ``bounds_ - margin_``, but never below
        ``floors_``."""
        # read on every batch; the margin changes at epoch ends only
        cached = getattr(self, "_target", None)
        if cached is None or cached[0] is not self.margin_:
            target = np.maximum(self.bounds_ - self.margin_.numpy(), self.floors_)
            cached = self._target = (self.margin_, target)
        return cached[1]

    _additive = True

    def _addition(self, outputs, batch):
        if self._held_out is not None and self._verify_held_out:
            self._check_held_out(batch)
        dual = None if self._held_out is None else self._dual_weight[batch["index"]]
        parts, sums = self._batch_sums(outputs, batch, dual_weight=dual)
        target = self.target_
        # the penalty's slope at the running gaps (set by the dual step), 0
        # for the gaps the batch does not define (slopes are never negative)
        slope = self.multipliers_.numpy() + self.rho * self._running_excess
        slope *= self._validity(sums, 2)
        # the term's value minus its linear part below: slope @ -target
        offset = -float(slope @ target)
        # the batch's dual step, here rather than after the optimizer step:
        # it reads the batch's decisions only, and nothing reads the
        # multipliers before the next batch (one pass over the term's
        # arithmetic per batch, while its arrays are in the CPU's caches)
        self._dual_step_on(sums)
        self._stepped = outputs
        # the augmented Lagrangian is linear in the rows' surrogate values
        return parts, sums, slope, offset

    def _binary_batch(self, outputs, batch, into=None):
        dual = None
        if self._held_out is not None:
            if self._verify_held_out:
                self._check_held_out(batch)
            dual = self._dual_weight[batch["index"]].numpy()
        self._stepped = outputs
        return lagrangian_step(self._binary, self, outputs, batch, dual, into)

    def _check_held_out(self, batch):
        """Fail loudly if the loop does not train on the weights set in setup."""
        held = self._held_out[batch["index"]]
        if held.any():
            if bool((batch["sample_weight"][held] != 0).any()):
                raise RuntimeError(
                    "The training loop did not leave the held-out rows out of "
                    "the loss (their weights were set to 0 in LossTerm.setup); "
                    "validation_fraction > 0 cannot be used with this loop."
                )
            self._verify_held_out = False

    def after_step(self, net, outputs, batch):
        stepped, self._stepped = self._stepped, None
        if stepped is not outputs:  # called without this step's loss
            dual = None if self._held_out is None else self._dual_weight[batch["index"]]
            with torch.no_grad():
                _, sums = self._batch_sums(
                    outputs.detach(), batch, dual_weight=dual, surrogate=False
                )
            self._dual_step_on(sums)
        if self._checkpoint_every is not None:
            self._steps += 1
            if self._steps % self._checkpoint_every == 0:
                self._evaluate(len(self.history_))

    def _dual_step_on(self, sums):
        """The multipliers' projected ascent step on the running gaps, with
        a batch's decisions' sums (``sums``, from :meth:`_batch_sums`) added
        to their moving average."""
        beta = self.smoothing_
        for average, part in zip(self._avg, sums, strict=True):
            # the decisions on the batch (on its held-out rows, with held-out rows)
            current = part[1:3] if self._held_out is None else part[3:5]
            average *= beta
            average += (1.0 - beta) * current
        hard, valid = self._gaps(self._avg, 0, 1)
        excess = np.where(valid, hard - self.target_, 0.0)
        np.maximum(excess, 0.0, out=self._running_excess)
        step = excess * self._dual_step
        multipliers = self.multipliers_.numpy()
        multipliers += step
        # np.clip's dispatch costs more than its two halves on a few numbers
        np.maximum(multipliers, 0.0, out=multipliers)
        np.minimum(multipliers, self.max_multiplier, out=multipliers)

    def _evaluate(self, epoch):
        """Gaps and loss of the network on the monitored rows; renews the
        margin and keeps the parameters if they are the best so far.

        Returns
        -------
        record : dict
            ``"gaps"``, ``"loss"`` and, with held-out rows,
            ``"validation_gaps"`` and ``"validation_loss"``.
        """
        decisions, sample_loss = self._forward_monitor()
        gaps, loss = self._gaps_and_loss(
            decisions, sample_loss, self._monitor["sample_weight"]
        )
        record = {"gaps": gaps, "loss": loss}
        dual_gaps, dual_loss = gaps, loss
        if self._held_out is not None:
            dual_gaps, dual_loss = self._gaps_and_loss(
                decisions, sample_loss, self._monitor_dual_weight
            )
            record.update(validation_gaps=dual_gaps, validation_loss=dual_loss)
        if self.z_ > 0:
            se = self._standard_errors(
                decisions, self._monitor_dual_weight, self._monitor_dual_squares
            )
            # a gap the groups can resolve gets its margin; one they cannot
            # (a margin above half the bound) is aimed at the bound itself:
            # no margin could make the claim true there, it would only push
            # the model towards predicting one class for everybody
            margin = self.z_ * se
            margin = np.where(margin <= 0.5 * self.bounds_, margin, 0.0)
            self.margin_ = torch.from_numpy(margin.astype(np.float64))
        if self.select_best:
            # meeting the target first, then the bound, then the smallest
            # excess over the target; the lowest loss among equals
            largest = nanmax(dual_gaps - self.target_)
            excess = max(largest, 0.0) if largest > 1e-9 else 0.0
            within = nanmax(dual_gaps - self.bounds_) <= 0.0
            tier = 0 if excess == 0.0 else (1 if within else 2)
            key = (tier, excess, dual_loss)
            if self._best is None or key < self._best[0]:
                state = self._net.module_.state_dict()
                self._best = (key, epoch, {k: v.clone() for k, v in state.items()})
        return record

    def epoch_summary(self):
        epoch = len(self.history_)
        record = self._evaluate(epoch)
        summary = {"fairness_gap": nanmax(record["gaps"])}
        if "validation_gaps" in record:
            summary["fairness_validation_gap"] = nanmax(record["validation_gaps"])
        # copies: the dual step updates the multipliers in place
        margin = self.margin_.numpy().copy()
        record["margin"] = margin
        multipliers = self.multipliers_.numpy().copy()
        record["multipliers"] = multipliers
        self.history_.append(record)
        summary["fairness_multiplier_max"] = float(multipliers.max(initial=0.0))
        self.best_epoch_ = epoch
        return summary

    def on_train_end(self, net):
        """Restore the best epoch's parameters; drop the references to the data."""
        if self._best is not None:
            _, self.best_epoch_, state = self._best
            net.module_.load_state_dict(state)
        self._best = None
        self._held_out = None
        self._dual_weight = None
        self._monitor_dual_weight = None
        self._monitor_dual_squares = None
        self._stepped = None
        super().on_train_end(net)
