"""Fitted state in a form that skops can save.

skops (``skops.io``) saves numpy arrays, Python containers and numbers, and
objects whose state is made of those; it has no way to save pandas objects
or torch tensors. Several fitted attributes are pandas objects (``weights_``,
``history_``), and fairlearn's fitted objects (inside ``estimator_`` for the
reductions and threshold methods) hold pandas objects too.

- :func:`encode_state` turns an estimator's state (the dict that
  ``__getstate__`` returns) into one where every pandas ``DataFrame``,
  ``Series`` and ``Index`` and every torch tensor and device, also inside
  lists, tuples, dicts and plain objects it holds, is a tagged dict of numpy
  arrays and Python values;
- :func:`decode_state` rebuilds them, equal (values, dtypes, index and
  column names) to what was encoded;
- :class:`PersistentStateMixin` applies both in ``__getstate__`` /
  ``__setstate__``, for pickle and skops alike; the objects in memory keep
  their public types.

An object held in the state is encoded through a shallow copy of its
``__dict__`` -- what pickle itself reads -- and only when something in it
needs encoding; objects that define their own ``__getstate__`` or
``__setstate__`` (sklfair's networks) are left to save themselves. This
reads the ``__dict__`` of fairlearn's fitted objects because fairlearn
offers no other way to save them; ``tests/test_persistence.py`` pins that
they come back predicting the same.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

__all__ = ["PersistentStateMixin", "decode_state", "encode_state"]

#: Key of a tagged dict that stands for a pandas object or a tensor.
_PANDAS = "__sklfair_pandas__"
_TENSOR = "__sklfair_tensor__"
_DEVICE = "__sklfair_device__"
#: Key added to an encoded object's ``__dict__``; removed on decoding.
_ENCODED = "__sklfair_encoded__"

#: ``__getstate__`` implementations that just return the ``__dict__``.
_PLAIN_GETSTATE = (object.__getstate__, BaseEstimator.__getstate__)
#: ``__setstate__`` implementations that just update the ``__dict__``.
_PLAIN_SETSTATE = (None, BaseEstimator.__setstate__)

_ATOMS = (str, bytes, int, float, complex, bool, type(None), np.ndarray, np.generic)
_OPAQUE = (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)


def encode_state(state):
    """``state`` with pandas objects and tensors as tagged plain values.

    Parameters
    ----------
    state : dict
        What an estimator's ``__getstate__`` returns.

    Returns
    -------
    encoded : dict
        A new dict (``state`` is not modified), or ``state`` itself when
        nothing in it needed encoding.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklfair._persistence import decode_state, encode_state
    >>> state = {"weights_": pd.DataFrame({"w": [0.5, 2.0]}, index=["a", "b"])}
    >>> encoded = encode_state(state)
    >>> sorted(encoded["weights_"])
    ['__sklfair_pandas__', 'columns', 'data', 'index']
    >>> decode_state(encoded)["weights_"].equals(state["weights_"])
    True
    """
    encoded, _ = _encode(state, {})
    return encoded


def decode_state(state):
    """Rebuild what :func:`encode_state` encoded (in place where it can).

    Parameters
    ----------
    state : dict

    Returns
    -------
    decoded : dict
    """
    return _decode(state)


class PersistentStateMixin:
    """``__getstate__`` / ``__setstate__`` through :func:`encode_state` and
    :func:`decode_state`, so that pickle and skops save the same plain state.
    """

    def __getstate__(self):
        return encode_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(decode_state(state))


# --- encoding -----------------------------------------------------------------


def _encode(value, memo):
    """``(encoded value, whether it changed)``."""
    if isinstance(value, _ATOMS) or isinstance(value, _OPAQUE):
        return value, False
    if isinstance(value, (pd.DataFrame, pd.Series, pd.Index)):
        return _encode_pandas(value), True
    if type(value).__module__.split(".")[0] == "torch":
        if hasattr(value, "numpy"):
            return _encode_tensor(value), True
        if type(value).__name__ == "device":
            return {_DEVICE: str(value)}, True
    key = id(value)
    if key in memo:
        return memo[key]
    memo[key] = (value, False)  # a cycle back here keeps the object
    if isinstance(value, dict):
        result = _encode_dict(value, memo)
    elif isinstance(value, (list, tuple)):
        result = _encode_sequence(value, memo)
    else:
        result = _encode_object(value, memo)
    memo[key] = result
    return result


def _encode_dict(value, memo):
    items = {k: _encode(v, memo) for k, v in value.items()}
    if not any(changed for _, changed in items.values()):
        return value, False
    new = dict.__new__(type(value)) if type(value) is not dict else {}
    if type(value) is not dict:
        new.__dict__.update(getattr(value, "__dict__", {}))
    for k, (v, _) in items.items():
        new[k] = v
    return new, True


def _encode_sequence(value, memo):
    items = [_encode(v, memo) for v in value]
    if not any(changed for _, changed in items):
        return value, False
    values = [v for v, _ in items]
    if isinstance(value, list):
        return values, True
    if hasattr(value, "_make"):  # a named tuple
        return value._make(values), True
    return tuple(values), True


def _encode_object(value, memo):
    cls = type(value)
    plain = (
        getattr(cls, "__getstate__", None) in _PLAIN_GETSTATE
        and getattr(cls, "__setstate__", None) in _PLAIN_SETSTATE
        and isinstance(getattr(value, "__dict__", None), dict)
    )
    if not plain:  # it saves itself (or skops says why it cannot)
        return value, False
    state, changed = _encode_dict(vars(value), memo)
    if not changed:
        return value, False
    try:
        new = cls.__new__(cls)
    except TypeError:  # a constructor that needs arguments: not ours to build
        return value, False
    new.__dict__.update(state)
    new.__dict__[_ENCODED] = True
    return new, True


def _encode_array(values):
    """A Series' or Index's values: a numpy array, with its extension dtype."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return {
            "categorical": True,
            "codes": np.asarray(values.array.codes),
            "categories": _encode_pandas(dtype.categories),
            "ordered": bool(dtype.ordered),
        }
    if isinstance(dtype, np.dtype):
        return {"values": values.to_numpy(copy=True)}
    # missing values as None, which every extension dtype reads as missing
    # (pd.NA itself is not savable)
    missing = np.asarray(values.isna())
    objects = values.to_numpy(dtype=object)
    objects[missing] = None
    return {"values": objects, "dtype": str(dtype)}


def _encode_pandas(value):
    if isinstance(value, pd.DataFrame):
        return {
            _PANDAS: "DataFrame",
            "columns": _encode_pandas(value.columns),
            "index": _encode_pandas(value.index),
            "data": [_encode_array(value.iloc[:, i]) for i in range(value.shape[1])],
        }
    if isinstance(value, pd.Series):
        return {
            _PANDAS: "Series",
            "values": _encode_array(value),
            "index": _encode_pandas(value.index),
            "name": value.name,
        }
    if isinstance(value, pd.RangeIndex):
        return {
            _PANDAS: "RangeIndex",
            "range": [value.start, value.stop, value.step],
            "name": value.name,
        }
    if isinstance(value, pd.MultiIndex):
        return {
            _PANDAS: "MultiIndex",
            "levels": [_encode_pandas(level) for level in value.levels],
            "codes": [np.asarray(codes) for codes in value.codes],
            "names": list(value.names),
        }
    return {_PANDAS: "Index", "values": _encode_array(value), "name": value.name}


def _encode_tensor(value):
    return {_TENSOR: value.detach().cpu().numpy().copy(), "device": str(value.device)}


# --- decoding -----------------------------------------------------------------


def _decode(value):
    if isinstance(value, dict):
        if _PANDAS in value:
            return _decode_pandas(value)
        if _TENSOR in value:
            return _decode_tensor(value)
        if _DEVICE in value:
            import torch

            return torch.device(value[_DEVICE])
        for k, v in value.items():
            value[k] = _decode(v)
        return value
    if isinstance(value, list):
        value[:] = [_decode(v) for v in value]
        return value
    if isinstance(value, tuple):
        values = [_decode(v) for v in value]
        return value._make(values) if hasattr(value, "_make") else tuple(values)
    state = getattr(value, "__dict__", None)
    if isinstance(state, dict) and state.pop(_ENCODED, False):
        _decode(state)
    return value


def _decode_array(state):
    if state.get("categorical"):
        return pd.Categorical.from_codes(
            state["codes"],
            categories=_decode_pandas(state["categories"]),
            ordered=state["ordered"],
        )
    if "dtype" in state:
        return pd.array(np.asarray(state["values"], dtype=object), dtype=state["dtype"])
    return state["values"]


def _name(name):
    # skops stores a tuple as a tuple and a list as a list; names are hashable
    return tuple(name) if isinstance(name, list) else name


def _decode_pandas(state):
    kind = state[_PANDAS]
    if kind == "DataFrame":
        columns = _decode_pandas(state["columns"])
        index = _decode_pandas(state["index"])
        data = [_decode_array(column) for column in state["data"]]
        frame = pd.DataFrame(dict(enumerate(data)), index=index, copy=False)
        frame.columns = columns
        return frame
    if kind == "Series":
        return pd.Series(
            _decode_array(state["values"]),
            index=_decode_pandas(state["index"]),
            name=_name(state["name"]),
            copy=False,
        )
    if kind == "RangeIndex":
        return pd.RangeIndex(*state["range"], name=_name(state["name"]))
    if kind == "MultiIndex":
        return pd.MultiIndex(
            levels=[_decode_pandas(level) for level in state["levels"]],
            codes=state["codes"],
            names=[_name(name) for name in state["names"]],
        )
    return pd.Index(_decode_array(state["values"]), name=_name(state["name"]))


def _decode_tensor(state):
    import torch

    return torch.from_numpy(np.array(state[_TENSOR])).to(state["device"])
