"""BarunRun's running simulator: MediaPipe Pose landmarks of simulated runners, as a phone on a
tripod would see them, for training, evaluation, streaming tests and the demo.

The main names are re-exported here; see ``producer_sim.runner`` for an example.
"""

from __future__ import annotations

from producer_sim.faults import FAULT_NAMES, FAULTS, VIEWS, FaultPlan, FaultSpec
from producer_sim.runner import (
    RunnerProfile,
    SessionSimulator,
    SimulatedSession,
    simulate_session,
)

__all__ = [
    "FAULTS",
    "FAULT_NAMES",
    "VIEWS",
    "FaultPlan",
    "FaultSpec",
    "RunnerProfile",
    "SessionSimulator",
    "SimulatedSession",
    "simulate_session",
]
