"""Turning user input into the tensors of the one training loop.

Three jobs live here:

- checking that ``X`` is numeric, with an error that tells the user to put an
  encoder in front when it is not;
- holding the training rows (:class:`TensorData`): on the CPU the caller's
  float32 or float64 array is used in place (no copy), and the rows of each
  block of batches are gathered, and cast to float32, when the block comes;
  on a GPU ``X`` is copied to the device once, as float32. The compacted
  rows of a fit (:mod:`sklfair.nets._compact`) are an index into ``X``.
  Integer columns (class codes, group codes) and row positions are held in
  the smallest integer dtype that fits them (:func:`small_int_dtype`) and
  widened to int64 block by block, so a batch sees int64 as ever;
- the training data a :class:`~sklfair.nets.LossTerm` receives at
  ``setup`` (:class:`TrainingRows`): the loop's own tensors, and the inputs
  gathered on demand (``features(index)``) instead of a copy of every row.
"""

from __future__ import annotations

import collections.abc
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

__all__ = [
    "as_positions",
    "check_numeric_frame",
    "index_dtype",
    "small_int_dtype",
    "TensorData",
    "TrainingRows",
    "to_tensor",
]

# Dense copies of sparse input up to this many bytes are made once at fit;
# larger sparse matrices are densified block by block.
_DENSIFY_LIMIT_BYTES = 2**31
# Bytes of inputs gathered at a time: the rows of a block of batches (1 MiB:
# the gather is amortised over many batches, and its memory is negligible
# next to X's).
_BLOCK_BYTES = 2**20
# torch warns that it cannot protect a read-only array (e.g. a memmap) from
# writes; the loop only reads X.
_READ_ONLY_WARNING = "The given NumPy array is not writable"


def check_numeric_frame(X, estimator_name):
    """Raise a helpful error when a DataFrame has non-numeric columns."""
    if not isinstance(X, pd.DataFrame):
        return
    bad = [
        str(col)
        for col, dtype in X.dtypes.items()
        if not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        )
    ]
    if bad:
        shown = ", ".join(repr(c) for c in bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise ValueError(
            f"{estimator_name} needs numeric input, but columns {shown} are not "
            "numeric (object, string or category). Put an encoder in front, e.g. "
            "make_pipeline(make_column_transformer((OneHotEncoder("
            "handle_unknown='ignore'), categorical_columns), "
            "remainder=StandardScaler()), "
            f"{estimator_name}())."
        )


def small_int_dtype(n_codes):
    """The smallest signed integer numpy dtype holding ``0 .. n_codes - 1``.

    Examples
    --------
    >>> from sklfair.nets._data import small_int_dtype
    >>> small_int_dtype(2), small_int_dtype(300), small_int_dtype(2**40)
    (dtype('int8'), dtype('int16'), dtype('int64'))
    """
    for dtype in (np.int8, np.int16, np.int32):
        if n_codes - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def index_dtype(n_rows):
    """The torch dtype of positions into ``n_rows`` rows: int32 when they fit
    (half the memory of int64; ``index_select`` takes both), else int64."""
    return torch.int32 if n_rows - 1 <= np.iinfo(np.int32).max else torch.int64


_NUMPY_INDEX = {torch.int32: np.int32, torch.int64: np.int64}


def as_positions(index, n_rows):
    """Row positions into ``n_rows`` rows as a numpy array of
    :func:`index_dtype` (int32 when they fit), copied only when needed."""
    dtype = _NUMPY_INDEX[index_dtype(n_rows)]
    return np.asarray(index).astype(dtype, copy=False)


_NARROW_INTEGERS = (torch.int8, torch.uint8, torch.int16, torch.int32)


def _widened(tensor):
    """An integer tensor as int64 (what the loop's batches hold); others as
    they are."""
    if tensor.dtype in _NARROW_INTEGERS:
        return tensor.to(torch.int64)
    return tensor


def to_tensor(X, device, dtype=torch.float32):
    """Dense tensor on ``device`` from a dense or sparse matrix."""
    if sp.issparse(X):
        X = X.toarray()
    X = np.ascontiguousarray(X)
    if not X.flags.writeable:  # torch warns on read-only memory (e.g. memmaps)
        X = X.copy()
    return torch.as_tensor(X, dtype=dtype, device=device)


def _host_tensor(X):
    """The float32 or float64 array ``X`` as a CPU tensor sharing its memory."""
    if X.dtype not in (np.float32, np.float64) or any(s < 0 for s in X.strides):
        X = np.ascontiguousarray(X, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_READ_ONLY_WARNING)
        return torch.from_numpy(X)


def _device_tensor(X, device):
    """``X`` as float32 on ``device``, converted slab by slab (no host copy)."""
    out = torch.empty(X.shape, dtype=torch.float32, device=device)
    step = max(1, _BLOCK_BYTES // (4 * max(X.shape[1], 1)))
    for start in range(0, X.shape[0], step):
        out[start : start + step] = to_tensor(X[start : start + step], device)
    return out


def _take(tensor, index):
    """Rows ``index`` of ``tensor``: ``index_select``, several times faster on a
    CPU than the equivalent advanced indexing ``tensor[index]``."""
    return torch.index_select(tensor, 0, index)


class TensorData:
    """The training (or validation) rows of one fit, held as tensors.

    ``X`` is kept as given on the CPU (float32 or float64, shared with the
    caller's array), copied once to a GPU as float32, densified once when it
    is a sparse matrix whose dense float32 copy is at most 2 GiB, and kept as
    a scipy CSR matrix on the host otherwise. With ``rows``, the data are
    ``X[rows]`` (the compacted rows): ``X`` is kept whole and indexed
    through ``rows``, held as int32 when ``X`` has fewer than 2**31 rows.
    Every other tensor lives on the training device; integer ones may be of
    any integer dtype (the fits store codes in the smallest one).
    ``batch(index)`` returns the batch dict of the one training loop, with
    float32 inputs, and int64 integer columns and ``"index"``; ``index``
    (int32 or int64) counts the rows of the data.
    """

    def __init__(self, X, tensors, device, rows=None):
        self.device = device
        n_rows = X.shape[0] if rows is None else len(rows)
        if sp.issparse(X):
            if n_rows * X.shape[1] * 4 > _DENSIFY_LIMIT_BYTES:
                self.X = sp.csr_array(X, dtype=np.float32)
            else:
                self.X = to_tensor(X, device)
        elif torch.device(device).type == "cpu":
            self.X = _host_tensor(np.asarray(X))
        else:
            self.X = _device_tensor(X, device)
        self.rows = None
        if rows is not None:
            self.rows = torch.from_numpy(as_positions(rows, X.shape[0]))
            if isinstance(self.X, torch.Tensor):
                self.rows = self.rows.to(device)
        self.tensors = tensors
        self.n_samples = n_rows
        self.n_features = X.shape[1]

    def _X_rows(self, index):
        """Rows ``index`` of the data (through ``rows``) as a float32 tensor."""
        if self.rows is not None:
            index = _take(self.rows, index.to(self.rows.device))
        if isinstance(self.X, torch.Tensor):
            return _take(self.X, index.to(self.X.device)).to(torch.float32)
        return to_tensor(self.X[index.cpu().numpy()], self.device)

    def batch(self, index):
        batch = {"X": self._X_rows(index), "index": _widened(index)}
        for key, tensor in self.tensors.items():
            batch[key] = _widened(_take(tensor, index))
        return batch

    def column(self, key, index=None):
        """Entry ``key`` of the rows ``index`` (all rows when None) as a batch
        holds it: the loop's own tensor when it has the batch's dtype and
        ``index`` is None, else a copy (integer columns widened to int64)."""
        tensor = self.tensors[key]
        if index is not None:
            tensor = _take(tensor, index.to(tensor.device))
        return _widened(tensor)

    def block_rows(self, batch_size):
        """Rows gathered at a time: a whole number of batches, about 1 MiB."""
        itemsize = self.X.element_size() if isinstance(self.X, torch.Tensor) else 4
        per_block = _BLOCK_BYTES // (itemsize * max(self.n_features, 1))
        return max(1, per_block // batch_size) * batch_size

    def batches(self, perm, batch_size):
        """Yield the batch dicts of one epoch in the order of ``perm``.

        The rows of a block of batches are gathered at once (one gather per
        tensor per block instead of one per batch) and the batches are
        contiguous views of the block.
        """
        n = len(perm)
        block = self.block_rows(batch_size)
        for first in range(0, n, block):
            part = self.batch(perm[first : first + block])
            for start in range(0, min(block, n - first), batch_size):
                stop = start + batch_size
                yield {key: tensor[start:stop] for key, tensor in part.items()}

    def features(self, index=None):
        """Float32 inputs of the rows ``index`` (all rows when None)."""
        if index is None:
            index = torch.arange(self.n_samples)
        out = torch.empty(
            (len(index), self.n_features), dtype=torch.float32, device=self.device
        )
        step = self.block_rows(1)
        for start in range(0, len(index), step):
            out[start : start + step] = self._X_rows(index[start : start + step])
        return out


class TrainingRows(collections.abc.Mapping):
    """The training data a :class:`~sklfair.nets.LossTerm` receives in ``setup``.

    A read-only mapping with the keys of a batch (without ``"sample_loss"``
    and ``"index"``) plus the extra entries of the fit (``"n_groups"``,
    ``"n_outputs"``), of the dtypes a batch has. The floating-point entries
    are the loop's own tensors: a term may change ``data["sample_weight"]``
    in place. The integer entries (``"y"`` of a classifier,
    ``"sensitive_features"``), which the loop stores in a smaller integer
    dtype, are int64 copies made at each read, and ``data["X"]`` is a
    float32 copy of every training row, made at each read (a sparse ``X``
    too large to densify is returned as the scipy matrix of the rows);
    :meth:`features` and :meth:`take` gather only the rows a term asks for.
    """

    def __init__(self, data, extra=None):
        self._data = data
        self._extra = dict(extra or {})

    def __getitem__(self, key):
        if key == "X":
            data = self._data
            if isinstance(data.X, torch.Tensor):
                return data.features()
            rows = None if data.rows is None else data.rows.numpy()
            return data.X if rows is None else data.X[rows]
        if key in self._data.tensors:
            return self._data.column(key)
        return self._extra[key]

    def __iter__(self):
        yield "X"
        yield from self._data.tensors
        yield from (k for k in self._extra if k not in self._data.tensors)

    def __len__(self):
        return sum(1 for _ in self)

    @property
    def n_features(self):
        """The width of the inputs (``features``' columns)."""
        return self._data.n_features

    def features(self, index=None):
        """Float32 inputs of the training rows ``index`` on the training device.

        Parameters
        ----------
        index : int64 tensor of shape (k,) or None
            Row positions into the training tensors (as a batch's
            ``"index"``); None: every row.

        Returns
        -------
        X : float32 tensor of shape (k, n_features)
            Gathered block by block: no copy of the other rows is made.
        """
        return self._data.features(index)

    def take(self, key, index=None):
        """Entry ``key`` of the training rows ``index``, as a batch holds it.

        Parameters
        ----------
        key : str
            A tensor entry (``"y"``, ``"sample_weight"``,
            ``"sensitive_features"``, ...), not ``"X"`` (see :meth:`features`).
        index : int64 tensor of shape (k,) or None
            Row positions (as a batch's ``"index"``); None: every row.

        Returns
        -------
        values : tensor with k rows
            A copy of those rows only (integer entries as int64); with
            ``index`` None, as ``data[key]``.
        """
        return self._data.column(key, index)
