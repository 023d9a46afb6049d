"""The shared part of the fairness loss terms: a batch's group gaps, and the record.

:class:`GapTerm` is the base of :class:`~sklfair.constrained.LagrangianTerm`,
:class:`~sklfair.constrained.PenaltyTerm` and
:class:`~sklfair.constrained.AdversarialTerm`. It holds the one per-batch gap
implementation of the training loop:

- :meth:`GapTerm._batch_sums` reduces a batch to a few weighted sums per
  (constraint, event, group) cell -- of the surrogate values, of the
  decisions' values and of the weights -- as float64 numpy arrays on the
  host (with numpy on a CPU; on another device reduced there and copied in
  one transfer);
- the gaps follow from those sums on the host
  (:func:`sklfair.constraints._rates.gaps_from_sums`);
- :meth:`GapTerm._linear_term` turns a vector of per-gap coefficients into
  the differentiable ``sum_k c_k * surrogate_gap_k``, as one weighted sum over
  the batch rows (the coefficients spread back onto the rows of each group).

On a CPU, for the built-in classification constraints, the surrogate is
computed in numpy from the detached outputs, with its gradient by hand
(``_host_values`` of the constraint): the linear term's value and its
gradient with respect to the outputs enter the loss through one small
autograd function (:class:`HostGradient`), in place of the softmax's graph
and its backward pass. Other constraints, dtypes and devices take the torch
path (``_values``). For one built-in binary constraint, with numba
installed, :meth:`GapTerm.gradient` computes the whole batch -- sums, gaps,
the subclass's coefficients and the gradient -- in one compiled call
(:mod:`~sklfair.constrained._binary_step`, through the subclass's
``_binary_batch``): the same numbers.

At the end of every epoch the network is evaluated (eval mode, no gradient)
on the training rows -- at most ``monitor_size`` of them, drawn once -- and
the exact gaps of its decisions are recorded.

Several constraints can be bounded in one fit: ``constraint`` is then a list
of constraint objects, each carrying its bound; their gaps are concatenated,
constraint after constraint (``gap_names_`` then start with the
constraint's name).
"""

from __future__ import annotations

import numpy as np
import torch

from sklfair.constraints import (
    REGRESSION_CONSTRAINTS,
    FairnessConstraint,
    resolve_constraints,
)
from sklfair.constraints._rates import (
    TINY,
    gap_standard_errors,
    gap_validity,
    gaps_from_sums,
    group_coefficients,
    group_sums,
    group_sums_np,
    standard_errors_of_sums,
)
from sklfair.nets import LossTerm
from sklfair.nets._backprop import ReluBackprop
from sklfair.nets._data import index_dtype
from sklfair.nets._device import caller_threads

from ._binary_step import BinaryStep, MonitorDecisions, binary_kind

__all__ = ["GapTerm", "gap_names"]

#: Rows per forward pass of the epoch-end evaluation on a CPU.
MONITOR_CHUNK = 2048

#: The training rows' entry of the summed squared weights of merged rows
#: (identical rows the net merged into one, their weights summed): the
#: statistics of the original rows (Kish's effective size) need it.
SQUARES = "sample_weight_squares"

#: The monitored rows' float32 inputs are copied once when they take at most
#: this many bytes (see :class:`MonitoredInputs`).
MONITOR_COPY_BYTES = 32 * 2**20

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def _task_of(constraint):
    first = constraint[0] if isinstance(constraint, list | tuple) else constraint
    if isinstance(first, FairnessConstraint):
        return first.task
    if isinstance(first, str) and first in REGRESSION_CONSTRAINTS:
        return "regression"
    return "classification"


def gap_names(constraints, n_groups, n_outputs, group_labels=None):
    """Names of the concatenated gaps of ``constraints`` (each prefixed by its
    constraint's name when there are several)."""
    several = len(constraints) > 1
    names = []
    for constraint in constraints:
        part = constraint.gap_names(n_groups, n_outputs, group_labels)
        names += [f"{constraint.name}: {n}" if several else n for n in part]
    return names


def nanmax(values):
    """Largest finite value, 0 when there is none."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.max()) if values.size else 0.0


class MonitoredInputs:
    """The float32 inputs of the monitored training rows.

    A float32 copy of them is kept when it is small -- at most
    ``MONITOR_COPY_BYTES``, or at most an eighth of the training rows' own
    float32 inputs (a sample of large data) --, so that the evaluation at
    every epoch end does not gather them again through the loop's rows (and
    convert them to float32). Otherwise they are gathered from the loop's
    rows when the network is evaluated, chunk by chunk: no copy of them is
    held between evaluations.

    Parameters
    ----------
    data : TrainingRows
        The loop's training rows.
    index : int64 tensor of shape (k,) or None
        The monitored rows; None: every row.
    """

    def __init__(self, data, index):
        self._data = data
        self._index = index
        n_rows = int(data["sample_weight"].shape[0])
        n = len(index) if index is not None else n_rows
        self.shape = (n, int(data.n_features))
        self.device = data["sample_weight"].device
        nbytes = 4 * n * self.shape[1]
        small = nbytes <= MONITOR_COPY_BYTES or 8 * n <= n_rows
        #: the float32 copy of the monitored inputs, or None
        self.copy = data.features(index) if small else None

    def gather(self, start=0, stop=None):
        """The inputs of the monitored rows ``start:stop``."""
        stop = self.shape[0] if stop is None else min(stop, self.shape[0])
        if self.copy is not None:
            return self.copy[start:stop]
        if self._index is None:
            return self._data.features(torch.arange(start, stop))
        return self._data.features(self._index[start:stop])


def forward_in_chunks(module, X):
    """``module(X)`` over many rows; on a CPU in chunks of ``MONITOR_CHUNK``,
    so that a chunk's activations stay in the CPU's cache, on the threads the
    fit's caller had (:func:`~sklfair.nets._device.caller_threads`: a fit of
    a small network trains on one). A GPU gets the rows at once. ``X``: a
    tensor, or :class:`MonitoredInputs` (gathered chunk by chunk)."""
    gathered = isinstance(X, MonitoredInputs)
    # the default network by direct calls (the same operations)
    backprop = ReluBackprop.for_module(module)
    forward = module if backprop is None else backprop.evaluate
    if X.device.type != "cpu" or X.shape[0] <= MONITOR_CHUNK:
        return forward(X.gather() if gathered else X)
    with caller_threads():
        return torch.cat(
            [
                forward(
                    X.gather(start, start + MONITOR_CHUNK)
                    if gathered
                    else X[start : start + MONITOR_CHUNK]
                )
                for start in range(0, X.shape[0], MONITOR_CHUNK)
            ]
        )


def monitor_rows(data, size, device):
    """The training rows evaluated at each epoch end (all, or a fixed sample).

    Their targets, weights and group codes are copied; their inputs are
    copied once when small, else gathered from the loop's rows at each
    evaluation (:class:`MonitoredInputs`).
    """
    n = int(data["sample_weight"].shape[0])
    if n > size:
        generator = torch.Generator().manual_seed(0)
        # int32 draws the permutation int64 draws (in half the memory) where
        # the positions fit; a copy of its first rows, as int64: a view would
        # keep all of it
        index = torch.randperm(n, generator=generator, dtype=index_dtype(n))[:size]
        index = index.to(torch.int64)
    else:
        index = None
    rows = {"index": index, SQUARES: None}
    if hasattr(data, "features"):  # the loop's rows: gather only the monitored
        for key in ("y", "sample_weight", "sensitive_features"):
            rows[key] = data.take(key, index)
        if SQUARES in data:  # rows merged: their summed squared weights
            rows[SQUARES] = data.take(SQUARES, index)
        # a copy: a term may change the training weights in place (held-out rows)
        if index is None:
            rows["sample_weight"] = rows["sample_weight"].clone()
        rows["X"] = MonitoredInputs(data, index)
        return rows
    # SQUARES only where rows were merged: the others are required
    for key in ("y", "sample_weight", "sensitive_features", SQUARES):
        if key == SQUARES and key not in data:
            continue
        tensor = data[key]
        rows[key] = tensor if index is None else tensor[index.to(tensor.device)]
    rows["sample_weight"] = rows["sample_weight"].clone()
    X = data["X"]  # a plain mapping of tensors (a term set up by hand)
    if isinstance(X, torch.Tensor):
        rows["X"] = X if index is None else X[index.to(X.device)]
    else:  # a scipy sparse matrix kept on the host
        X = X if index is None else X[index.numpy()]
        rows["X"] = torch.as_tensor(X.toarray(), dtype=torch.float32, device=device)
    return rows


def _first_column(array):
    """The one column of a ``(n, 1)`` array, as a flat view."""
    return array[:, 0]


def host_to_tensor(array, like):
    """A host array as a tensor of ``like``'s dtype and device (converted by
    numpy where it can: cheaper than a torch call for a few numbers)."""
    dtype = _NUMPY_DTYPES.get(like.dtype)
    if dtype is None:
        return torch.from_numpy(np.ascontiguousarray(array)).to(like.device, like.dtype)
    tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=dtype))
    return tensor if like.device.type == "cpu" else tensor.to(like.device)


def as_dtype(tensor, dtype):
    """``tensor.to(dtype)``, without a torch call when it already has it."""
    return tensor if tensor.dtype == dtype else tensor.to(dtype)


class HostGradient(torch.autograd.Function):
    """A value computed on the host, with its gradient with respect to
    ``outputs`` computed there too: ``forward(outputs, value, gradient)``
    returns ``value`` (a 0-d tensor of ``outputs``' dtype), and the backward
    pass gives ``outputs`` the gradient ``grad_output * gradient``.
    """

    @staticmethod
    def forward(ctx, outputs, value, gradient):
        ctx.gradient = gradient
        return outputs.new_tensor(value)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.gradient, None, None


class HostSurrogate:
    """A constraint's surrogate values on a batch computed on the host
    (``values``, float64 numpy), with ``vjp`` (see the constraint's
    ``_host_values``) and the batch's ``outputs`` they were computed from."""

    __slots__ = ("outputs", "values", "vjp")

    def __init__(self, outputs, values, vjp):
        self.outputs = outputs
        self.values = values
        self.vjp = vjp


class GapTerm(LossTerm):
    """Base of the fairness loss terms: the constraints, the batch sums, the record.

    Parameters
    ----------
    constraint : str, FairnessConstraint or list of them
        What to bound; a list bounds several constraints together.
    bound : float or None, default=None
        The bound of a constraint given by name, or of an object whose
        ``bound`` is None.

    Attributes
    ----------
    constraints_ : list of FairnessConstraint
        The resolved constraints, each with its bound.
    bounds_ : ndarray of shape (n_gaps,)
        The bound of every gap.
    gap_names_ : list of str
    history_ : list of dict
        One dict per epoch: ``"gaps"`` (the decisions' gaps on the training
        rows, NaN where undefined) and ``"loss"`` (the weighted base loss).
    """

    requires = ("sensitive_features",)
    monitor_size = 50_000
    _default_bound = None

    def __init__(self, constraint, bound=None):
        self.constraint = constraint
        self.bound = bound

    @property
    def reads_sample_loss(self):
        """Whether the batch's ``"sample_loss"`` is read: the values of the
        regression constraints are the rows' losses (before setup: True)."""
        constraints = getattr(self, "constraints_", None)
        return constraints is None or constraints[0].task != "classification"

    # --- setup -------------------------------------------------------------
    def setup(self, net, data):
        self.constraints_ = resolve_constraints(
            self.constraint,
            _task_of(self.constraint),
            self.bound,
            default=self._default_bound,
        )
        self.n_groups_ = int(data["n_groups"])
        self.n_outputs_ = int(data["n_outputs"])
        classification = self.constraints_[0].task == "classification"
        if classification and self.n_outputs_ == 1:
            self.n_outputs_ = 2
        self.device_ = data["sample_weight"].device
        self.n_events_ = [
            len(c.event_names(self.n_outputs_)) for c in self.constraints_
        ]
        bounds, self._slices, start = [], [], 0
        for constraint in self.constraints_:
            n_gaps = len(constraint.gap_names(self.n_groups_, self.n_outputs_))
            bounds += [float(constraint.bound)] * n_gaps
            self._slices.append(slice(start, start + n_gaps))
            start += n_gaps
        self.gap_names_ = gap_names(self.constraints_, self.n_groups_, self.n_outputs_)
        self.bounds_ = np.asarray(bounds)
        self._net = net
        self._monitor = monitor_rows(data, self.monitor_size, self.device_)
        # the batch sums in numpy where the tensors live on the host
        self._host_sums = self.device_.type == "cpu"
        # the surrogates too, with their gradients by hand, where the
        # constraint has them in numpy
        self._host_values = [c._has_host_values() for c in self.constraints_]
        self._offset_cache = {}
        self.history_ = []
        # the whole batch as one compiled call, and the epoch end's sums in
        # one compiled pass, where they apply
        self._binary = None
        kind = binary_kind(self.constraints_, self.n_outputs_)
        self._monitor_kind = kind if self._host_sums else None
        if self._additive and self._host_sums and kind is not None:
            self._binary = BinaryStep(kind, self.constraints_[0], self.n_groups_)

    def on_train_end(self, net):
        """Drop the references to the training data and the compiled step's
        buffers."""
        self._monitor = None
        self._net = None
        self._binary = None
        self._monitor_kind = None

    # --- the one per-batch gap implementation -------------------------------
    def _batch_sums(self, outputs, batch, dual_weight=None, surrogate=True):
        """Reduce a batch to per-(constraint, event, group) sums on the host.

        Parameters
        ----------
        outputs : Tensor
            The batch's module outputs (with gradient when ``surrogate``).
        batch : dict
            The loop's batch.
        dual_weight : Tensor of shape (B,) or None
            Weights of a second set of decisions' sums (held-out rows).
        surrogate : bool, default=True
            Whether to compute the surrogate values (else their sums are 0).

        Returns
        -------
        parts : list of (values, weighted, codes)
            Per constraint: the surrogate values ``(B, n_events)`` (with
            gradient; None when ``surrogate`` is False), the rows' weights
            ``(B, n_events)`` (event membership included) and the rows' group
            codes, for :meth:`_linear_term` (numpy arrays for the weights and
            codes when the sums were taken on the host).
        sums : list of ndarray of shape (k, n_events, n_groups)
            Per constraint, float64: the surrogate values', the decisions' and
            the weights' sums (k = 3), then with ``dual_weight`` the
            decisions' and the weights' sums under it (k = 5).

        Notes
        -----
        On a CPU, the batch's tensors are numpy arrays without a copy, and
        the sums are a few ``np.bincount`` calls over the (event, group)
        cells, accumulated in float64: a dozen numpy calls on a few hundred
        numbers cost less than the torch operations (products, a
        concatenation, ``index_add_``, the copy) they replace. On another
        device the sums are reduced there by one
        ``index_add_`` and copied to the host in one transfer.
        """
        if self._host_sums and outputs.dtype in _NUMPY_DTYPES:
            return self._host_batch_sums(outputs, batch, dual_weight, surrogate)
        return self._device_batch_sums(outputs, batch, dual_weight, surrogate)

    def _host_batch_sums(self, outputs, batch, dual_weight, surrogate):
        """:meth:`_batch_sums` with numpy on the host (CPU tensors).

        A constraint with a numpy surrogate (``_host_values``) computes its
        values and decisions from the detached outputs; its part's values
        are then a :class:`HostSurrogate`.
        """
        codes = batch["sensitive_features"].numpy()
        weight = batch["sample_weight"].numpy()
        dual_weight = None if dual_weight is None else dual_weight.numpy()
        n_rows = len(codes)
        parts, split = [], []
        host_outputs = None
        for constraint, on_host in zip(
            self.constraints_, self._host_values, strict=True
        ):
            if on_host:
                if host_outputs is None:
                    host_outputs = outputs.detach().numpy()
                    y = batch["y"].numpy()
                values, hard, mask, vjp = constraint._host_values(host_outputs, y)
                value_array = values if surrogate else None
                values = HostSurrogate(outputs, values, vjp) if surrogate else None
            else:
                values, hard, mask = _constraint_values(
                    constraint, outputs, batch, surrogate
                )
                value_array = None if values is None else values.detach().numpy()
                hard = hard.detach().numpy()
                mask = None if mask is None else mask.numpy()
            n_events = hard.shape[1]
            # every (row, event) value flat, row after row; its cell is
            # event * n_groups + group
            if n_events == 1:
                cells, flat, weighted, dual = codes, _first_column, weight, dual_weight
            else:
                cells = (codes[:, None] + self._offsets(n_events)).ravel()
                flat = np.ravel
                weighted = np.repeat(weight, n_events)
                dual = None if dual_weight is None else np.repeat(dual_weight, n_events)
            if mask is not None:  # event membership
                mask = flat(mask)
                weighted = weighted * mask
                dual = None if dual is None else dual * mask
            hard = flat(hard)
            columns = [
                None if value_array is None else flat(value_array) * weighted,
                hard * weighted,
                weighted,
            ]
            if dual is not None:
                columns += [hard * dual, dual]
            size = n_events * self.n_groups_
            block = np.array(
                [
                    np.zeros(size)
                    if column is None
                    else np.bincount(cells, weights=column, minlength=size)
                    for column in columns
                ]
            )
            split.append(block.reshape(len(columns), n_events, self.n_groups_))
            parts.append((values, weighted.reshape(n_rows, n_events), codes))
        return parts, split

    def _offsets(self, n_events):
        """``n_groups * [0, 1, ..., n_events - 1]`` as a row (cached)."""
        offsets = self._offset_cache.get(n_events)
        if offsets is None:
            offsets = self.n_groups_ * np.arange(n_events)[None, :]
            self._offset_cache[n_events] = offsets
        return offsets

    def _device_batch_sums(self, outputs, batch, dual_weight, surrogate):
        """:meth:`_batch_sums` reduced on the training device (one transfer)."""
        weight = batch["sample_weight"]
        codes = batch["sensitive_features"]
        parts, columns, widths = [], [], []
        for constraint in self.constraints_:
            values, hard, mask = _constraint_values(
                constraint, outputs, batch, surrogate
            )
            n_events = hard.shape[1]
            weighted = as_dtype(weight, hard.dtype)[:, None]
            weighted = (
                weighted.expand(-1, n_events) if mask is None else weighted * mask
            )
            detached = hard.new_zeros(()) if values is None else values.detach()
            part = [
                (detached * weighted).expand(-1, n_events),
                hard * weighted,
                weighted,
            ]
            if dual_weight is not None:
                dual = as_dtype(dual_weight, hard.dtype)[:, None]
                dual = dual.expand(-1, n_events) if mask is None else dual * mask
                part += [hard * dual, dual]
            columns += part
            widths.append((len(part), n_events))
            parts.append((values, weighted, codes))
        with torch.no_grad():
            stacked = torch.cat(columns, dim=1)
            sums = stacked.new_zeros(self.n_groups_, stacked.shape[1])
            sums.index_add_(0, codes, stacked)
            # to float64 on the host: numpy's conversion of a few numbers is
            # cheaper than a torch operation
            host = sums.cpu()
            if host.dtype not in _NUMPY_DTYPES:  # e.g. bfloat16, unknown to numpy
                host = host.double()
            host = host.numpy().T.astype(np.float64)
        split, start = [], 0
        for k, n_events in widths:
            block = host[start : start + k * n_events]
            split.append(block.reshape(k, n_events, self.n_groups_))
            start += k * n_events
        return parts, split

    def _gaps(self, sums, numerator, denominator):
        """Concatenated gaps and validity from per-constraint host sums."""
        if len(sums) == 1:  # one constraint: no concatenation
            (constraint,), (part,) = self.constraints_, sums
            return gaps_from_sums(
                part[numerator], part[denominator], constraint.pairwise
            )
        gaps, valid = [], []
        for constraint, part in zip(self.constraints_, sums, strict=True):
            g, v = gaps_from_sums(
                part[numerator], part[denominator], constraint.pairwise
            )
            gaps.append(g)
            valid.append(v)
        return np.concatenate(gaps), np.concatenate(valid)

    def _validity(self, sums, denominator):
        """Concatenated validity of the gaps from per-constraint host sums
        (``sums[c][denominator]``: the weights' sums)."""
        if len(sums) == 1:
            return gap_validity(sums[0][denominator], self.constraints_[0].pairwise)
        return np.concatenate(
            [
                gap_validity(part[denominator], constraint.pairwise)
                for constraint, part in zip(self.constraints_, sums, strict=True)
            ]
        )

    def _linear_term(self, parts, sums, coefficients, loss, offset=0.0):
        """``sum_k coefficients_k * surrogate_gap_k + offset``, differentiable,
        or None when every coefficient is 0 and ``loss`` has a gradient (the
        term then adds nothing to it but ``offset``: the loop skips its
        backward pass).

        One weighted sum over the batch rows per constraint: the coefficients
        are spread back onto the rows of each group, so its backward pass
        costs one multiplication whatever the number of groups and gaps.
        The constraints whose surrogates were computed on the host add their
        value and their gradient there, and enter the loss through one
        :class:`HostGradient`. Invalid gaps must have a zero coefficient.
        """
        if loss.requires_grad and not np.count_nonzero(coefficients):
            return None
        total, host = None, self._host_linear(parts, sums, coefficients, offset)
        for constraint, (values, weighted, codes), part, where in zip(
            self.constraints_, parts, sums, self._slices, strict=True
        ):
            if isinstance(values, HostSurrogate):  # in _host_linear
                continue
            per_group = group_coefficients(
                coefficients[where], part[2], constraint.pairwise
            )
            if isinstance(codes, np.ndarray):  # host sums: the rows' factors too
                rows = host_to_tensor(per_group.T[codes] * weighted, values)
            else:
                rows = host_to_tensor(per_group.T, values)[codes] * weighted
            term = (rows * values).sum()
            total = term if total is None else total + term
        host_value, host_gradient, host_outputs = host
        if host_gradient is not None:
            gradient = host_to_tensor(host_gradient, host_outputs)
            term = HostGradient.apply(host_outputs, host_value, gradient)
            return term if total is None else total + term
        return total + offset if offset else total

    def _host_linear(self, parts, sums, coefficients, offset):
        """The host-computed part of :meth:`_linear_term`: ``offset`` plus
        the constraints whose surrogates were computed on the host, as
        ``(value, gradient with respect to the outputs or None, outputs)``
        (numpy gradient, None when no constraint was)."""
        host_value, host_gradient, host_outputs = float(offset), None, None
        for constraint, (values, weighted, codes), part, where in zip(
            self.constraints_, parts, sums, self._slices, strict=True
        ):
            if not isinstance(values, HostSurrogate):
                continue
            per_group = group_coefficients(
                coefficients[where], part[2], constraint.pairwise
            )
            # the value from the groups' sums of the weighted values
            host_value += float(np.vdot(per_group, part[0]))
            gradient = values.vjp(per_group.T[codes] * weighted)
            host_gradient = (
                gradient if host_gradient is None else host_gradient + gradient
            )
            host_outputs = values.outputs
        return host_value, host_gradient, host_outputs

    # --- the term's addition to the loss, through autograd or by hand -------
    #: whether the subclass's addition is ``_addition``'s linear term (the
    #: lagrangian's and the penalty's)
    _additive = False

    def _binary_batch(self, outputs, batch, into=None):
        """:meth:`gradient`'s value and gradient in one compiled call
        (:mod:`~sklfair.constrained._binary_step`); given ``into``,
        :meth:`add_gradient`'s."""
        raise NotImplementedError

    def _addition(self, outputs, batch):
        """``(parts, sums, coefficients, offset)`` of the batch: the term
        adds ``sum_k coefficients_k * surrogate_gap_k + offset`` to the
        loss."""
        raise NotImplementedError

    def __call__(self, loss, outputs, batch):
        parts, sums, coefficients, offset = self._addition(outputs, batch)
        linear = self._linear_term(parts, sums, coefficients, loss, offset)
        if linear is None:  # every coefficient 0: no gradient to add
            return loss + offset
        return loss + linear

    @property
    def gives_gradient(self):
        """Whether :meth:`gradient` applies: an additive term whose every
        constraint computes its surrogate and its gradient on the host."""
        return (
            self._additive
            and getattr(self, "_host_sums", False)
            and all(getattr(self, "_host_values", [False]))
        )

    def gradient(self, outputs, batch):
        """What :meth:`__call__` adds to the loss, and its gradient with
        respect to ``outputs``, computed on the host (see
        :meth:`~sklfair.nets.LossTerm.gradient`)."""
        if outputs.dtype not in _NUMPY_DTYPES:
            # _batch_sums would take the torch path (a dtype numpy does not
            # hold): its surrogates have no gradient here
            raise RuntimeError(
                f"{type(self).__name__}.gradient needs the surrogates computed "
                f"on the host; outputs of dtype {outputs.dtype} on "
                f"{outputs.device} take the torch path (use __call__)."
            )
        if self._binary is not None:  # one compiled call (_binary_step)
            return self._binary_batch(outputs, batch)
        parts, sums, coefficients, offset = self._addition(outputs, batch)
        if not np.count_nonzero(coefficients):  # adds a constant
            return offset, None
        value, gradient, _ = self._host_linear(parts, sums, coefficients, offset)
        # the constraints' vjp give outputs' dtype, C-contiguous, on the host
        return value, torch.from_numpy(gradient)

    def add_gradient(self, outputs, batch, gradient):
        """:meth:`gradient`'s value and ``gradient`` plus its gradient; with
        the compiled step, added to ``gradient`` in place by the same call
        (see :meth:`~sklfair.nets.LossTerm.add_gradient`)."""
        if self._binary is not None and gradient.dtype is outputs.dtype:
            return self._binary_batch(outputs, batch, gradient)
        return super().add_gradient(outputs, batch, gradient)

    # --- the epoch-end record ------------------------------------------------
    @torch.no_grad()
    def _forward_monitor(self):
        """Per constraint, the current network's decisions' values and event
        masks on the monitored rows, and the per-row base loss."""
        net, rows = self._net, self._monitor
        module = net.module_
        was_training = module.training
        module.eval()
        try:
            outputs = forward_in_chunks(module, rows["X"])
        finally:
            module.train(was_training)
        sample_loss = net.sample_loss(outputs, rows["y"])
        if self._monitor_kind is not None:  # reduced by one compiled pass
            decisions = MonitorDecisions(
                self._monitor_kind,
                outputs.numpy(),
                rows["y"].numpy(),
                rows["sensitive_features"].numpy(),
                self.n_events_[0],
                self.n_groups_,
            )
            return [decisions], sample_loss
        batch = dict(rows, sample_loss=sample_loss)
        decisions = [c._decisions(outputs, batch) for c in self.constraints_]
        return decisions, sample_loss

    @torch.no_grad()
    def _gaps_and_loss(self, decisions, sample_loss, weight):
        """Gaps of the decisions (NaN where undefined) and the weighted base
        loss, on the monitored rows weighted by ``weight``.

        On a CPU the decisions' group sums are numpy bincounts (a few
        passes over the rows instead of torch's concatenation and
        ``index_add_``)."""
        codes = self._monitor["sensitive_features"]
        host = self._host_sums
        if host:
            codes, weight_np = codes.numpy(), weight.numpy()
        gaps = []
        for constraint, decision in zip(self.constraints_, decisions, strict=True):
            if isinstance(decision, MonitorDecisions):
                numerator, denominator, _ = decision.sums(weight_np)
            elif host:
                hard, mask = decision
                numerator, denominator = group_sums_np(
                    hard.numpy(),
                    None if mask is None else mask.numpy(),
                    codes,
                    weight_np,
                    self.n_groups_,
                )
            else:
                hard, mask = decision
                numerator, denominator = group_sums(
                    hard, mask, codes, weight, self.n_groups_
                )
                g, valid = gaps_from_sums(numerator, denominator, constraint.pairwise)
                gaps.append(g.masked_fill(~valid, float("nan")).cpu().double().numpy())
                continue
            g, valid = gaps_from_sums(numerator, denominator, constraint.pairwise)
            gaps.append(np.where(valid, g, np.nan))
        loss = float((weight * sample_loss).sum() / weight.sum().clamp_min(TINY))
        return np.concatenate(gaps), loss

    @torch.no_grad()
    def _standard_errors(self, decisions, weight, squares=None):
        """Standard errors of the gaps on the monitored rows under ``weight``
        (in numpy on a CPU); ``squares``: the rows' summed squared weights
        where rows were merged (None: ``weight ** 2``)."""
        codes = self._monitor["sensitive_features"]
        if self._host_sums:
            codes, weight = codes.numpy(), weight.numpy()
            squares = None if squares is None else squares.numpy()
        if isinstance(decisions[0], MonitorDecisions):
            (decision,), (constraint,) = decisions, self.constraints_
            # the decisions are 0 or 1: their squares' sums are their sums
            total, den, den2 = decision.sums(weight, squares)
            return standard_errors_of_sums(
                total, total, den, den2, self.n_groups_, constraint.pairwise
            )
        if self._host_sums:
            decisions = [
                (hard.numpy(), None if mask is None else mask.numpy())
                for hard, mask in decisions
            ]
        se = [
            gap_standard_errors(
                hard,
                mask,
                codes,
                weight,
                self.n_groups_,
                constraint.pairwise,
                squared_weight=squares,
            )
            for constraint, (hard, mask) in zip(
                self.constraints_, decisions, strict=True
            )
        ]
        return np.concatenate(
            [s if isinstance(s, np.ndarray) else s.cpu().numpy() for s in se]
        )

    def epoch_summary(self):
        decisions, sample_loss = self._forward_monitor()
        gaps, loss = self._gaps_and_loss(
            decisions, sample_loss, self._monitor["sample_weight"]
        )
        self.history_.append({"gaps": gaps, "loss": loss})
        return {"fairness_gap": nanmax(gaps)}


def _constraint_values(constraint, outputs, batch, surrogate):
    """A constraint's ``(values, hard, mask)`` on a batch: its surrogate
    values with the hard decisions, or (``surrogate=False``) the decisions
    only, ``values`` None."""
    if surrogate:
        return constraint._values(outputs, batch)
    hard, mask = constraint._decisions(outputs, batch)
    return None, hard, mask
