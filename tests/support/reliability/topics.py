"""Reading what a scenario left on the topics: tails from the start, and committed offsets.

Audits read everything (all partitions, from offset 0) with assigned consumers outside any
group, and never trust watermarks (tansu's can trail what is readable): a topic is read
"to the end" when polls come back empty, after the consumer group has committed every
frame (its records were acknowledged before each commit).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from consumer.settings import Settings

Handler = Callable[[list[Any]], None]


class TopicTail:
    """Every record of one topic, from the beginning, handed to ``handle`` batch by batch."""

    def __init__(self, settings: Settings, topic: str, handle: Handler) -> None:
        self.topic = topic
        self.count = 0
        self._handle = handle
        self._consumer = KafkaConsumer(
            enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024,
            **settings.kafka.client_options(),
        )
        partitions = self._consumer.partitions_for_topic(topic) or set()
        if not partitions:
            raise AssertionError(f"topic {topic} has no partitions")
        self._consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        self._consumer.seek_to_beginning()
        self.next_offsets: dict[int, int] = {}

    def poll(self, timeout_ms: int = 200) -> int:
        """One poll; returns how many records it handed over."""
        got = 0
        for batch in self._consumer.poll(timeout_ms=timeout_ms, max_records=50_000).values():
            self._handle(batch)
            got += len(batch)
            last = batch[-1]
            self.next_offsets[last.partition] = last.offset + 1
        self.count += got
        return got

    def read_until(self, done: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Poll until ``done()`` holds; AssertionError naming ``what`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
            self.poll()

    def read_to_quiet(self, quiet_polls: int = 3, timeout_s: float = 60.0) -> None:
        """Poll until ``quiet_polls`` polls in a row bring nothing new."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while quiet < quiet_polls and time.monotonic() < deadline:
            quiet = 0 if self.poll(300) else quiet + 1

    def close(self) -> None:
        self._consumer.close(autocommit=False)


def committed_offsets(settings: Settings, partitions: list[int]) -> dict[int, int]:
    """The frames topic's committed offsets of the consumers' group (-1: none yet)."""
    checker = KafkaConsumer(
        group_id=settings.serve.group_id, enable_auto_commit=False,
        **settings.kafka.client_options(),
    )
    try:
        committed: dict[int, int] = {}
        for partition in partitions:
            offset = checker.committed(TopicPartition(settings.topics.frames, partition))
            committed[partition] = -1 if offset is None else int(offset)
        return committed
    finally:
        checker.close(autocommit=False)


def wait_all_committed(
    settings: Settings, ends: dict[int, int], timeout_s: float
) -> dict[int, int]:
    """Until the group committed every frame (offset == end per partition); the last seen."""
    deadline = time.monotonic() + timeout_s
    while True:
        committed = committed_offsets(settings, sorted(ends))
        if all(committed[p] >= end for p, end in ends.items()):
            return committed
        if time.monotonic() > deadline:
            behind = {p: (committed[p], end) for p, end in ends.items() if committed[p] < end}
            raise AssertionError(
                f"the group did not commit every frame within {timeout_s:.0f} s: "
                f"partition -> (committed, end) {behind}"
            )
        time.sleep(0.5)
