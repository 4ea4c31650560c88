"""Reads the consumer's score records and anomaly events back, as a subscriber would."""

from __future__ import annotations

import logging
import threading
import uuid

import orjson
from kafka import KafkaConsumer

from consumer.demo.tally import DemoTally
from consumer.settings import Settings

log = logging.getLogger(__name__)


class OutputWatcher:
    """A background thread feeding the tally from ``topics.scores`` and ``topics.anomalies``."""

    def __init__(self, settings: Settings, tally: DemoTally, lock: threading.Lock) -> None:
        self._tally = tally
        self._lock = lock
        self._stop = threading.Event()
        self._topics = {"scores": settings.topics.scores, "anomalies": settings.topics.anomalies}
        self._consumer = KafkaConsumer(
            *self._topics.values(),
            **settings.kafka.client_options(),
            group_id=f"barunrun-demo-watch-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=settings.kafka.session_timeout_ms,
            heartbeat_interval_ms=settings.kafka.heartbeat_interval_ms,
        )
        self._thread = threading.Thread(target=self._run, name="demo-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._consumer.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._consumer.poll(timeout_ms=200, max_records=2000)
            with self._lock:
                for partition, records in batch.items():
                    is_scores = partition.topic == self._topics["scores"]
                    for record in records:
                        try:
                            message = orjson.loads(record.value)
                        except orjson.JSONDecodeError:
                            log.warning("unreadable record topic=%s", partition.topic)
                            continue
                        if is_scores:
                            self._tally.add_score_record(message)
                        else:
                            self._tally.add_anomaly_event(message)
