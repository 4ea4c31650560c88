"""Thin adapters over kafka-python: the frame source (group consumer) and the record sink.

The loop depends on the small ``FrameSource`` / ``RecordSink`` protocols in ``loop.py``; these
classes are their Kafka implementations, and translate Kafka errors into ours:
``BrokerUnavailable`` (retriable: back off, retry) and ``CommitRefused`` (the group moved on:
drop the batch's offsets, the partitions' new owner replays them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import (
    CommitFailedError,
    IllegalGenerationError,
    KafkaError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)
from kafka.structs import MemberState, OffsetAndMetadata

from consumer.errors import BrokerUnavailable, CommitRefused, ConfigError
from consumer.serve.batch import SourceRecord
from consumer.serve.processor import OutgoingRecord
from consumer.settings import Settings

log = logging.getLogger(__name__)

_GROUP_MOVED_ON = (
    CommitFailedError, IllegalGenerationError, RebalanceInProgressError, UnknownMemberIdError
)


class _RebalanceFlag(ConsumerRebalanceListener):
    """Notes revocations. kafka-python calls it on its IO thread, hence the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revoked = False

    def on_partitions_revoked(self, revoked: Any) -> None:
        if not revoked:  # the first join "revokes" nothing
            return
        log.info("partitions revoked partitions=%s", sorted(tp.partition for tp in revoked))
        with self._lock:
            self._revoked = True

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info("partitions assigned partitions=%s", sorted(tp.partition for tp in assigned))

    def on_partitions_lost(self, lost: Any) -> None:
        log.warning("partitions lost partitions=%s", sorted(tp.partition for tp in lost))
        with self._lock:
            self._revoked = True

    def take(self) -> bool:
        with self._lock:
            revoked, self._revoked = self._revoked, False
        return revoked


class KafkaFrameSource:
    """The frames topic through a consumer group, with manual commits."""

    def __init__(self, consumer: KafkaConsumer, topic: str, commit_timeout_ms: int) -> None:
        self._consumer = consumer
        self._topic = topic
        self._commit_timeout_ms = commit_timeout_ms
        self._rebalance = _RebalanceFlag()
        consumer.subscribe([topic], listener=self._rebalance)

    @classmethod
    def connect(cls, settings: Settings, startup_timeout_s: float) -> KafkaFrameSource:
        k = settings.kafka
        timeout_ms = int(startup_timeout_s * 1000)
        try:
            # kafka-python bootstraps in the constructor (bounded by bootstrap_timeout_ms).
            consumer = KafkaConsumer(
                group_id=settings.serve.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=k.max_poll_records,
                session_timeout_ms=k.session_timeout_ms,
                heartbeat_interval_ms=k.heartbeat_interval_ms,
                max_poll_interval_ms=k.max_poll_interval_ms,
                fetch_max_bytes=k.fetch_max_bytes,
                bootstrap_timeout_ms=timeout_ms,
                **k.client_options(),
            )
        except KafkaError as exc:
            raise _unreachable(settings, startup_timeout_s, exc) from exc
        t = settings.topics
        needed = [t.frames, t.anomalies, t.dlq] + ([t.scores] if t.publish_scores else [])
        try:
            missing = [topic for topic in needed if not consumer.partitions_for_topic(topic)]
        except KafkaError as exc:
            consumer.close(autocommit=False, timeout_ms=1000)
            raise _unreachable(settings, startup_timeout_s, exc) from exc
        if missing:
            consumer.close(autocommit=False, timeout_ms=1000)
            # Found now, not as records the loop retries to publish forever.
            raise ConfigError(
                f"topics {', '.join(missing)} do not exist on {k.bootstrap} "
                "(`barunrun dev` or the deployment's topic job creates them)"
            )
        return cls(consumer, t.frames, k.request_timeout_ms)

    def poll(self, timeout_ms: int, max_records: int) -> list[SourceRecord]:
        batches = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        if not batches:
            return []
        if len(batches) == 1:
            return list(next(iter(batches.values())))
        return [record for records in batches.values() for record in records]

    def rebalanced(self) -> bool:
        """True once after partitions were revoked or lost (since the last call)."""
        return self._rebalance.take()

    def in_group(self) -> bool:
        """A stable member of the consumer group (joined, heartbeating); never blocks."""
        return bool(self._consumer.group_metadata().state == MemberState.STABLE)

    def pause_all(self) -> None:
        assigned = self._consumer.assignment()
        if assigned:
            self._consumer.pause(*assigned)

    def resume_all(self) -> None:
        paused = self._consumer.paused()
        if paused:
            self._consumer.resume(*paused)

    def rewind(self, offsets: dict[tuple[str, int], int]) -> None:
        """Seek the partitions we still own back to these offsets (a dropped batch's start)."""
        assigned = self._consumer.assignment()
        for (topic, partition), offset in offsets.items():
            tp = TopicPartition(topic, partition)
            if tp in assigned:
                self._consumer.seek(tp, offset)

    def commit(self, next_offsets: dict[tuple[str, int], int]) -> None:
        if not next_offsets:
            return
        offsets = {
            TopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)
            for (topic, partition), offset in next_offsets.items()
        }
        try:
            self._consumer.commit(offsets, timeout_ms=self._commit_timeout_ms)
        except _GROUP_MOVED_ON as exc:
            raise CommitRefused(f"offset commit refused, the group rebalanced ({exc})") from exc
        except KafkaError as exc:
            raise BrokerUnavailable(f"offset commit failed: {exc}") from exc

    def lag(self) -> dict[int, int]:
        """Messages behind the high watermark, per assigned partition (when both are known)."""
        lag: dict[int, int] = {}
        for tp in self._consumer.assignment():
            try:
                high = self._consumer.highwater(tp)
                position = self._consumer.position(tp, timeout_ms=0)
            except KafkaError:
                continue
            if high is not None and position is not None:
                lag[tp.partition] = max(0, high - position)
        return lag

    def close(self) -> None:
        try:
            self._consumer.close(autocommit=False)
        except KafkaError as exc:
            log.warning("kafka consumer close failed error=%s", exc)


class KafkaRecordSink:
    """Publishes a batch's records and waits until the broker acknowledged every one."""

    def __init__(self, producer: KafkaProducer, flush_timeout_s: float) -> None:
        self._producer = producer
        self._flush_timeout_s = flush_timeout_s

    @classmethod
    def connect(cls, settings: Settings, startup_timeout_s: float) -> KafkaRecordSink:
        k = settings.kafka
        acks: int | str = "all" if k.acks == "all" else int(k.acks)
        try:
            producer = KafkaProducer(
                acks=acks,
                linger_ms=k.linger_ms,
                # Idempotence needs acks=all; duplicates are harmless here anyway (same ids).
                enable_idempotence=k.acks == "all",
                # Bounded waits: a dead broker must surface as an error the loop backs off
                # on, not as a send() blocked for a minute or records retried for two.
                max_block_ms=k.request_timeout_ms,
                delivery_timeout_ms=k.request_timeout_ms + k.linger_ms + 1000,
                bootstrap_timeout_ms=int(startup_timeout_s * 1000),
                **k.client_options(),
            )
        except KafkaError as exc:
            raise _unreachable(settings, startup_timeout_s, exc) from exc
        return cls(producer, (k.request_timeout_ms + k.linger_ms + 2000) / 1000)

    def publish(self, records: Sequence[OutgoingRecord]) -> None:
        if not records:
            return
        try:
            futures = [
                self._producer.send(r.topic, value=r.value, key=r.key) for r in records
            ]
            self._producer.flush(timeout=self._flush_timeout_s)
        except KafkaError as exc:
            raise BrokerUnavailable(f"publishing {len(records)} records failed: {exc}") from exc
        failed = [f for f in futures if not f.succeeded()]
        if failed:
            first = failed[0].exception if failed[0].is_done else "not acknowledged in time"
            raise BrokerUnavailable(
                f"{len(failed)} of {len(records)} records not acknowledged ({first})"
            )

    def close(self) -> None:
        try:
            self._producer.close(timeout=5)
        except KafkaError as exc:
            log.warning("kafka producer close failed error=%s", exc)


def _unreachable(settings: Settings, timeout_s: float, exc: Exception) -> BrokerUnavailable:
    k = settings.kafka
    message = f"kafka at {k.bootstrap} did not answer within {timeout_s:g} s ({exc})"
    if k.security_protocol != "PLAINTEXT":
        # kafka-python retries a refused SASL handshake or TLS negotiation until the bootstrap
        # timeout and then reports only "Unable to bootstrap": name what we asked for, or the
        # operator of a listener that speaks another protocol is left guessing.
        mechanism = f" {k.sasl_mechanism}" if k.security_protocol.startswith("SASL") else ""
        message += (
            f"; it was asked for {k.security_protocol}{mechanism}: check that the listener at "
            "that address speaks it and accepts these credentials"
        )
    return BrokerUnavailable(message)
