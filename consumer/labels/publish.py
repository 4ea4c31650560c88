"""Submitting labels: one message on ``topics.labels``, acknowledged before we return."""

from __future__ import annotations

from collections.abc import Sequence

from kafka import KafkaProducer
from kafka.errors import KafkaError

from consumer.errors import BrokerUnavailable
from consumer.labels.schema import LabelSubmission
from consumer.settings import Settings


def submit_labels(
    settings: Settings, submissions: Sequence[LabelSubmission], timeout_s: float = 15.0
) -> None:
    """Publish label messages (key user_id) and wait until the broker acknowledged each."""
    k = settings.kafka
    try:
        producer = KafkaProducer(
            acks="all", enable_idempotence=True, max_block_ms=int(timeout_s * 1000),
            bootstrap_timeout_ms=int(timeout_s * 1000), **k.client_options(),
        )
    except KafkaError as exc:
        raise BrokerUnavailable(
            f"kafka at {k.bootstrap} did not answer within {timeout_s:g} s ({exc})"
        ) from exc
    try:
        futures = [
            producer.send(settings.topics.labels, key=s.user_id.encode(), value=s.encode())
            for s in submissions
        ]
        for future in futures:
            future.get(timeout=timeout_s)
    except KafkaError as exc:
        raise BrokerUnavailable(f"publishing labels to {settings.topics.labels}: {exc}") from exc
    finally:
        producer.close(timeout=5)
