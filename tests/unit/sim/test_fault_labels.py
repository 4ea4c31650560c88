"""A fault label is only right when a careful observer would call the form faulty: at its
default severity each fault's defining measure (``FaultSpec.measure``, on the 3D ground truth)
lies outside the whole normal population's range, it grows with severity, and a view the
catalogue says shows the fault does show it in the picture (a gait metric read from the
landmarks separates faulty from normal windows of that view)."""

from __future__ import annotations

import numpy as np
import pytest

from consumer.gait import compute_window_metrics
from consumer.windows.rules import WindowConfig, sliding_windows
from producer_sim import FAULT_NAMES, FAULTS, VIEWS, FaultPlan, RunnerProfile, simulate_session
from producer_sim.faults import RAMP_FRAMES, views_for

FRAMES = 240
SETTLED = np.arange(FRAMES) >= RAMP_FRAMES
NORMAL_RUNNERS = 36
FAULTY_RUNNERS = 6
# Outside the normal range by at least this share of its width: clearly, not just.
MARGIN = 0.1


def _runner(stream: int, index: int, view: str) -> RunnerProfile:
    return RunnerProfile.random(np.random.default_rng([stream, index]), f"r{index}", view=view)


def _measure(fault: str, severity: float, runner: RunnerProfile, seed: int) -> float:
    plan = [FaultPlan(fault, severity, 0)] if severity > 0 else []
    session = simulate_session(runner, FRAMES, plan, seed=seed)
    return session.truth_summary(SETTLED)[FAULTS[fault].measure]


@pytest.fixture(scope="module")
def normal_measures() -> dict[str, np.ndarray]:
    summaries = [
        simulate_session(_runner(71, i, VIEWS[i % 3]), FRAMES, seed=i).truth_summary(SETTLED)
        for i in range(NORMAL_RUNNERS)
    ]
    return {key: np.array([s[key] for s in summaries]) for key in summaries[0]}


@pytest.mark.parametrize("fault", FAULT_NAMES)
def test_default_severity_lies_clearly_outside_the_normal_range(fault, normal_measures):
    spec = FAULTS[fault]
    sign = 1.0 if spec.increases else -1.0
    normal = sign * normal_measures[spec.measure]
    views = views_for(fault)
    faulty = sign * np.array([
        _measure(fault, spec.default_severity, _runner(72, i, views[i % len(views)]), 100 + i)
        for i in range(FAULTY_RUNNERS)
    ])
    edge = normal.max() + MARGIN * (normal.max() - normal.min())
    assert faulty.min() > edge, (
        f"{fault}: faulty {sign * faulty.min():.3f} vs normal range "
        f"{sign * normal.min():.3f}..{sign * normal.max():.3f}")


@pytest.mark.parametrize("fault", FAULT_NAMES)
def test_the_measure_grows_with_severity(fault):
    spec = FAULTS[fault]
    sign = 1.0 if spec.increases else -1.0
    runner = _runner(73, 0, views_for(fault)[0])
    values = [sign * _measure(fault, s, runner, 5) for s in (0.0, 0.4, 0.8, 1.0)]
    assert np.all(np.diff(values) > 0), values


# The gait metric that reads each fault's measure from the picture.
PICTURE_METRIC = {
    "overstriding": "overstride_rel", "heel_striking": "foot_strike_deg",
    "vertical_oscillation": "vertical_oscillation_rel", "trunk_lean": "trunk_lean_deg",
    "hunched_head": "head_forward_rel", "knee_valgus": "knee_valgus_rel",
    "cross_over": "foot_lateral_rel", "pelvic_drop": "pelvic_drop_deg",
    "limp": "step_time_asymmetry", "stiff_arms": "elbow_angle_deg",
    "arm_crossing": "wrist_lateral_rel", "low_cadence": "cadence_spm",
}
WINDOWS = WindowConfig(size=30, hop=10, max_gap_frames=5, max_gap_ms=1000)


def _window_metrics(runner: RunnerProfile, plans: list[FaultPlan], seed: int):
    session = simulate_session(runner, FRAMES, plans, seed=seed)
    kept = np.flatnonzero(np.isfinite(session.landmarks).all(axis=1) & SETTLED)
    windows, frames = sliding_windows(session.frames[kept], session.landmarks[kept], WINDOWS)
    return compute_window_metrics(windows, frames).values


@pytest.fixture(scope="module")
def normal_metrics_by_view() -> dict[str, dict[str, np.ndarray]]:
    """Every gait metric of five normal runners' windows, per view."""
    out = {}
    for view in VIEWS:
        parts = [_window_metrics(_runner(74, i, view), [], i) for i in range(5)]
        out[view] = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    return out


@pytest.mark.parametrize(("fault", "view"), [(f, v) for f in FAULT_NAMES for v in views_for(f)])
def test_a_declared_view_shows_the_fault_in_the_picture(fault, view, normal_metrics_by_view):
    spec, name = FAULTS[fault], PICTURE_METRIC[fault]
    sign = 1.0 if spec.increases else -1.0
    normal = normal_metrics_by_view[view][name]
    plans = [FaultPlan.default(fault)]
    faulty = np.concatenate([_window_metrics(_runner(75, i, view), plans, 50 + i)[name]
                             for i in range(2)])
    normal, faulty = sign * normal[np.isfinite(normal)], sign * faulty[np.isfinite(faulty)]
    assert len(normal) and len(faulty), f"{name} not reported in {view} views"
    # Most faulty windows read beyond nearly all normal ones.
    assert np.median(faulty) > np.percentile(normal, 90), (
        f"{fault}/{view}: faulty median {sign * np.median(faulty):.3f}, normal p90 "
        f"{sign * np.percentile(normal, 90):.3f}")
