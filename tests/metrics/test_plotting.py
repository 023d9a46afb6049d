"""The plots of sklfair.plotting: panels, gap marks and the Pareto front."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sklfair.exceptions import UndefinedRateWarning
from sklfair.metrics import group_metrics
from sklfair.model_selection import pareto_front
from sklfair.plotting import plot_group_metrics, plot_pareto_front


def test_group_metrics_from_a_wide_table(close_figures):
    y_true = [1, 0, 1, 0, 1, 1]
    y_pred = [1, 1, 0, 0, 1, 0]
    # group c has no negatives: its false positive rate counts as 0
    with pytest.warns(UndefinedRateWarning, match="false_positive_rate of group 'c'"):
        table = group_metrics(y_true, y_pred, sensitive_features=list("aabbcc"))
    fig = plot_group_metrics(table, overall={"selection_rate": 0.5})
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4  # every metric but count
    ax = fig.axes[0]
    assert ax.get_title() == "selection rate"
    heights = [patch.get_height() for patch in ax.patches]
    np.testing.assert_allclose(heights, table["selection_rate"])
    # selection rates 1, 0, 1/2: the gap is 1
    assert "gap 1.000" in [t.get_text() for t in ax.texts]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["a", "b", "c"]


def test_long_frame_rows_and_columns(close_figures):
    frame = pd.DataFrame(
        {
            "attribute": ["sex"] * 4 + ["age"] * 4,
            "group": ["f", "f", "m", "m", "<25", "<25", ">=25", ">=25"],
            "metric": ["selection_rate", "accuracy"] * 4,
            "value": [0.5, 0.7, 0.6, 0.8, 0.3, 0.6, 0.7, 0.75],
        }
    )
    fig = plot_group_metrics(frame)
    assert len(fig.axes) == 4
    assert fig.axes[0].get_ylabel() == "sex" and fig.axes[2].get_ylabel() == "age"
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert "gap 0.400" in texts
    with pytest.raises(ValueError, match=r"Unknown metric\(s\) \['auc'\]"):
        plot_group_metrics(frame, metrics=["auc"])
    with pytest.raises(ValueError, match=r"Unknown attribute\(s\) \['race'\]"):
        plot_group_metrics(frame, attributes=["race"])
    with pytest.raises(TypeError, match="DataFrame"):
        plot_group_metrics(frame.to_numpy())


CV_RESULTS = {
    "params": [{"C": c} for c in (1, 2, 3, 4)],
    "param_C": [1, 2, 3, 4],
    "mean_test_accuracy": [0.80, 0.78, 0.75, 0.70],
    "mean_test_dp": [-0.20, -0.05, -0.10, -0.01],
}


def test_pareto_front_from_cv_results(close_figures):
    # C=3 (0.75, gap 0.10) is beaten by C=2 (0.78, gap 0.05)
    fig = plot_pareto_front(CV_RESULTS, "accuracy", "dp", annotate="C")
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), [0.01, 0.05, 0.20])
    np.testing.assert_allclose(line.get_ydata(), [0.70, 0.78, 0.80])
    dominated = ax.collections[0].get_offsets()
    np.testing.assert_allclose(dominated, [[0.10, 0.75]])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2", "4"]
    assert ax.get_ylabel() == "mean accuracy"


def test_pareto_front_from_its_table(close_figures):
    front = pareto_front(CV_RESULTS, "accuracy", "dp")
    fig = plot_pareto_front(front)
    np.testing.assert_allclose(
        fig.axes[0].get_lines()[0].get_xdata(), [0.01, 0.05, 0.2]
    )
    assert fig.axes[0].get_xlabel() == "mean dp gap (lower is fairer)"
    with pytest.raises(ValueError, match="No column 'gamma'"):
        plot_pareto_front(front, annotate="gamma")


def test_pareto_error_bars_from_std_and_intervals(close_figures):
    cv_results = {
        **CV_RESULTS,
        "std_test_accuracy": [0.01, 0.02, 0.01, 0.03],
        "std_test_dp": [0.02, 0.01, 0.05, 0.004],
    }
    fig = plot_pareto_front(cv_results, "accuracy", "dp")
    (bars,) = fig.axes[0].containers
    _, _, (xbars, ybars) = bars
    # one standard deviation on each side of the mean gap and score
    std_gap = dict(zip([0.20, 0.05, 0.10, 0.01], cv_results["std_test_dp"]))
    for segment in xbars.get_segments():
        low, high = segment[:, 0]
        centre = round((low + high) / 2, 6)
        assert (high - low) / 2 == pytest.approx(std_gap[centre])
    std_score = dict(zip([0.80, 0.78, 0.75, 0.70], cv_results["std_test_accuracy"]))
    for segment in ybars.get_segments():
        low, high = segment[:, 1]
        centre = round((low + high) / 2, 6)
        assert (high - low) / 2 == pytest.approx(std_score[centre])
    assert (
        plot_pareto_front(cv_results, "accuracy", "dp", error_bars=False)
        .axes[0]
        .containers
        == []
    )
    # intervals (e.g. certificates on held-out rows): asymmetric, gap only
    table = pd.DataFrame(
        {
            "score": [0.80, 0.78],
            "gap": [0.10, 0.04],
            "gap_low": [0.06, 0.01],
            "gap_high": [0.15, 0.09],
        }
    )
    (bars,) = plot_pareto_front(table).axes[0].containers
    _, _, (xbars,) = bars
    ends = sorted(tuple(np.round(seg[:, 0], 6)) for seg in xbars.get_segments())
    assert ends == [(0.01, 0.09), (0.06, 0.15)]


def test_group_bars_skip_missing_intervals(close_figures):
    frame = pd.DataFrame(
        {
            "group": ["a", "b", "a", "b"],
            "metric": ["selection_rate"] * 2 + ["roc_auc"] * 2,
            "value": [0.5, 0.7, 0.6, 0.8],
            "low": [0.4, 0.6, np.nan, np.nan],
            "high": [0.6, 0.75, np.nan, np.nan],
        }
    )
    fig = plot_group_metrics(frame)
    rate, auc = fig.axes
    (segments,) = [c.get_segments() for c in rate.collections]
    np.testing.assert_allclose(
        [[s[0][1], s[1][1]] for s in segments], [[0.4, 0.6], [0.6, 0.75]]
    )
    assert len(auc.collections) == 0  # no interval, no error bar
    assert rate.get_ylim()[1] >= 0.75
