"""Camera view detection, validity of metrics by view, and confidence from visibility."""

from __future__ import annotations

import numpy as np
import pytest

from consumer.errors import DataError
from consumer.gait import METRICS, compute_window_metrics
from consumer.gait.evaluate.sessions import WindowedSession
from consumer.gait.specs import FRONTAL, SAGITTAL, valid_in


@pytest.mark.parametrize("view", ["side", "front", "oblique"])
def test_view_is_detected_from_the_landmarks(normal_runs, view: str) -> None:
    for ws in normal_runs[view]:
        detected = [ws.metrics.view_name(i) for i in range(len(ws.metrics))]
        assert np.mean([d == view for d in detected]) >= 0.95, (ws.session.runner.camera,
                                                                 detected)


def test_front_only_metrics_are_absent_on_side_views(normal_runs) -> None:
    front_only = [name for name, spec in METRICS.items() if not spec.views & {"side"}]
    assert set(front_only) >= {"knee_valgus_rel", "pelvic_drop_deg", "foot_lateral_rel"}
    for ws in normal_runs["side"]:
        side = np.array([ws.metrics.view_name(i) == "side" for i in range(len(ws.metrics))])
        for name in front_only:
            assert np.isnan(ws.metrics.values[name][side]).all(), name
            assert (ws.metrics.confidence[name][side] == 0).all(), name


def test_sagittal_metrics_are_absent_on_front_views(normal_runs) -> None:
    sagittal_only = [n for n, spec in METRICS.items() if spec.views == SAGITTAL]
    for ws in normal_runs["front"]:
        front = np.array([ws.metrics.view_name(i) == "front" for i in range(len(ws.metrics))])
        for name in sagittal_only:
            assert np.isnan(ws.metrics.values[name][front]).all(), name


def test_each_view_reports_its_own_metrics(normal_runs) -> None:
    for view, runs in normal_runs.items():
        ws: WindowedSession = runs[0]
        report = ws.metrics.window(len(ws.metrics) // 2)
        assert report["view"] == view
        assert set(report["metrics"]) <= set(valid_in(view))
        # The metrics every view shows are there (cadence_drop_rel comes from the state).
        expected = {"cadence_spm", "vertical_oscillation_rel", "elbow_angle_deg"}
        expected |= {"trunk_lean_deg", "overstride_rel"} if view in SAGITTAL else set()
        expected |= {"knee_valgus_rel", "pelvic_drop_deg"} if view in FRONTAL else set()
        assert expected <= set(report["metrics"]), report


def _with_visibility(windows: np.ndarray, factor: float) -> np.ndarray:
    dimmed = windows.copy()
    dimmed[..., 3::4] *= factor
    return dimmed


def test_confidence_falls_with_visibility(normal_runs) -> None:
    ws = normal_runs["side"][0]
    windows = ws.session.landmarks[ws.rows]
    full = compute_window_metrics(windows, ws.frames)
    dim = compute_window_metrics(_with_visibility(windows, 0.6), ws.frames)
    dark = compute_window_metrics(_with_visibility(windows, 0.25), ws.frames)
    for name in ("trunk_lean_deg", "cadence_spm", "overstride_rel", "elbow_angle_deg"):
        c_full, c_dim = full.confidence[name].mean(), dim.confidence[name].mean()
        assert c_full > c_dim, name
        # Below public tools' visibility floor nothing is trusted enough to report.
        assert np.isnan(dark.values[name]).all(), name


def test_bad_window_shapes_are_refused() -> None:
    with pytest.raises(DataError):
        compute_window_metrics(np.zeros((2, 30, 99)))
    with pytest.raises(DataError):
        compute_window_metrics(np.zeros((2, 5, 132)))


def test_lost_frames_inside_a_window_are_bridged(normal_runs) -> None:
    ws = normal_runs["side"][0]
    windows = ws.session.landmarks[ws.rows[:4]].copy()
    windows[:, 10:13] = np.nan
    metrics = compute_window_metrics(windows, ws.frames[:4])
    assert np.isfinite(metrics.values["trunk_lean_deg"]).all()
