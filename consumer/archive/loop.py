"""The archiver loop: poll frames and score records, buffer per partition, flush, repeat.

Offsets: for each source partition the loop knows the next offset it expects, starting from
the partition's checkpoint (``state.recover``, which also rolls back an unfinished flush).
Records below it were archived before (Kafka redelivers from its committed offset, which can
trail the checkpoint by one flush): they are dropped and counted, never written again.
Partitions revoked in a rebalance lose their buffers unwritten; their new owner reads them
again from the checkpoint. Ownership is checked once more right before each flush.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from consumer.archive.kafka_source import RecordSource, TopicPart
from consumer.archive.layout import Dataset
from consumer.archive.records import KafkaRecord, decode_frame_record, decode_score_record
from consumer.archive.state import recover
from consumer.archive.writer import AfterFile, PartitionBuffer, flush_partition
from consumer.frames import FrameLimits

log = logging.getLogger(__name__)


@dataclass
class ArchiveCounts:
    """What one archiver run did (the JSON summary of ``barunrun archive``)."""

    records: int = 0
    frames_archived: int = 0
    scores_archived: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    replayed_dropped: int = 0  # redelivered records already in the archive
    files_written: int = 0
    flushes: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "records": self.records, "frames_archived": self.frames_archived,
            "scores_archived": self.scores_archived, "skipped": dict(self.skipped),
            "replayed_dropped": self.replayed_dropped, "files_written": self.files_written,
            "flushes": self.flushes,
        }


@dataclass(frozen=True)
class ArchiverConfig:
    root: Path
    frames_topic: str
    scores_topic: str
    limits: FrameLimits = field(default_factory=FrameLimits)
    flush_records: int = 20000
    flush_interval_s: float = 10.0
    poll_timeout_ms: int = 200
    max_poll_records: int = 2000


class Archiver:
    def __init__(
        self,
        config: ArchiverConfig,
        source: RecordSource,
        monotonic: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        after_file: AfterFile | None = None,
    ) -> None:
        self._config = config
        self._source = source
        self._monotonic = monotonic
        self._wall_ms = wall_ms
        self._after_file = after_file
        self._expected: dict[TopicPart, int | None] = {}
        self._buffers: dict[TopicPart, PartitionBuffer] = {}
        self.counts = ArchiveCounts()

    def _dataset(self, topic: str) -> Dataset | None:
        if topic == self._config.frames_topic:
            return Dataset.FRAMES
        if topic == self._config.scores_topic:
            return Dataset.SCORES
        return None

    def _take_over(self, where: TopicPart) -> None:
        state = recover(self._config.root, *where)
        self._expected[where] = state.next_offset
        if state.next_offset is not None:
            self._source.seek(where, state.next_offset)

    def _forget_revoked(self) -> None:
        for where in self._source.revoked():
            dropped = self._buffers.pop(where, None)
            self._expected.pop(where, None)
            if dropped is not None:
                log.info("partition revoked, buffer dropped topic=%s partition=%d records=%d",
                         *where, dropped.records)

    def _admit(self, record: KafkaRecord) -> bool:
        where = (record.topic, record.partition)
        if where not in self._expected:
            self._take_over(where)
        expected = self._expected[where]
        if expected is not None and record.offset < expected:
            self.counts.replayed_dropped += 1
            return False
        if expected is not None and record.offset > expected:
            log.warning("offsets missing from the source topic=%s partition=%d from=%d to=%d",
                        record.topic, record.partition, expected, record.offset - 1)
        self._expected[where] = record.offset + 1
        return True

    def _buffer(self, record: KafkaRecord, dataset: Dataset) -> None:
        where = (record.topic, record.partition)
        buffer = self._buffers.get(where)
        if buffer is None:
            buffer = PartitionBuffer(dataset, record.topic, record.partition, record.offset,
                                     record.offset, self._monotonic())
            self._buffers[where] = buffer
        buffer.last_offset = record.offset
        row = (
            decode_frame_record(record, self._config.limits)
            if dataset is Dataset.FRAMES else decode_score_record(record)
        )
        if isinstance(row, str):
            buffer.skipped[row] += 1
            self.counts.skipped[row] += 1
        else:
            buffer.rows.append(row)

    def step(self) -> int:
        """One poll, then a flush when one is due; returns the records polled."""
        records = self._source.poll(self._config.poll_timeout_ms, self._config.max_poll_records)
        self._forget_revoked()
        for where in self._source.assignment() - self._expected.keys():
            self._take_over(where)
        for record in records:
            dataset = self._dataset(record.topic)
            if dataset is None or not self._admit(record):
                continue
            self.counts.records += 1
            self._buffer(record, dataset)
        if self._flush_due():
            self.flush()
        return len(records)

    def _flush_due(self) -> bool:
        if not self._buffers:
            return False
        buffered = sum(b.records for b in self._buffers.values())
        oldest = min(b.started_at for b in self._buffers.values())
        return (buffered >= self._config.flush_records
                or self._monotonic() - oldest >= self._config.flush_interval_s)

    def flush(self) -> None:
        """Write every buffer (partitions still owned), then commit their offsets to Kafka."""
        self._forget_revoked()
        owned = self._source.assignment()
        committed: dict[TopicPart, int] = {}
        now_ms = self._wall_ms()
        for where, buffer in sorted(self._buffers.items()):
            if where not in owned:
                self._expected.pop(where, None)
                continue
            result = flush_partition(self._config.root, buffer, now_ms, self._after_file)
            self.counts.files_written += len(result.files)
            if buffer.dataset is Dataset.FRAMES:
                self.counts.frames_archived += result.rows
            else:
                self.counts.scores_archived += result.rows
            committed[where] = result.next_offset
        self._buffers.clear()
        if committed:
            self.counts.flushes += 1
            self._source.commit(committed)

    def run(
        self,
        stop: threading.Event,
        until_idle_s: float | None = None,
        maintenance: Callable[[], None] | None = None,
        maintenance_interval_s: float = 600.0,
    ) -> ArchiveCounts:
        """Archive until ``stop`` (or, with ``until_idle_s``, until nothing new came for that
        long after partitions were assigned); the buffers are flushed on the way out."""
        last_record = self._monotonic()
        last_maintenance = self._monotonic()
        try:
            while not stop.is_set():
                polled = self.step()
                now = self._monotonic()
                if polled or not self._expected:  # idle counts from the assignment on
                    last_record = now
                elif until_idle_s is not None and now - last_record >= until_idle_s:
                    break
                if maintenance is not None and now - last_maintenance >= maintenance_interval_s:
                    self.flush()
                    maintenance()
                    last_maintenance = now
            self.flush()
        finally:
            self._source.close()
        return self.counts
