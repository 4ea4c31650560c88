"""Helpers for the archive and label unit tests: frame records, a fake Kafka, label builders.

Test modules cannot import a conftest, so the helpers come through the ``kit`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pytest

from consumer.archive.kafka_source import TopicPart
from consumer.frames import encode_frame
from consumer.labels.schema import LabelSubmission
from consumer.labels.store import StoredLabel
from consumer.landmarks import FRAME_WIDTH

BASE_TS = 1_795_474_459_000  # 2026-11-23 UTC
FRAMES_TOPIC = "pose.frames"
SCORES_TOPIC = "pose.scores"


@dataclass
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int | None = None


def landmarks(seed: int) -> np.ndarray:
    """A valid frame whose values say which frame it is (x of the nose = seed / 1e4)."""
    values = np.full(FRAME_WIDTH, 0.5, dtype=np.float32)
    values[0] = (seed % 10_000) / 10_000
    return values


def frame_value(user: str, session: str, frame: int, ts_ms: int | None = None) -> bytes:
    ts = BASE_TS + frame * 33 if ts_ms is None else ts_ms
    return encode_frame(user, frame, ts, landmarks(frame), session_id=session)


@dataclass
class FakeKafka:
    """Topic partitions as lists of records, plus committed offsets that survive a 'crash'."""

    logs: dict[TopicPart, list[FakeRecord]] = field(default_factory=dict)
    committed: dict[TopicPart, int] = field(default_factory=dict)

    def append(self, topic: str, partition: int, key: bytes | None, value: bytes | None,
               timestamp: int | None = None) -> FakeRecord:
        records = self.logs.setdefault((topic, partition), [])
        record = FakeRecord(topic, partition, len(records), key, value,
                            BASE_TS + 60_000 if timestamp is None else timestamp)
        records.append(record)
        return record

    def send_frames(self, user: str, session: str, frames: Iterable[int], partition: int = 0,
                    topic: str = FRAMES_TOPIC) -> None:
        for frame in frames:
            self.append(topic, partition, user.encode(), frame_value(user, session, frame))

    def source(self, batch: int = 7) -> FakeSource:
        return FakeSource(self, batch)


class FakeSource:
    """A ``RecordSource`` that starts each partition at its committed offset (like Kafka)."""

    def __init__(self, kafka: FakeKafka, batch: int) -> None:
        self.kafka = kafka
        self.batch = batch
        self.position = {tp: kafka.committed.get(tp, 0) for tp in kafka.logs}
        self.revoke_next: set[TopicPart] = set()
        self.closed = False

    def poll(self, timeout_ms: int, max_records: int) -> list[FakeRecord]:
        out: list[FakeRecord] = []
        for tp, records in sorted(self.kafka.logs.items()):
            start = self.position.setdefault(tp, self.kafka.committed.get(tp, 0))
            chunk = records[start:start + self.batch]
            self.position[tp] = start + len(chunk)
            out += chunk
        return out

    def assignment(self) -> set[TopicPart]:
        return set(self.kafka.logs)

    def seek(self, where: TopicPart, offset: int) -> None:
        self.position[where] = offset

    def commit(self, next_offsets: dict[TopicPart, int]) -> None:
        self.kafka.committed.update(next_offsets)

    def revoked(self) -> set[TopicPart]:
        revoked, self.revoke_next = self.revoke_next, set()
        return revoked

    def close(self) -> None:
        self.closed = True


def submission(
    labeller: str, start: int, end: int, label: str = "normal", fault: str | None = None,
    at: int = 0, user: str = "u1", session: str = "s1", label_id: str | None = None,
) -> LabelSubmission:
    return LabelSubmission(
        label_id or f"{labeller}-{user}-{session}-{start}-{end}-{at}", user, session, start,
        end, label, fault, labeller, "", BASE_TS + at,
    )


def stored(*subs: LabelSubmission) -> list[StoredLabel]:
    return [StoredLabel(i + 1, s) for i, s in enumerate(subs)]


class Kit:
    FakeKafka = FakeKafka
    FakeRecord = FakeRecord
    frame_value = staticmethod(frame_value)
    landmarks = staticmethod(landmarks)
    submission = staticmethod(submission)
    stored = staticmethod(stored)
    BASE_TS = BASE_TS
    FRAMES_TOPIC = FRAMES_TOPIC
    SCORES_TOPIC = SCORES_TOPIC


@pytest.fixture
def kit() -> type[Kit]:
    return Kit
