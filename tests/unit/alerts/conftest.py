"""Helpers for the alert tests: a scorer anyone can predict, frames as decoded batches, a
recording sink, and a real Redis client (those tests carry the ``integration`` mark)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from consumer.landmarks import FRAME_WIDTH
from consumer.model.base import ScoreResult
from consumer.serve.batch import DecodedBatch, FrameGroup

BASE_TS = 1_795_474_459_000


class NoseScorer:
    """score = mean nose x over the window; anomalous above 0.5; always valid."""

    version = "nose-1"
    threshold = 0.5
    window_size = 4

    def score(self, windows: np.ndarray) -> ScoreResult:
        scores = windows[:, :, 0].mean(axis=1).astype(np.float32)
        valid = np.ones(len(windows), dtype=bool)
        top = tuple((("nose", 1.0),) for _ in range(len(windows)))
        return ScoreResult(scores, valid, (None,) * len(windows), scores > self.threshold, top)


def batch(user: str, frames: Sequence[int], bad: Sequence[int] = (), session: str = "s1",
          ts_offset_ms: int = 0) -> DecodedBatch:
    """Frames of one session; those in ``bad`` have nose x 0.9 (anomalous), others 0.3."""
    numbers = np.asarray(frames, dtype=np.int64)
    values = np.full((len(numbers), FRAME_WIDTH), 0.5, dtype=np.float32)
    values[:, 0] = [0.9 if f in set(bad) else 0.3 for f in frames]
    ts = BASE_TS + ts_offset_ms + numbers * 100
    return DecodedBatch(len(numbers), [FrameGroup((user, session), numbers, ts, values)], [])


class RecordingSink:
    """A ``RecordSink`` that keeps what it was given; ``fail`` makes the next publish raise."""

    def __init__(self) -> None:
        self.published: list = []
        self.fail: Exception | None = None

    def publish(self, records) -> None:
        if self.fail is not None:
            error, self.fail = self.fail, None
            raise error
        self.published.extend(records)

    def close(self) -> None:
        return None


@pytest.fixture
def nose_scorer() -> NoseScorer:
    return NoseScorer()


@pytest.fixture
def redis_client(redis_service) -> Iterator[object]:
    import redis

    client = redis.Redis.from_url(redis_service.address)
    yield client
    client.close()
