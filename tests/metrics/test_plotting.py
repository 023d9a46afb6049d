"""The plots of sklfair.plotting: panels, gap marks and the Pareto front."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sklfair.metrics import group_metrics
from sklfair.plotting import _non_dominated, plot_group_metrics, plot_pareto_front


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


def test_non_dominated_by_hand():
    score = np.array([0.80, 0.78, 0.75, 0.70, 0.79])
    fairness = np.array([-0.20, -0.05, -0.10, -0.01, -0.20])
    # 0.75/-0.10 is beaten by 0.78/-0.05; 0.79/-0.20 by 0.80/-0.20
    assert _non_dominated(fairness, score).tolist() == [True, True, False, True, False]


def test_pareto_front_plot(close_figures):
    results = {
        "mean_test_accuracy": [0.80, 0.78, 0.75, 0.70],
        "mean_test_dp": [-0.20, -0.05, -0.10, -0.01],
        "params": [{"C": c} for c in (1, 2, 3, 4)],
    }
    fig = plot_pareto_front(results, score="accuracy", constraint="dp")
    ax = fig.axes[0]
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), [-0.20, -0.05, -0.01])
    np.testing.assert_allclose(line.get_ydata(), [0.80, 0.78, 0.70])
    front = pd.DataFrame(results).iloc[[0, 3]]
    fig = plot_pareto_front(
        pd.DataFrame(results), score="mean_test_accuracy", constraint="dp", front=front
    )
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_xdata(), [-0.20, -0.01])
    with pytest.raises(ValueError, match="No column 'f1'"):
        plot_pareto_front(results, score="f1", constraint="dp")
