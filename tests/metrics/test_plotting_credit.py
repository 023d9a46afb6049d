"""The credit plots of sklfair.plotting: reliability curves and approval bars."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from sklfair.metrics import (
    approval_by_group,
    calibration_by_group,
    expected_calibration_error,
)
from sklfair.plotting import plot_approval_by_group, plot_calibration_by_group


def _dashed(ax):
    """The height of the (one) dashed line of ``ax``."""
    (line,) = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    return line.get_ydata()[0]


def _error_bars(ax):
    """The ``(low, high)`` ends of each error bar set drawn on ``ax``."""
    from matplotlib.container import ErrorbarContainer

    ends = []
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            (segments,) = container.lines[2]
            ends.append([(s[0][1], s[1][1]) for s in segments.get_segments()])
    return ends


def test_calibration_curves_per_group(close_figures):
    rng = np.random.default_rng(0)
    groups = np.repeat(["f", "m"], 200)
    prob = rng.random(400) * 0.6
    # m's risk is twice what the model says: miscalibrated for m only
    y = (rng.random(400) < np.where(groups == "m", 1.6, 1.0) * prob).astype(int)
    table = calibration_by_group(y, prob, sensitive_features=groups, n_bins=5)
    fig = plot_calibration_by_group(table)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert len(lines) == 3  # the diagonal and one curve per group
    for line, group in zip(lines[1:], ["f", "m"], strict=True):
        part = table[table["group"] == group]
        np.testing.assert_allclose(line.get_xdata(), part["mean_predicted"])
        np.testing.assert_allclose(line.get_ydata(), part["observed_rate"])
        rows = groups == group
        ece = expected_calibration_error(y[rows], prob[rows], n_bins=5)
        assert line.get_label() == f"{group} (ECE {ece:.3f})"
    # each bin's Wilson interval of the observed rate as an error bar
    for bars, group in zip(_error_bars(ax), ["f", "m"], strict=True):
        part = table[table["group"] == group]
        np.testing.assert_allclose(
            bars, part[["observed_rate_low", "observed_rate_high"]]
        )
    fig = plot_calibration_by_group(table, groups=["m"])
    assert len(fig.axes[0].containers) == 1
    with pytest.raises(ValueError, match=r"Unknown group\(s\) \['x'\]"):
        plot_calibration_by_group(table, groups=["x"])
    with pytest.raises(ValueError, match="calibration_by_group"):
        plot_calibration_by_group(table.drop(columns="weight"))


def test_approval_bars_flag_adverse_impact(close_figures):
    outcome = [0, 0, 1, 1, 0, 0, 0, 1]
    decisions = [0, 0, 0, 1, 0, 1, 1, 1]
    table = approval_by_group(outcome, decisions, sensitive_features=list("aaaabbbb"))
    fig = plot_approval_by_group(table)
    rates, ratios, bads = fig.axes
    heights = [patch.get_height() for patch in rates.patches]
    np.testing.assert_allclose(heights, [0.75, 0.25])
    # every panel draws the table's intervals as error bars
    for ax, name in zip(
        fig.axes, ["approval_rate", "adverse_impact_ratio", "bad_rate"], strict=True
    ):
        (bars,) = _error_bars(ax)
        np.testing.assert_allclose(bars, table[[f"{name}_low", f"{name}_high"]])
    assert _dashed(ratios) == pytest.approx(0.8)
    # b is flagged (red), a is not; the dashed line is 0.8 x the top rate
    colors = [patch.get_facecolor() for patch in rates.patches]
    assert colors[0] != colors[1]
    assert _dashed(rates) == pytest.approx(0.8 * 0.75)
    np.testing.assert_allclose(
        [patch.get_height() for patch in bads.patches], table["bad_rate"]
    )
    # no outcomes: one panel; the table's own min_ratio draws the line
    table = approval_by_group(
        None, decisions, sensitive_features=list("aaaabbbb"), min_ratio=0.5
    )
    fig = plot_approval_by_group(table)
    assert len(fig.axes) == 2
    assert _dashed(fig.axes[0]) == pytest.approx(0.5 * 0.75)
    # without intervals: bars only
    table = approval_by_group(
        None, decisions, sensitive_features=list("aaaabbbb"), confidence=None
    )
    assert not _error_bars(plot_approval_by_group(table).axes[0])
    with pytest.raises(TypeError, match="DataFrame"):
        plot_approval_by_group(table.to_numpy())
