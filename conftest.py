"""Settings shared by the doctests (under sklfair/) and the tests (under tests/).

Figures are drawn off screen. Thread pinning for the tests lives in
tests/conftest.py.
"""

import matplotlib

matplotlib.use("Agg")
