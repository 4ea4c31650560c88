"""Where captured frames go: a recording CSV, or the ``pose.frames`` Kafka topic.

``FrameSink`` is the seam for other transports (an HTTP/WebSocket gateway is planned): a sink
gets every frame in order, with or without a pose, and decides what to send.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

import numpy as np

from barunrun_capture.errors import PublishFailed
from barunrun_capture.landmarks import LANDMARK_NAMES, NUM_LANDMARKS
from barunrun_capture.messages import encode_frame, track_session_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CapturedFrame:
    index: int  # the video's frame number
    ts_ms: int
    landmarks: np.ndarray | None  # (33, 4) full-image normalised; None: nobody tracked
    track: int  # which person (1, 2, ...: see tracking.py); 0 before anyone was tracked


class FrameSink(Protocol):
    def send(self, frame: CapturedFrame) -> None: ...

    def close(self) -> None: ...


def recording_header() -> str:
    columns = [f"{name}_{axis}" for name in LANDMARK_NAMES
               for axis in ("x", "y", "z", "visibility")]
    return ",".join(["frame", *columns])


def recording_row(frame: int, landmarks: np.ndarray | None) -> str:
    """One CSV line of the recording format; all ``nan`` when no person was found."""
    if landmarks is None:
        values = ["nan"] * (NUM_LANDMARKS * 4)
    else:
        values = [f"{v:.6f}" if math.isfinite(v) else "nan"
                  for v in np.asarray(landmarks, dtype=np.float64).ravel()]
    return ",".join([str(int(frame)), *values])


class CsvSink:
    """Writes the contract's recording CSV: every frame, NaN rows where nobody is tracked."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: TextIO = path.open("w", encoding="utf-8", newline="\n")
        self._handle.write(recording_header() + "\n")

    def send(self, frame: CapturedFrame) -> None:
        self._handle.write(recording_row(frame.index, frame.landmarks) + "\n")

    def close(self) -> None:
        self._handle.close()


class KafkaSink:
    """Publishes one message per frame with a pose, keyed by user_id, as a phone would.

    Frames without a pose are not sent (the server would reject NaN). A second person
    tracked (after ``--reacquire-after``) is published under a new session id.
    """

    def __init__(
        self, bootstrap: str, topic: str, user_id: str, session_id: str,
        flush_timeout_s: float = 30.0,
    ) -> None:
        # Deferred: CSV-only captures need no Kafka client.
        from kafka import KafkaProducer  # noqa: PLC0415
        from kafka.errors import KafkaError  # noqa: PLC0415

        self._kafka_error = KafkaError
        self._bootstrap = bootstrap
        self._topic = topic
        self._user_id = user_id
        self._key = user_id.encode()
        self._session_id = session_id
        self._flush_timeout_s = flush_timeout_s
        self.sent = 0
        self.failed = 0
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=[s.strip() for s in bootstrap.split(",") if s.strip()],
                client_id="barunrun-capture", acks="all", linger_ms=5,
                max_block_ms=15000, bootstrap_timeout_ms=8000,
            )
        except KafkaError as exc:
            raise PublishFailed(
                f"Kafka at {bootstrap} did not answer ({type(exc).__name__})") from exc

    def session_for(self, track: int) -> str:
        return track_session_id(self._session_id, track)

    def send(self, frame: CapturedFrame) -> None:
        if frame.landmarks is None:
            return
        value = encode_frame(self._user_id, self.session_for(frame.track), frame.index,
                             frame.ts_ms, frame.landmarks)
        try:
            future = self._producer.send(self._topic, key=self._key, value=value)
        except self._kafka_error as exc:
            raise PublishFailed(f"Kafka at {self._bootstrap}: {exc}") from exc
        future.add_callback(self._delivered).add_errback(self._failed)

    def _delivered(self, _metadata: object) -> None:
        self.sent += 1

    def _failed(self, exc: BaseException) -> None:
        self.failed += 1
        log.warning("send failed topic=%s error=%s", self._topic, exc)

    def close(self) -> None:
        try:
            self._producer.flush(timeout=self._flush_timeout_s)
        except self._kafka_error as exc:
            raise PublishFailed(f"Kafka at {self._bootstrap}: {exc}") from exc
        finally:
            self._producer.close(timeout=5)
        if self.failed:
            raise PublishFailed(
                f"{self.failed} frames were not delivered to {self._topic} at {self._bootstrap}")
