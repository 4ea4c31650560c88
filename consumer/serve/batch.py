"""One poll batch of Kafka records -> decoded frames grouped by (user, session), and rejects.

Pure: no I/O. Each record is parsed into a row of one preallocated (N, 132) float32 array
(the parsed JSON is dropped at once), the landmark value ranges of all rows are then checked in
one vectorised step, and the good frames are grouped by (user, session) in arrival order, which
is partition order for a user (records are keyed by user_id).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from consumer.frames import (
    FrameLimits,
    InvalidFrame,
    RejectReason,
    explain_bad_values,
    parse_frame,
    values_ok,
)
from consumer.landmarks import FRAME_WIDTH
from consumer.windows.store import StateKey

log = logging.getLogger(__name__)

DEFAULT_LIMITS = FrameLimits()


class SourceRecord(Protocol):
    """What we read from a Kafka record (kafka-python's ConsumerRecord has these)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record that broke a rule of the frame schema, on its way to the dead-letter topic."""

    record: SourceRecord
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class FrameGroup:
    """The frames of one (user, session) in this batch, in arrival order."""

    key: StateKey
    frames: np.ndarray  # (m,) int64
    ts_ms: np.ndarray  # (m,) int64
    values: np.ndarray  # (m, 132) float32


@dataclass(frozen=True)
class DecodedBatch:
    records: int
    groups: list[FrameGroup]
    rejected: list[Rejected]
    # (topic, partition) -> the first offset in the batch (where a dropped batch resumes) and
    # the next offset to consume (what to commit once the batch is done).
    first_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    next_offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return sum(len(group.frames) for group in self.groups)

    def rejected_by_reason(self) -> Counter[str]:
        return Counter(r.reason for r in self.rejected)


def decode_batch(
    records: list[SourceRecord], now_ms: int, limits: FrameLimits = DEFAULT_LIMITS
) -> DecodedBatch:
    """Decode and validate a poll batch; never raises for bad input (it becomes ``rejected``)."""
    count = len(records)
    values = np.empty((count, FRAME_WIDTH), dtype=np.float32)
    frames = np.empty(count, dtype=np.int64)
    ts_ms = np.empty(count, dtype=np.int64)
    keys: list[StateKey] = []
    sources: list[int] = []  # record index of each parsed row
    rejected: list[Rejected] = []
    first_offsets: dict[tuple[str, int], int] = {}
    next_offsets: dict[tuple[str, int], int] = {}
    # A landmark number beyond float32 becomes inf (rejected as non_finite below): one
    # errstate for the batch keeps numpy from warning per such frame.
    with np.errstate(over="ignore"):
        for index, record in enumerate(records):
            where = (record.topic, record.partition)
            first_offsets.setdefault(where, record.offset)
            next_offsets[where] = record.offset + 1
            row = len(keys)
            try:
                meta = parse_frame(record.value, record.key, values[row], now_ms, limits)
            except InvalidFrame as exc:
                rejected.append(Rejected(record, exc.reason.value, exc.detail))
                continue
            except Exception as exc:  # a decoder bug dead-letters the record, never stops us
                rejected.append(_decoder_bug(record, exc))
                continue
            frames[row] = meta.frame
            ts_ms[row] = meta.ts_ms
            keys.append((meta.user_id, meta.session_id))
            sources.append(index)

    parsed = len(keys)
    good = values_ok(values[:parsed])
    for bad in np.flatnonzero(~good).tolist():
        problem = explain_bad_values(values[bad])
        rejected.append(Rejected(records[sources[bad]], problem.reason.value, problem.detail))

    by_key: dict[StateKey, list[int]] = {}
    for i in np.flatnonzero(good).tolist():
        by_key.setdefault(keys[i], []).append(i)
    groups = []
    for key, rows in by_key.items():
        idx = np.asarray(rows, dtype=np.int64)
        groups.append(FrameGroup(key, frames[idx], ts_ms[idx], values[idx]))
    return DecodedBatch(count, groups, rejected, first_offsets, next_offsets)


def _decoder_bug(record: SourceRecord, exc: Exception) -> Rejected:
    log.error(
        "frame decoder failed topic=%s partition=%s offset=%s",
        record.topic, record.partition, record.offset, exc_info=exc,
    )
    return Rejected(record, RejectReason.DECODER_ERROR.value, repr(exc)[:200])
