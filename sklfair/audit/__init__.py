"""The fairness audit behind ``python -m sklfair audit``.

One call, :func:`run_audit`, takes a binary classification data set with its
sensitive attributes, splits it (stratified by the target), fits a baseline
and every mitigation sklfair offers, measures them all on the held-out rows
and writes an HTML report with plots. Each step lives in its own module:

- data (``_data``): :func:`load_audit_data` -- a bundled data set
  (:mod:`sklfair.datasets`) or a CSV file, read and checked
  (:class:`~sklfair.exceptions.AuditError` with a one-line message on bad
  input, a parse error named with its line), with its bad outcome for the
  credit section (:data:`BAD_LABELS`);
- contenders (``_contenders``): :func:`make_preprocessor` -- the shared
  preprocessing, which never lets a sensitive column in -- and
  :func:`make_contenders` -- the models compared: baselines (logistic
  regression, a network, gradient boosting),
  :class:`~sklfair.reweighting.ReweighingClassifier`,
  :class:`~sklfair.constrained.FairConstrainedClassifier` (Lagrangian at two
  bounds, and group thresholds) and two
  :class:`~sklfair.distillation.DistilledClassifier` students;
- the run (``_run``): :func:`run_audit` and :func:`evaluate` -- the
  comparison table (accuracy with its Wilson interval, AUC, demographic
  parity and equalized odds differences per sensitive attribute with their
  intervals from :func:`sklfair.metrics.fairness_interval`, fit seconds) in
  an :class:`AuditResult`;
- certificates (``_certificates``): :func:`certify_models` -- every model
  certified on the held-out rows with :func:`sklfair.metrics.certify`, at
  its own bound or the audit's (:data:`BOUND`);
- credit (``_credit``): :func:`credit_audit` -- Gini, KS, calibration by
  group, approval and bad rates and the adverse impact ratio at a cutoff for
  an approval rate (:data:`APPROVAL_RATE`), and the reasons of the declined
  per group (:mod:`sklfair.explain`);
- privacy (``_privacy``): :func:`privacy_audit` -- the membership-inference
  attack of :mod:`sklfair.privacy` on every model, when asked;
- the report (``_report``, ``_sections``, ``_html``, ``_output``):
  :func:`write_report` -- ``report.html`` with every section, its tables in
  boxes that scroll sideways and columns named in words, the PNG plots it
  shows, and the tables as CSV, written into a new folder that replaces the
  output folder only when complete; the command line's text tables
  (``_text``): :func:`format_table`, :func:`format_credit_table`,
  :func:`format_privacy_table`;
- process state (``_state``): the thread settings and the Ctrl-C handler a
  run changes, restored when it returns or raises.

Mitigations are aimed at one attribute (``mitigate``); every sensitive
attribute is reported. Torch is imported only by the modules that train
networks; matplotlib only when the report is written; shap only for the
reasons of the credit section.
"""

from sklfair.exceptions import AuditError

from ._certificates import BOUND, certify_models
from ._contenders import (
    BUDGETS,
    CONSTRAINTS,
    LAGRANGIAN_BOUNDS,
    STUDENT_BOUND,
    Contender,
    make_contenders,
    make_preprocessor,
)
from ._credit import (
    APPROVAL_RATE,
    PERMUTATION_ROWS,
    REASON_ROWS,
    REASONS,
    CreditAudit,
    ReasonSummary,
    credit_audit,
)
from ._data import BAD_LABELS, DATASETS, AuditData, load_audit_data
from ._privacy import N_REFERENCES, PrivacyAudit, privacy_audit
from ._report import write_report
from ._run import (
    CONFIDENCE,
    GAPS,
    TEST_SIZE,
    AuditResult,
    accuracy_interval,
    evaluate,
    run_audit,
)
from ._text import (
    format_credit_table,
    format_privacy_table,
    format_table,
    interval_columns,
)

__all__ = [
    "APPROVAL_RATE",
    "BAD_LABELS",
    "BOUND",
    "BUDGETS",
    "CONFIDENCE",
    "CONSTRAINTS",
    "DATASETS",
    "GAPS",
    "LAGRANGIAN_BOUNDS",
    "N_REFERENCES",
    "PERMUTATION_ROWS",
    "REASONS",
    "REASON_ROWS",
    "STUDENT_BOUND",
    "TEST_SIZE",
    "AuditData",
    "AuditError",
    "AuditResult",
    "Contender",
    "CreditAudit",
    "PrivacyAudit",
    "ReasonSummary",
    "accuracy_interval",
    "certify_models",
    "credit_audit",
    "evaluate",
    "format_credit_table",
    "format_privacy_table",
    "format_table",
    "interval_columns",
    "load_audit_data",
    "make_contenders",
    "make_preprocessor",
    "privacy_audit",
    "run_audit",
    "write_report",
]
