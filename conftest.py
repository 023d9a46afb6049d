"""Shared test settings.

Torch runs single-threaded in the tests: the networks here are tiny, and
several test processes (or other jobs) on a small machine would otherwise
oversubscribe the cores, which makes OpenMP-threaded torch many times slower.
"""

import matplotlib
import torch

matplotlib.use("Agg")
torch.set_num_threads(1)
