"""Bundled credit and fairness data sets, read offline.

Four loaders in scikit-learn's style (``as_frame``, ``return_X_y``, a
:class:`~sklearn.utils.Bunch` with ``data``, ``target``, ``frame``,
``feature_names``, ``target_names`` and ``DESCR``) that also return
``sensitive``, a DataFrame of the protected attributes. The sensitive columns
are part of ``data`` too, so ``sensitive_columns="sex"`` works on it.

- :func:`load_german_credit` -- Statlog German credit (1,000 rows);
- :func:`load_taiwan_credit` -- Taiwan credit card default (30,000 rows);
- :func:`load_adult` -- Adult census income (32,561 + 16,281 rows);
- :func:`load_compas` -- ProPublica COMPAS recidivism (6,172 rows).

The compressed files live in ``sklfair/datasets/data`` and their descriptions
in ``sklfair/datasets/descr``; nothing is downloaded.
"""

from ._adult import load_adult
from ._compas import load_compas
from ._german import load_german_credit
from ._taiwan import load_taiwan_credit

__all__ = ["load_adult", "load_compas", "load_german_credit", "load_taiwan_credit"]
