"""Simulated sessions cut into windows the way the consumer cuts them, with their metrics.

Evaluation only: this module imports the simulator, which the serving path never does.
Runners derive from (seed, view, fault, index), so seed sets never share a runner: tune on
some seeds, report on others.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from consumer.gait.rolling import RollingGait, fold_windows
from consumer.gait.window import WindowMetrics, compute_window_metrics
from consumer.recording import NORMAL
from consumer.windows.rules import WindowConfig, sliding_windows
from producer_sim.faults import FAULT_NAMES, FAULTS, RAMP_FRAMES, VIEWS, FaultPlan
from producer_sim.profile import RunnerProfile
from producer_sim.session import SimulatedSession, simulate_session

WINDOW = WindowConfig(size=30, hop=10, max_gap_frames=5, max_gap_ms=1000)
# Dataset-like severities: the default 0.8 times 0.9-1.2, capped at 1 (producer_sim.dataset).
SEVERITY_SPREAD = (0.9, 1.2)
RAMP = "ramp"


@dataclass(frozen=True)
class WindowedSession:
    session: SimulatedSession
    fault: str | None
    rows: np.ndarray  # (W, T) row indices of each window's frames into the session arrays
    frames: np.ndarray  # (W, T) frame numbers
    metrics: WindowMetrics
    rolling: list[RollingGait]  # the per-user rolling state after each window
    labels: np.ndarray  # (W,) "normal", the fault (settled: full weight), or "ramp"

    @property
    def view(self) -> str:
        return self.session.runner.view

    @property
    def leg_m(self) -> float:
        return self.session.runner.body.leg_m


def window_labels(session: SimulatedSession, rows: np.ndarray) -> np.ndarray:
    """"normal" when every frame is normal, the fault when it is at full weight on every
    frame, else "ramp" (coming on or going: neither counted as faulty nor as normal)."""
    label = session.truth["label"][rows]
    labels = np.full(len(rows), RAMP, dtype=object)
    labels[(label == NORMAL).all(axis=1)] = NORMAL
    for plan in session.faults:
        weight = session.truth[f"fault_weight_{plan.fault}"][rows]
        labels[(weight >= 0.999).all(axis=1)] = plan.fault
    return labels


def windowed(session: SimulatedSession) -> WindowedSession:
    """Drop lost frames (as a recording's NaN rows are), cut windows, compute metrics."""
    kept = np.flatnonzero(np.isfinite(session.landmarks).all(axis=1))
    windows, frames = sliding_windows(session.frames[kept], session.landmarks[kept], WINDOW)
    rows = np.searchsorted(session.frames, frames)
    metrics = compute_window_metrics(windows, frames)
    fault = session.faults[0].fault if session.faults else None
    return WindowedSession(
        session=session, fault=fault, rows=rows, frames=frames, metrics=metrics,
        rolling=fold_windows(metrics, frames), labels=window_labels(session, rows),
    )


def runner(seed: int, view: str, index: int, fault: str | None = None) -> RunnerProfile:
    stream = 0 if fault is None else 1 + FAULT_NAMES.index(fault)
    rng = np.random.default_rng([seed, VIEWS.index(view), stream, index])
    tag = "normal" if fault is None else fault
    return RunnerProfile.random(rng, f"eval-s{seed}-{view}-{tag}-{index:02d}", view=view)


def simulate(
    seed: int, view: str, index: int, fault: str | None = None, frames: int = 450,
    onset: int = 150,
) -> SimulatedSession:
    profile = runner(seed, view, index, fault)
    rng = np.random.default_rng([seed, 99, VIEWS.index(view), index])
    plans = []
    if fault is not None:
        default = FAULTS[fault].default_severity
        severity = min(1.0, default * float(rng.uniform(*SEVERITY_SPREAD)))
        plans = [FaultPlan(fault, round(severity, 3), onset)]
    return simulate_session(profile, frames, plans, seed=int(rng.integers(2**31)),
                            session_id=f"s{seed}")


def normal_sessions(seeds: list[int], runners: int, frames: int) -> Iterator[WindowedSession]:
    for seed in seeds:
        for view in VIEWS:
            for i in range(runners):
                yield windowed(simulate(seed, view, i, None, frames))


def fault_sessions(
    seeds: list[int], runners: int, frames: int, onset: int
) -> Iterator[WindowedSession]:
    """Each fault in each view where the camera shows it (``FAULTS[f].visible_views``)."""
    for seed in seeds:
        for fault in FAULT_NAMES:
            for view in VIEWS:
                if view not in FAULTS[fault].visible_views:
                    continue
                for i in range(runners):
                    yield windowed(simulate(seed, view, i, fault, frames, onset))


__all__ = ["RAMP", "RAMP_FRAMES", "WindowedSession", "fault_sessions", "normal_sessions",
           "simulate", "windowed"]
