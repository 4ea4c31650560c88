"""Helpers for the consumer's unit tests: a deterministic scorer, frames, records, stores.

The window-store fixture ``store_kind`` runs a test against the in-memory store and again
against a real Redis (the session ``redis_service``); the Redis cases carry the
``integration`` mark, so ``-m "not integration"`` keeps the no-network subset.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from consumer.frames import encode_frame
from consumer.landmarks import FRAME_WIDTH
from consumer.model.base import ScoreResult
from consumer.windows.store import InMemoryWindowStore

BASE_TS = 1_795_474_459_000  # a fixed "now" for frame timestamps
NOW_MS = BASE_TS + 10_000


@dataclass
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class StepScorer:
    """A ``Scorer`` test double with a score anyone can predict from the frames.

    score = mean over the window of the first landmark value (nose x); valid unless the nose
    visibility (value 3) of some frame is below 0.2; anomalous above ``threshold``.
    """

    def __init__(self, window_size: int, threshold: float = 0.5, version: str = "step-1") -> None:
        self._size = window_size
        self._threshold = threshold
        self._version = version
        self.calls: list[int] = []

    @property
    def version(self) -> str:
        return self._version

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def window_size(self) -> int:
        return self._size

    def score(self, windows: np.ndarray) -> ScoreResult:
        self.calls.append(len(windows))
        scores = windows[:, :, 0].mean(axis=1).astype(np.float32)
        valid = windows[:, :, 3].min(axis=1) >= 0.2
        scores = np.where(valid, scores, np.nan).astype(np.float32)
        top = tuple(((("nose", 1.0),) if v else ()) for v in valid)
        reasons = tuple(None if v else "low_visibility" for v in valid)
        return ScoreResult(scores, valid, reasons, valid & (scores > self._threshold), top)


def landmarks(x: float = 0.4, visibility: float = 0.9) -> np.ndarray:
    """A frame's 132 values: nose x = ``x`` (what StepScorer scores), everything in range."""
    row = np.full(FRAME_WIDTH, 0.5, dtype=np.float32)
    row[3::4] = visibility
    row[0] = x
    return row


def frame_value(
    user: str, frame: int, ts_ms: int | None = None, session: str | None = "s1",
    x: float = 0.4, visibility: float = 0.9,
) -> bytes:
    ts = BASE_TS + frame * 33 if ts_ms is None else ts_ms
    return encode_frame(user, frame, ts, landmarks(x, visibility), session_id=session)


class RecordFactory:
    """Kafka-like records with increasing offsets per partition."""

    def __init__(self, topic: str = "pose.frames") -> None:
        self.topic = topic
        self._offsets: dict[int, Iterator[int]] = {}

    def __call__(
        self, value: bytes | None, key: bytes | None, partition: int = 0
    ) -> FakeRecord:
        offsets = self._offsets.setdefault(partition, itertools.count())
        return FakeRecord(self.topic, partition, next(offsets), key, value)

    def frame(self, user: str, frame: int, partition: int = 0, **kwargs: object) -> FakeRecord:
        return self(frame_value(user, frame, **kwargs), user.encode(), partition)  # type: ignore[arg-type]


@pytest.fixture
def records() -> RecordFactory:
    return RecordFactory()


class FakeClock:
    """Seconds, moved by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(
    params=["memory", pytest.param("redis", marks=pytest.mark.integration)]
)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(store_kind: str, request: pytest.FixtureRequest) -> Callable[..., object]:
    """``make_store(ttl_s=120, clock=None)`` -> a fresh, empty store of ``store_kind``."""

    def build(ttl_s: float = 120.0, clock: Callable[[], float] | None = None) -> object:
        if store_kind == "memory":
            return InMemoryWindowStore(ttl_s, clock) if clock else InMemoryWindowStore(ttl_s)
        from consumer.windows.redis_store import RedisWindowStore

        client = request.getfixturevalue("redis_client")
        return RedisWindowStore(client, f"u{uuid.uuid4().hex[:8]}", ttl_s)

    return build


@pytest.fixture
def redis_client(redis_service):
    import redis

    client = redis.Redis.from_url(redis_service.address)
    yield client
    client.close()


class Kit:
    """The helpers above, for test modules (which cannot import a conftest)."""

    StepScorer = StepScorer
    FakeRecord = FakeRecord
    FakeClock = FakeClock
    RecordFactory = RecordFactory
    BASE_TS = BASE_TS
    NOW_MS = NOW_MS
    landmarks = staticmethod(landmarks)
    frame_value = staticmethod(frame_value)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
