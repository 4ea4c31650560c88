"""``barunrun alerts webhook URL``: forward alert messages to an HTTP endpoint, at least once.

* One record at a time in partition order, so a user's alerts (one partition: the key is
  the user_id) arrive in the order they were published.
* A record's offset is committed only after the endpoint answered 2xx, or after the record
  went to the dead-letter topic (``topics.alerts_dlq``, acknowledged by the broker) because
  the endpoint refused it for good (http_post.py says which answers are which).
* Retriable failures are retried with exponential backoff and full jitter, capped at
  ``webhook_backoff_max_s``, forever unless ``max_attempts`` is set (then dead-lettered as
  ``gave_up``). While it waits the partitions are paused and the group is kept alive by
  polling; if the group takes the partition away meanwhile, the record is left to its new
  owner (which delivers it again: the endpoint de-duplicates by ``X-BarunRun-Message-Id``).
* A crash after a 2xx and before the commit delivers that alert again: duplicates carry
  the same ``message_id``; nothing is lost.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from consumer.alerts.http_post import Answer, HttpPoster, public_endpoint
from consumer.alerts.subscribe import RebalanceFlag
from consumer.serve.ports import RecordSink
from consumer.serve.processor import OutgoingRecord

log = logging.getLogger(__name__)

WAIT_SLICE_S = 0.2  # longest single wait, so that stop and rebalances are noticed promptly


@dataclass
class WebhookCounts:
    delivered: int = 0
    dead_lettered: int = 0
    retries: int = 0
    abandoned: int = 0  # left to a partition's new owner after a rebalance

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Backoff:
    initial_s: float
    max_s: float
    max_attempts: int = 0  # 0: retry forever

    def delay(self, attempt: int, rng: random.Random, hint_s: float | None = None) -> float:
        capped = min(self.max_s, self.initial_s * 2 ** (attempt - 1))
        jittered = capped * rng.random()  # full jitter: retries of many clients spread out
        return min(self.max_s, max(jittered, hint_s or 0.0))


class WebhookForwarder:
    def __init__(
        self, *, consumer: KafkaConsumer, poster: HttpPoster, dlq: RecordSink, dlq_topic: str,
        backoff: Backoff, rebalance: RebalanceFlag, rng: random.Random | None = None,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._consumer = consumer
        self._poster = poster
        self._dlq = dlq
        self._dlq_topic = dlq_topic
        self._backoff = backoff
        self._rebalance = rebalance
        self._rng = rng or random.Random()
        self._clock_ms = clock_ms
        self.counts = WebhookCounts()

    def run(self, stop: threading.Event, until_idle_s: float | None = None) -> WebhookCounts:
        """Forward until ``stop`` is set (or nothing arrived for ``until_idle_s``)."""
        last = time.monotonic()
        while not stop.is_set():
            batches = self._consumer.poll(timeout_ms=500)
            self._rebalance.take()  # a rebalance between batches needs nothing undone
            if not batches:
                if until_idle_s is not None and time.monotonic() - last >= until_idle_s:
                    break
                continue
            last = time.monotonic()
            if not self._forward_batch(batches, stop):
                break
        return self.counts

    def _forward_batch(self, batches: dict[TopicPartition, list[Any]],
                       stop: threading.Event) -> bool:
        """Forward a poll batch in partition order; when a record is abandoned (stopping, or
        a rebalance), every partition still ours goes back to its first record not done, so
        that nothing is skipped and no user's alerts overtake each other; False then."""
        pending = {tp: records[0].offset for tp, records in batches.items() if records}
        for tp, records in batches.items():
            for record in records:
                if stop.is_set() or not self._forward(record, stop):
                    self.counts.abandoned += sum(
                        len([r for r in rs if r.offset >= pending[t]])
                        for t, rs in batches.items() if t in pending)
                    for t, offset in pending.items():
                        self._rewind(t, offset)
                    return not stop.is_set()
                pending[tp] = record.offset + 1
            pending.pop(tp, None)
        return True

    def _forward(self, record: Any, stop: threading.Event) -> bool:
        """Deliver or dead-letter one record, then commit it; False if abandoned."""
        headers = _headers(record.value)
        attempt = 0
        while True:
            attempt += 1
            answer = self._poster.post(record.value or b"", headers)
            if answer.outcome == "delivered":
                self.counts.delivered += 1
                break
            if answer.outcome == "refused" or (
                self._backoff.max_attempts and attempt >= self._backoff.max_attempts
            ):
                self._dead_letter(record, answer, attempt)
                break
            self.counts.retries += 1
            delay = self._backoff.delay(attempt, self._rng, answer.retry_after_s)
            log.warning("webhook delivery failed, retrying attempt=%d retry_in_s=%.2f "
                        "detail=%s", attempt, delay, answer.detail)
            if not self._wait(delay, stop):
                return False
        self._commit(record)
        return True

    def _dead_letter(self, record: Any, answer: Answer, attempts: int) -> None:
        reason = "refused" if answer.outcome == "refused" else "gave_up"
        letter = {
            "reason": reason, "status": answer.status, "detail": answer.detail[:500],
            "attempts": attempts, "endpoint": public_endpoint(self._poster.url),
            "source": {"topic": record.topic, "partition": record.partition,
                       "offset": record.offset},
            **{k: v for k, v in _identity(record.value).items()},
            "value": (record.value or b"").decode("utf-8", errors="replace"),
            "rejected_at_ms": self._clock_ms(),
        }
        self._dlq.publish([OutgoingRecord(self._dlq_topic, record.key, orjson.dumps(letter))])
        self.counts.dead_lettered += 1
        log.warning("alert dead-lettered reason=%s status=%s alert_id=%s", reason,
                    answer.status, letter.get("alert_id"))

    def _commit(self, record: Any) -> None:
        tp = TopicPartition(record.topic, record.partition)
        try:
            self._consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "", -1)})
        except CommitFailedError as exc:
            # The group moved on: the partition's new owner delivers from the last commit.
            log.warning("alert offset not committed, the group rebalanced error=%s", exc)
        except KafkaError as exc:
            log.warning("alert offset commit failed (delivered again later) error=%s", exc)

    def _wait(self, delay_s: float, stop: threading.Event) -> bool:
        """Back off with the partitions paused, polling to stay in the group; False when
        stopping or when the group moved partitions meanwhile."""
        consumer = self._consumer
        consumer.pause(*consumer.assignment())
        deadline = time.monotonic() + delay_s
        try:
            while not stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                records = consumer.poll(timeout_ms=max(1, int(min(remaining, WAIT_SLICE_S)
                                                              * 1000)))
                for tp, got in records.items():  # newly assigned partitions: un-read them
                    consumer.seek(tp, got[0].offset)
                if self._rebalance.take():
                    return False
                consumer.pause(*consumer.assignment())
            return False
        finally:
            consumer.resume(*consumer.paused())

    def _rewind(self, tp: TopicPartition, offset: int) -> None:
        if tp in self._consumer.assignment():
            self._consumer.seek(tp, offset)


def _identity(value: bytes | None) -> dict[str, Any]:
    try:
        alert = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(alert, dict):
        return {}
    return {k: alert[k] for k in ("alert_id", "message_id", "type") if k in alert}


def _headers(value: bytes | None) -> dict[str, str]:
    identity = _identity(value)
    headers = {}
    if "alert_id" in identity:
        headers["X-BarunRun-Alert-Id"] = str(identity["alert_id"])
    if "message_id" in identity:
        headers["X-BarunRun-Message-Id"] = str(identity["message_id"])
    return headers
