"""Cadence and trunk lean against the simulator's ground truth on held-out runners."""

from __future__ import annotations

import numpy as np
import pytest

from consumer.gait.combined import combined_values
from consumer.gait.evaluate.sessions import RAMP
from consumer.gait.evaluate.truth import TRUTH

LIMITS = {"cadence_spm": 3.0, "trunk_lean_deg": 3.0}


@pytest.mark.parametrize("metric", sorted(LIMITS))
def test_side_view_error_is_within_the_target(normal_runs, metric: str) -> None:
    errors = []
    for ws in normal_runs["side"]:
        values, _ = combined_values(ws.metrics, ws.rolling)
        for w in np.flatnonzero(ws.labels != RAMP)[4:]:  # after the rolling state warms up
            true = TRUTH[metric](ws.session.truth, ws.leg_m, ws.rows[w])
            errors.append(values[metric][w] - true)
    errors = np.asarray(errors)
    assert np.isfinite(errors).mean() > 0.95
    assert np.nanmean(np.abs(errors)) < LIMITS[metric], np.nanmean(np.abs(errors))


def test_pooled_cadence_is_within_3_steps_per_minute_in_every_view(normal_runs) -> None:
    errors = []
    for runs in normal_runs.values():
        for ws in runs:
            truth = ws.session.truth["cadence_spm"]
            for w in range(6, len(ws.rolling)):  # after 2 s of running
                errors.append(abs(ws.rolling[w].cadence_spm() - truth[ws.rows[w]].mean()))
    assert np.mean(np.asarray(errors) <= 3.0) >= 0.9, np.percentile(errors, [50, 90])


def test_relative_metrics_scale_with_the_body_not_the_camera(normal_runs) -> None:
    """Vertical oscillation in leg lengths: the same runner's truth-relative error stays
    small whatever the camera distance and picture shape."""
    for view in ("side", "front"):
        for ws in normal_runs[view]:
            values, _ = combined_values(ws.metrics, ws.rolling)
            w = len(ws.rows) // 2
            true = TRUTH["vertical_oscillation_rel"](ws.session.truth, ws.leg_m, ws.rows[w])
            assert abs(values["vertical_oscillation_rel"][w] - true) < 0.03
