"""Simulated runners for the gait tests: a few short sessions, simulated once per test run.

Seeds 201+ are held out of any tuning (the evaluation tunes on 1-4 and reports on 101-102).
"""

from __future__ import annotations

import numpy as np
import pytest

from consumer.gait.evaluate.sessions import WindowedSession, simulate, windowed

HELD_OUT_SEED = 201
FRAMES = 300


@pytest.fixture(scope="session")
def normal_runs() -> dict[str, list[WindowedSession]]:
    """Three normal runners per view, 10 s each."""
    return {view: [windowed(simulate(HELD_OUT_SEED, view, i, None, FRAMES)) for i in range(3)]
            for view in ("side", "front", "oblique")}


def recording_arrays(ws: WindowedSession) -> tuple[np.ndarray, np.ndarray]:
    """Frames and landmarks of a session with lost frames dropped, as a CSV loader gives."""
    session = ws.session
    kept = np.isfinite(session.landmarks).all(axis=1)
    return session.frames[kept], session.landmarks[kept]
