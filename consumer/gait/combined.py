"""A window's metrics with the rolling state's put in, as every output shows them.

Cadence and the left/right timing metrics are far more precise pooled over the last seconds
(``rolling.py``) than from one window, and metrics read from a few events per window are
steadier averaged over the last few windows; where the state knows them and the window's
view shows them, they replace the window's own values (confidence: the window's, at least
0.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from consumer.gait.rolling import RollingGait
from consumer.gait.specs import METRICS
from consumer.gait.view import VIEWS
from consumer.gait.window import WindowMetrics


def combined_values(
    metrics: WindowMetrics, states: Sequence[RollingGait | None]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(values, confidence) per metric, (N,) each, with the pooled metrics put in."""
    values = {name: v.copy() for name, v in metrics.values.items()}
    confidence = {name: c.copy() for name, c in metrics.confidence.items()}
    views = np.asarray(VIEWS)[metrics.view]
    for i, state in enumerate(states):
        if state is None:
            continue
        for name, pooled in state.summary().items():
            if np.isfinite(pooled) and views[i] in METRICS[name].views:
                values[name][i] = pooled
                confidence[name][i] = max(float(confidence[name][i]), 0.5)
    return values, confidence


def window_report(
    metrics: WindowMetrics, i: int, state: RollingGait | None = None
) -> dict[str, Any]:
    """Window ``i`` as JSON-ready data (view, metrics, confidence), pooled metrics put in."""
    values, confidence = combined_values(metrics, [None] * i + [state])
    report: dict[str, Any] = {"view": metrics.view_name(i), "metrics": {}, "confidence": {}}
    for name, column in values.items():
        value = float(column[i])
        if np.isfinite(value):
            report["metrics"][name] = round(value, METRICS[name].decimals)
            report["confidence"][name] = round(float(confidence[name][i]), 2)
    return report
