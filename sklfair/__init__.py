"""sklfair: scikit-learn compatible estimators for fair ML on tabular data.

The package is organised in rooms, each importing only the ones below it:

- :mod:`sklfair.nets` -- skorch-based networks and the one training loop;
- :mod:`sklfair.reweighting`, :mod:`sklfair.constrained`,
  :mod:`sklfair.distillation` -- mitigation meta-estimators;
- :mod:`sklfair.metrics`, :mod:`sklfair.model_selection` -- measurement and
  fairness-aware model selection;
- :mod:`sklfair.deploy` -- int8 quantization, pruning, ONNX export and the
  deployment report of fitted networks;
- :mod:`sklfair.datasets` -- bundled credit and fairness data sets.

Torch is only imported by :mod:`sklfair.nets` (and the modules that train
networks), so ``import sklfair`` stays cheap.
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
