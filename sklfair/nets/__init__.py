"""skorch-based tabular networks and the one training loop.

Public: :class:`TabularNetClassifier`, :class:`TabularNetRegressor`,
:class:`ParquetChunks` (chunked input for ``fit_chunks``),
:class:`LossTerm` (the extension point used by the fairness and distillation
meta-estimators) and :func:`monotonic_cst_for` (monotone constraints on a
Pipeline's original columns). This is the only subpackage that trains torch modules.
"""

from ._chunks import ParquetChunks
from ._classifier import TabularNetClassifier
from ._monotone import monotonic_cst_for
from ._objective import LossTerm
from ._regressor import TabularNetRegressor
from ._training import NonFiniteLossError

__all__ = [
    "LossTerm",
    "NonFiniteLossError",
    "ParquetChunks",
    "TabularNetClassifier",
    "TabularNetRegressor",
    "monotonic_cst_for",
]
