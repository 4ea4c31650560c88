"""``barunrun labels ingest``: ``topics.labels`` -> the label store, exactly once per label.

Its own process and consumer group, not part of the archiver: labels are few and human, and
should land in seconds even while the archiver works through a backlog of millions of frames;
SQLite wants one writer, while archivers scale out by partition; and the store outlives the
frames (retention never touches it).

Invariant: a batch is stored in one SQLite transaction, and only then are its offsets
committed to Kafka. A crash in between redelivers the batch, and the store ignores what it
already holds (``label_id`` unique, rejections unique by topic position).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from consumer.archive.kafka_source import KafkaTopicsSource, RecordSource, TopicPart
from consumer.archive.records import KafkaRecord
from consumer.labels.schema import InvalidLabel, LabelSubmission, parse_label
from consumer.labels.store import LabelStore, RejectedLabel, Source
from consumer.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class IngestCounts:
    records: int = 0
    stored: int = 0
    rejected: int = 0
    already_stored: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"records": self.records, "stored": self.stored, "rejected": self.rejected,
                "already_stored": self.already_stored, "reasons": self.reasons}


def _as_text(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode("ascii")


def ingest_batch(store: LabelStore, records: list[KafkaRecord], counts: IngestCounts) -> None:
    good: list[tuple[LabelSubmission, Source]] = []
    bad: list[RejectedLabel] = []
    for record in records:
        source = Source(record.topic, record.partition, record.offset)
        try:
            good.append((parse_label(record.value, record.key), source))
        except InvalidLabel as exc:
            bad.append(RejectedLabel(exc.reason, exc.detail, _as_text(record.value), source))
            counts.reasons[exc.reason] = counts.reasons.get(exc.reason, 0) + 1
    added, refused = store.add(good, bad)
    counts.records += len(records)
    counts.stored += added
    counts.rejected += refused
    counts.already_stored += len(good) - added
    if bad:
        log.warning("label messages rejected count=%d reasons=%s", len(bad),
                    sorted({b.reason for b in bad}))


def run_ingest(
    settings: Settings,
    stop: threading.Event,
    until_idle_s: float | None = None,
    startup_timeout_s: float = 20.0,
    source: RecordSource | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> IngestCounts:
    """Ingest label messages until ``stop`` (or until idle that long after assignment)."""
    if source is None:
        source = KafkaTopicsSource.connect(
            settings, settings.archive.labels_group_id, [settings.topics.labels],
            startup_timeout_s,
        )
    counts = IngestCounts()
    last_record = monotonic()
    with LabelStore(settings.archive.labels_path()) as store:
        try:
            while not stop.is_set():
                records = source.poll(settings.serve.poll_timeout_ms,
                                      settings.kafka.max_poll_records)
                source.revoked()  # nothing buffered across polls: nothing to drop
                if records:
                    ingest_batch(store, records, counts)
                    next_offsets: dict[TopicPart, int] = {}
                    for record in records:
                        where = (record.topic, record.partition)
                        next_offsets[where] = max(next_offsets.get(where, 0), record.offset + 1)
                    source.commit(next_offsets)
                    last_record = monotonic()
                elif not source.assignment():
                    last_record = monotonic()  # idle counts from the assignment on
                elif until_idle_s is not None and monotonic() - last_record >= until_idle_s:
                    break
        finally:
            source.close()
    return counts
