"""Where streamed frames come from: a simulated session, or a recording replayed."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from consumer.recording import Recording
from producer_sim.simulator import SessionSimulator

CHUNK_FRAMES = 150  # 5 s of frames per simulator call: per-call overhead stays small


class FrameSource(Protocol):
    @property
    def total(self) -> int:
        """Ticks (30 fps) this source spans."""
        ...

    def frame(self, tick: int) -> tuple[int, np.ndarray] | None:
        """Frame number and landmarks (132,) at ``tick``, or None when nothing is sent."""
        ...


class SimulatedSource:
    """A simulator rendered ahead in chunks; ``first_chunk`` staggers refills across runners."""

    def __init__(self, simulator: SessionSimulator, frames: int, first_chunk: int) -> None:
        self._simulator = simulator
        self._frames = frames
        self._next_size = max(1, first_chunk)
        self._start = 0
        self._rows = np.empty((0, 132), dtype=np.float32)
        self._valid = np.empty(0, dtype=bool)

    @property
    def total(self) -> int:
        return self._frames

    def frame(self, tick: int) -> tuple[int, np.ndarray] | None:
        if tick >= self._frames:
            return None
        if tick >= self._start + len(self._rows):
            self._start += len(self._rows)
            count = min(self._next_size, self._frames - self._start)
            _, self._rows = self._simulator.chunk(self._start, count)
            self._valid = ~np.isnan(self._rows).any(axis=1)
            self._next_size = CHUNK_FRAMES
        offset = tick - self._start
        return (tick, self._rows[offset]) if self._valid[offset] else None


class RecordingSource:
    """A recording's frames at their own pace: frame f goes out at tick f - first frame."""

    def __init__(self, recording: Recording, max_frames: int | None) -> None:
        self._recording = recording
        first = int(recording.frames[0]) if len(recording) else 0
        self._ticks = recording.frames - first
        span = int(self._ticks[-1]) + 1 if len(recording) else 0
        self._total = span if max_frames is None else min(span, max_frames)

    @property
    def total(self) -> int:
        return self._total

    def frame(self, tick: int) -> tuple[int, np.ndarray] | None:
        if tick >= self._total:
            return None
        i = int(np.searchsorted(self._ticks, tick))
        if i >= len(self._ticks) or self._ticks[i] != tick:
            return None
        return int(self._recording.frames[i]), self._recording.landmarks[i]
