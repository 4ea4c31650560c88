"""Small in-process stand-ins for the serving loop's ports, for deterministic fault replays.

``FakeSource`` is one partition of the frames topic as a list, with a position and a committed
offset; ``FakeSink`` keeps what was published; ``NoisyScorer`` scores any window (mean of the
first value) and flags none; ``FakeModels`` always serves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from consumer.model.base import ScoreResult
from consumer.serve.processor import OutgoingRecord

TOPIC = "frames"


@dataclass(frozen=True, slots=True)
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class FakeSource:
    """Partition 0 of ``TOPIC``: ``log`` is its (key, value) messages."""

    def __init__(self, log: list[tuple[bytes, bytes]], committed: int = 0) -> None:
        self._log = log
        self.committed = committed
        self.position = committed
        self.paused = False

    @staticmethod
    def records(log: list[tuple[bytes, bytes]], start: int, stop: int) -> list[FakeRecord]:
        return [FakeRecord(TOPIC, 0, offset, *log[offset]) for offset in range(start, stop)]

    def poll(self, timeout_ms: int, max_records: int) -> list[FakeRecord]:
        if self.paused:
            return []
        stop = min(len(self._log), self.position + max_records)
        out = self.records(self._log, self.position, stop)
        self.position = stop
        return out

    def rebalanced(self) -> bool:
        return False

    def in_group(self) -> bool:
        return True

    def pause_all(self) -> None:
        self.paused = True

    def resume_all(self) -> None:
        self.paused = False

    def rewind(self, offsets: dict[tuple[str, int], int]) -> None:
        self.position = offsets.get((TOPIC, 0), self.position)

    def commit(self, next_offsets: dict[tuple[str, int], int]) -> None:
        self.committed = next_offsets.get((TOPIC, 0), self.committed)

    def lag(self) -> dict[int, int]:
        return {0: len(self._log) - self.position}

    def close(self) -> None:
        return None


class FakeSink:
    def __init__(self) -> None:
        self.records: list[OutgoingRecord] = []

    def publish(self, records: Sequence[OutgoingRecord]) -> None:
        self.records.extend(records)

    def close(self) -> None:
        return None


class NoisyScorer:
    """Scores every window, flags none (what is scored is not the point here)."""

    def __init__(self, window_size: int) -> None:
        self._size = window_size

    @property
    def version(self) -> str:
        return "fake-1"

    @property
    def threshold(self) -> float:
        return 1.0

    @property
    def window_size(self) -> int:
        return self._size

    def score(self, windows: np.ndarray) -> ScoreResult:
        n = len(windows)
        scores = windows[:, :, 0].mean(axis=1).astype(np.float32)
        return ScoreResult(scores, np.ones(n, bool), (None,) * n, np.zeros(n, bool),
                           ((),) * n)


class FakeModels:
    def __init__(self, scorer: NoisyScorer) -> None:
        self._scorer = scorer

    def swap(self) -> NoisyScorer:
        return self._scorer
