"""The simulator's public face: runners, fault plans, sessions (re-exported from their modules).

Typical use::

    rng = np.random.default_rng(7)
    runner = RunnerProfile.random(rng, "runner-7", view="side")
    plan = FaultPlan("overstriding", severity=0.8, onset_frame=300)
    session = simulate_session(runner, 600, [plan], seed=7)
    session.landmarks  # (600, 132) float32, NaN rows = tracker dropouts
"""

from __future__ import annotations

from producer_sim.faults import FaultPlan
from producer_sim.profile import FPS, RunnerProfile
from producer_sim.session import SimulatedSession, label_ranges, simulate_session
from producer_sim.simulator import Rendered, SessionSimulator

__all__ = [
    "FPS",
    "FaultPlan",
    "Rendered",
    "RunnerProfile",
    "SessionSimulator",
    "SimulatedSession",
    "label_ranges",
    "simulate_session",
]
