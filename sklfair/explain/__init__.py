"""Why a model decides as it does: contributions, reason codes and proxies.

- :func:`feature_contributions` -- each original column's shap contribution
  to each row's log-odds of the adverse class (shap's deep, linear or
  permutation explainer, grouped back through the preprocessing);
- :func:`reason_codes` -- for each row, the columns that pushed it toward
  the adverse class the most, never a sensitive column;
- :func:`reason_parity` -- how often each reason is given in each group;
- :func:`proxy_report` -- the columns that best predict the sensitive
  attribute, so that a reason standing in for it can be spotted.

Needs the optional dependency shap (``pip install 'sklfair[explain]'``);
the plots are in :mod:`sklfair.plotting`.
"""

from ._contributions import feature_contributions
from ._proxies import proxy_report
from ._reasons import reason_codes, reason_parity

__all__ = ["feature_contributions", "proxy_report", "reason_codes", "reason_parity"]
