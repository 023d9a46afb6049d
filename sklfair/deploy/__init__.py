"""Deployable models: int8 quantization, pruning, ONNX export, the deployment report.

- :func:`quantize`: int8 weights for the sklfair network of a fitted model
  (:class:`QuantizedNetClassifier` or :class:`QuantizedNetRegressor` takes
  its place);
- :func:`prune`: remove hidden units (structured) or weights (unstructured)
  with torch's pruning utilities, then fine-tune through the one training
  loop, distilling from the unpruned network and keeping the fit's fairness
  terms;
- :func:`to_onnx`: the whole fitted Pipeline, float or int8, as one ONNX
  graph (skl2onnx with converters registered for sklfair's models);
- :func:`compare`: size, speed, accuracy and every group gap of several
  models and their ONNX graphs, side by side.

The command ``python -m sklfair export`` runs the whole path on a bundled
data set. Needs the ``deploy`` extra: ``pip install 'sklfair[deploy]'``.
"""

from ._compare import compare
from ._onnx import OnnxExportError, onnx_inputs, to_onnx
from ._prune import prune
from ._quantize import QuantizedNetClassifier, QuantizedNetRegressor, quantize

__all__ = [
    "compare",
    "OnnxExportError",
    "QuantizedNetClassifier",
    "QuantizedNetRegressor",
    "onnx_inputs",
    "prune",
    "quantize",
    "to_onnx",
]
