"""Held-out simulated sessions with everything the evaluation reads: metrics as shown
(rolling state put in), cues, labels, and the camera behind each."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from consumer.gait.cues import CueFlags, RulesDetector
from consumer.gait.evaluate.sessions import WindowedSession, fault_sessions, normal_sessions
from consumer.gait.stateful import assess
from producer_sim.faults import RAMP_FRAMES

log = logging.getLogger(__name__)

# Camera distance bands (m) errors are broken down by: the simulator places the phone 2.5-6 m
# away, further when the runner would not fit.
DISTANCE_BANDS: tuple[tuple[str, float, float], ...] = (
    ("< 3.5 m", 0.0, 3.5), ("3.5-5 m", 3.5, 5.0), (">= 5 m", 5.0, 99.0),
)


@dataclass(frozen=True)
class Evaluated:
    windowed: WindowedSession
    values: dict[str, np.ndarray]
    confidence: dict[str, np.ndarray]
    flags: CueFlags

    @property
    def distance_band(self) -> str:
        distance = self.windowed.session.runner.camera.distance_m
        return next(name for name, lo, hi in DISTANCE_BANDS if lo <= distance < hi)


@dataclass(frozen=True)
class EvaluationPlan:
    seeds: tuple[int, ...]
    runners: int = 6  # per view and seed (normal), per fault, visible view and seed (faulty)
    frames: int = 450  # 15 s per session
    onset: int = 150  # faults set in after 5 s; windows at full weight count as faulty


def evaluate_sessions(
    sessions: Iterable[WindowedSession], detector: RulesDetector
) -> list[Evaluated]:
    out = []
    for ws in sessions:
        done = assess(ws.metrics, ws.frames, [(None, len(ws.frames))], detector)
        out.append(Evaluated(ws, done.values, done.confidence, done.flags))
    return out


def collect(plan: EvaluationPlan, detector: RulesDetector | None = None) -> list[Evaluated]:
    """Normal runners of every view and each fault in each view that shows it."""
    detector = detector or RulesDetector()
    seeds = list(plan.seeds)
    normal = evaluate_sessions(normal_sessions(seeds, plan.runners, plan.frames), detector)
    log.info("evaluated normal sessions=%d", len(normal))
    faulty = evaluate_sessions(
        fault_sessions(seeds, plan.runners, plan.frames, plan.onset), detector)
    log.info("evaluated fault sessions=%d", len(faulty))
    return normal + faulty


def collect_from_start(plan: EvaluationPlan, detector: RulesDetector) -> list[Evaluated]:
    """Each fault in each view that shows it, at full weight from the session's first frame:
    no normal running comes first for the runner's usual levels (rolling state) to learn
    from, and no ramp for them to see rising."""
    return evaluate_sessions(
        fault_sessions(list(plan.seeds), plan.runners, plan.frames, onset=-RAMP_FRAMES),
        detector)
