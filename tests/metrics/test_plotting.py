"""The plots of sklfair.plotting: panels, gap marks and the Pareto front."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sklfair.metrics import group_metrics
from sklfair.model_selection import pareto_front
from sklfair.plotting import plot_group_metrics, plot_pareto_front


def test_group_metrics_from_a_wide_table(close_figures):
    y_true = [1, 0, 1, 0, 1, 1]
    y_pred = [1, 1, 0, 0, 1, 0]
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
