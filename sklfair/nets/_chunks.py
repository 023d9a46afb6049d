"""Training data that arrive in chunks: fits that never hold every row at once.

Two things live here:

- :class:`ParquetChunks`, the public reader: a parquet file or directory read
  row group by row group with pyarrow, as ``(X, y)`` or ``(X, y,
  sample_weight)`` chunks, in a fresh shuffled row-group order on every pass;
- :class:`ChunkStream`, the training loop's private view of any re-iterable
  chunk source: it converts one raw chunk at a time into the
  :class:`~sklfair.nets._data.TensorData` of the one training loop, so only
  one chunk (plus the network) is ever in memory.

A chunk source is anything that yields chunks when iterated: a list of
``(X, y)`` / ``(X, y, sample_weight)`` tuples or of ``{"X": ..., "y": ...,
"sample_weight": ...}`` dicts, a callable returning a fresh iterator, or a
:class:`ParquetChunks`. A meta-estimator's chunked fit adds per-row
``"sensitive_features"`` (integer group codes) or ``"soft_targets"`` to dict
chunks, for its loss terms (``TERM_KEYS``). A one-shot iterator (a
generator) is accepted for a single pass only; asking it for a second pass
is an error raised before any training starts, not a silently shorter fit.
"""

from __future__ import annotations

import collections.abc
import os

import numpy as np
import pandas as pd

__all__ = [
    "ChunkStream",
    "ParquetChunks",
    "chunk_columns",
    "rewind",
    "unpack_chunk",
]

#: Per-row keys a dict chunk may carry for the loss terms of a meta-estimator's
#: chunked fit: integer group codes ``0 .. n_groups - 1`` and soft targets.
TERM_KEYS = ("sensitive_features", "soft_targets")


def unpack_chunk(chunk, position):
    """``(X, y, sample_weight)`` from a tuple or dict chunk, or a clear error."""
    if isinstance(chunk, collections.abc.Mapping):
        unknown = set(chunk) - {"X", "y", "sample_weight", *TERM_KEYS}
        if unknown or "X" not in chunk or "y" not in chunk:
            raise ValueError(
                f"Chunk {position} is a dict with keys {sorted(chunk)}; expected "
                "'X', 'y' and optionally 'sample_weight'."
            )
        return chunk["X"], chunk["y"], chunk.get("sample_weight")
    if isinstance(chunk, tuple) and len(chunk) in (2, 3):
        X, y, *rest = chunk
        return X, y, (rest[0] if rest else None)
    raise ValueError(
        f"Chunk {position} is a {type(chunk).__name__}; expected an (X, y) or "
        "(X, y, sample_weight) tuple or a dict with keys 'X', 'y' and optionally "
        "'sample_weight'."
    )


def chunk_columns(chunk):
    """The extra per-row columns of a dict chunk (see ``TERM_KEYS``)."""
    if not isinstance(chunk, collections.abc.Mapping):
        return {}
    return {key: chunk[key] for key in TERM_KEYS if chunk.get(key) is not None}


def _prepend(first, iterator):
    """``first`` then the rest of ``iterator``, holding ``first`` only until yielded.

    (``itertools.chain([first], iterator)`` would keep ``first`` alive for the
    whole pass through its argument tuple.)
    """
    box = [first]
    del first
    yield box.pop()
    yield from iterator


def _is_numeric(arrow_type):
    import pyarrow as pa

    return (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_boolean(arrow_type)
    )


def _is_one_shot(source):
    return isinstance(source, collections.abc.Iterator)


def rewind(source):
    """Start a fit's passes over ``source`` from the first one again.

    A :class:`ParquetChunks` counts its passes to seed each one's row-group
    order; a fit calls this first, so that its pass ``k`` reads the order of
    ``random_state + k`` whatever fits read the same reader before (two fits
    with the same seeds on one reader are the same fit).
    """
    if isinstance(source, ParquetChunks):
        source._passes = 0


class ChunkStream:
    """The training rows of a chunked fit, converted one chunk at a time.

    Parameters
    ----------
    source : iterable, callable or iterator
        The user's chunk source (see the module docstring).
    n_passes : int
        How many passes the fit will make; more than one needs a source that
        can be iterated again.
    convert : callable
        ``convert(chunk, position) -> TensorData or None`` (None: a chunk whose
        rows all have zero weight). Set by the estimator once the first chunk
        has fixed the features, classes and scales.
    """

    def __init__(self, source, n_passes):
        if not (
            callable(source) or isinstance(source, collections.abc.Iterable)
        ) or isinstance(source, (str, bytes, os.PathLike)):
            raise TypeError(
                "chunks must be an iterable of (X, y[, sample_weight]) chunks, a "
                "callable returning such an iterator, or a ParquetChunks; got "
                f"{type(source).__name__}. For a parquet path use "
                "ParquetChunks(path, target=...)."
            )
        if _is_one_shot(source) and n_passes > 1:
            raise ValueError(
                f"chunks is a one-shot iterator ({type(source).__name__}), which "
                f"can be read once, but the fit makes {n_passes} passes "
                "(max_epochs). Pass a list, a ParquetChunks, or a callable that "
                "returns a fresh iterator; or set max_epochs=1."
            )
        rewind(source)
        self.source = source
        self.convert = None
        self._pending = None

    def _iterate(self):
        iterable = self.source() if callable(self.source) else self.source
        return iter(iterable)

    def first(self):
        """The first raw chunk; later passes start from it again."""
        iterator = self._iterate()
        try:
            first = next(iterator)
        except StopIteration:
            raise ValueError(
                "chunks yielded no chunk: there is nothing to fit."
            ) from None
        self._pending = _prepend(first, iterator)
        return first

    def chunks(self):
        """Yield the :class:`TensorData` of one pass, one chunk at a time."""
        iterator, self._pending = self._pending, None
        if iterator is None:
            iterator = self._iterate()
        n_chunks = 0
        for position, raw in enumerate(iterator):
            data = self.convert(raw, position)
            del raw  # hold one chunk: not this raw one while reading the next
            if data is not None:
                n_chunks += 1
                yield data
        if n_chunks == 0:
            raise ValueError(
                "chunks yielded no row with a non-zero weight in this pass. If "
                "the source is a generator it is exhausted after one pass: pass "
                "a list, a ParquetChunks or a callable returning a fresh iterator."
            )


class ParquetChunks:
    """Read a parquet data set in chunks, for ``fit_chunks`` of the nets.

    Every pass reads the row groups of every file, in an order shuffled
    afresh per pass, and yields ``(X, y)`` chunks (``(X, y, sample_weight)``
    when a weight column is named) of at most ``batch_rows`` rows, with ``X``
    a float32 DataFrame of the feature columns (or what ``transform`` makes of
    them). Only one chunk is in memory at a time.
    Rows are shuffled within each chunk by the training loop; write the data
    in a random row order (or with small row groups) when it is sorted.

    Parameters
    ----------
    path : str or path-like
        A parquet file, or a directory of parquet files (read as one
        ``pyarrow.dataset``, hive partitions included).
    target : str
        Name of the target column.
    features : list of str, default=None
        Feature columns; ``None`` takes every column except ``target`` and
        ``sample_weight`` (every file must then have the same columns).
    sample_weight : str, default=None
        Name of a column of per-row weights.
    batch_rows : int, default=262144
        Largest number of rows per chunk.
    shuffle : bool, default=True
        Shuffle the order of the row groups on every pass.
    random_state : int or None, default=None
        Seeds the row-group order: pass ``k`` of a fit (counted from 0 at
        the start of every ``fit_chunks``) uses ``random_state + k``, so
        fits with the same seeds on one reader are the same.
    transform : callable, default=None
        Applied to each chunk's feature DataFrame (as read by pandas, strings
        and categories included) to give the numeric ``X`` the net trains on,
        e.g. the ``transform`` method of a ``ColumnTransformer`` fitted on a
        sample. Without it the feature columns must be numeric or boolean and
        are read straight into one float32 matrix per chunk (the leanest
        path: one copy of the chunk).

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from sklearn.datasets import make_classification
    >>> from sklfair.nets import ParquetChunks, TabularNetClassifier
    >>> X, y = make_classification(n_samples=1000, n_features=5, random_state=0)
    >>> frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]).assign(y=y)
    >>> path = os.path.join(tempfile.mkdtemp(), "train.parquet")
    >>> frame.to_parquet(path, row_group_size=250)
    >>> chunks = ParquetChunks(path, target="y", random_state=0)
    >>> clf = TabularNetClassifier(max_epochs=5, random_state=0)
    >>> clf = clf.fit_chunks(chunks, classes=[0, 1])
    >>> clf.score(frame.drop(columns="y"), frame["y"]) > 0.8
    True
    """

    def __init__(
        self,
        path,
        target,
        *,
        features=None,
        sample_weight=None,
        batch_rows=262144,
        shuffle=True,
        random_state=None,
        transform=None,
    ):
        try:
            import pyarrow.dataset as ds
        except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
            raise ImportError(
                "ParquetChunks needs pyarrow: pip install 'sklfair[parquet]'."
            ) from exc
        if int(batch_rows) < 1:
            raise ValueError(f"batch_rows must be >= 1; got {batch_rows}.")
        self.path = path
        self.target = target
        self.sample_weight = sample_weight
        self.batch_rows = int(batch_rows)
        self.shuffle = shuffle
        self.random_state = random_state
        self.transform = transform
        self._dataset = ds.dataset(os.fspath(path), format="parquet")
        names = self._dataset.schema.names
        named = [target] + ([sample_weight] if sample_weight is not None else [])
        chosen = features
        if features is None:
            features = [c for c in names if c not in named]
        self.features = list(features)
        missing = [c for c in named + self.features if c not in names]
        if missing:
            raise ValueError(
                f"Columns {missing} are not in the parquet data at {path!s}; it "
                f"has {names}."
            )
        if not self.features:
            raise ValueError(f"No feature columns left in {path!s}.")
        if transform is None:
            schema = self._dataset.schema
            bad = [c for c in self.features if not _is_numeric(schema.field(c).type)]
            if bad:
                raise ValueError(
                    f"Feature columns {bad} of {path!s} are not numeric. Pass "
                    "transform=... (e.g. the transform method of a fitted "
                    "ColumnTransformer with a OneHotEncoder) to encode each chunk."
                )
        self._row_groups = []
        for fragment in self._dataset.get_fragments():
            extra = [
                c
                for c in fragment.physical_schema.names
                if c not in names and c not in named
            ]
            if extra and chosen is None:  # the data's columns: those of one file
                raise ValueError(
                    f"The parquet file {fragment.path} has columns {extra} that "
                    f"the first file of {path!s} lacks, so features=None would "
                    "leave them out; give the feature columns as features=[...]."
                )
            absent = [
                c
                for c in named + self.features
                if c not in fragment.physical_schema.names
            ]
            if absent:  # else pyarrow fails in the middle of a pass
                raise ValueError(
                    f"Columns {absent} are not in the parquet file "
                    f"{fragment.path}, which the data at {path!s} includes; "
                    "every file must have the target, weight and feature "
                    "columns."
                )
            self._row_groups.extend(fragment.split_by_row_group())
        self._passes = 0

    @property
    def n_rows(self):
        """Number of rows in the data set (from the parquet metadata)."""
        return self._dataset.count_rows()

    def __iter__(self):
        order = np.arange(len(self._row_groups))
        if self.shuffle:
            seed = None if self.random_state is None else self.random_state
            seed = None if seed is None else int(seed) + self._passes
            np.random.default_rng(seed).shuffle(order)
        self._passes += 1
        columns = self.features + [self.target]
        if self.sample_weight is not None:
            columns.append(self.sample_weight)
        for i in order:
            for batch in self._row_groups[i].to_batches(
                columns=columns, batch_size=self.batch_rows
            ):
                if batch.num_rows == 0:
                    continue
                if self.transform is None:
                    X = self._float_matrix(batch)
                else:
                    X = self.transform(batch.select(self.features).to_pandas())
                y = batch.column(self.target).to_numpy(zero_copy_only=False)
                if self.sample_weight is None:
                    yield X, y
                else:
                    column = batch.column(self.sample_weight)
                    yield X, y, column.to_numpy(zero_copy_only=False)

    def _float_matrix(self, batch):
        """The feature columns as one C-ordered float32 matrix, in a DataFrame.

        The DataFrame wraps the matrix without copying, so the nets see the
        column names (``feature_names_in_``) at the cost of one copy of the
        chunk. Nulls become NaN (and are then rejected by the net).
        """
        X = np.empty((batch.num_rows, len(self.features)), dtype=np.float32)
        for j, name in enumerate(self.features):
            X[:, j] = batch.column(name).to_numpy(zero_copy_only=False)
        return pd.DataFrame(X, columns=self.features, copy=False)

    def __repr__(self):
        return (
            f"ParquetChunks({os.fspath(self.path)!r}, target={self.target!r}, "
            f"{len(self.features)} features, {len(self._row_groups)} row groups)"
        )
