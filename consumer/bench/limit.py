"""The limit: kafka-python reading the benchmark's messages and doing nothing else.

The same client library, fetch size and poll size as the consumer, so the ratio
pipeline / limit says how much of the ceiling the consumer's own work leaves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from consumer.errors import ServiceUnavailable
from consumer.settings import Settings


@dataclass(frozen=True)
class Drained:
    """A backlog read to its end: frames/s from the first records to the last."""

    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)


def measure_limit(settings: Settings, topic: str, total: int, timeout_s: float = 300.0) -> Drained:
    """Read ``total`` messages of ``topic`` from the beginning, touching nothing but the count.

    Timed from the first poll that returns records (connection and fetch set-up excluded, as
    the consumer's group join is excluded from its rate)."""
    k = settings.kafka
    consumer = KafkaConsumer(
        enable_auto_commit=False, auto_offset_reset="earliest",
        fetch_max_bytes=k.fetch_max_bytes, **k.client_options(),
    )
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        consumer.assign([TopicPartition(topic, p) for p in partitions])
        consumer.seek_to_beginning()
        count, first_at, first_count = 0, 0.0, 0
        deadline = time.monotonic() + timeout_s
        while count < total:
            if time.monotonic() > deadline:
                raise ServiceUnavailable(f"limit: read {count} of {total} in {timeout_s:.0f} s")
            polled_at = time.perf_counter()
            batches = consumer.poll(timeout_ms=200, max_records=k.max_poll_records)
            got = sum(len(records) for records in batches.values())
            if got and not first_at:
                first_at, first_count = time.perf_counter(), got
                if got >= total:  # a tiny backlog in one poll: time that poll instead
                    return Drained(got, first_at - polled_at)
            count += got
        return Drained(count - first_count, time.perf_counter() - first_at)
    finally:
        consumer.close(autocommit=False)
