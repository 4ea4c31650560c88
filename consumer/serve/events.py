"""What the consumer publishes: anomaly events, score records and dead letters (builders, pure).

* Anomaly event (``topics.anomalies``, key user_id): the contract's schema 1. Later detectors
  add fields through ``ScoredWindow.detectors`` and ``ScoredWindow.extras`` (e.g. ``fault``,
  ``view``, ``metrics``, ``cues``, ``personal_z``); the contract's fields are always written
  first and an extra can never replace one of them.
* Score record (``topics.scores``, key user_id): one per completed window, scored or not; the
  audit trail of what was scored, by which model, for fault-injection tests, the archive and
  drift monitoring.
* Dead letter (``topics.dlq``, the original key): the rejected message and why.

``event_id`` / ``window_id`` is ``{user_id}:{session_id}:{window_end_frame}``: a replayed
window gets the same id, so a consumer of these topics can drop duplicates by id.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from consumer.serve.batch import Rejected

SCHEMA_VERSION = 1
# A dead letter must itself fit in a Kafka message (1 MiB by default) or it would block the
# batch forever; larger originals are cut, and the letter says so.
MAX_DEAD_LETTER_VALUE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class ScoredWindow:
    """One completed window and what the detectors made of it."""

    user_id: str
    session_id: str
    start_frame: int
    end_frame: int
    start_ts_ms: int
    end_ts_ms: int
    score: float | None  # None when the model could not score the window
    threshold: float
    model_version: str
    anomaly: bool
    invalid_reason: str | None = None
    top_joints: tuple[tuple[str, float], ...] = ()
    detectors: tuple[str, ...] = ()  # the detectors that flagged this window
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def window_id(self) -> str:
        return f"{self.user_id}:{self.session_id}:{self.end_frame}"

    @property
    def score_ratio(self) -> float | None:
        if self.score is None or self.threshold <= 0:
            return None
        return self.score / self.threshold


def _window_fields(window: ScoredWindow) -> dict[str, Any]:
    return {
        "user_id": window.user_id,
        "session_id": window.session_id,
        "window_start_frame": window.start_frame,
        "window_end_frame": window.end_frame,
        "window_start_ts_ms": window.start_ts_ms,
        "window_end_ts_ms": window.end_ts_ms,
        "score": window.score,
        "threshold": window.threshold,
        "model_version": window.model_version,
    }


def anomaly_event(window: ScoredWindow, emitted_at_ms: int) -> dict[str, Any]:
    event: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "event_id": window.window_id,
        **_window_fields(window),
        "top_joints": [
            {"joint": joint, "share": round(share, 4)} for joint, share in window.top_joints
        ],
        "detectors": list(window.detectors),
        "emitted_at_ms": emitted_at_ms,
    }
    for name, value in window.extras.items():
        event.setdefault(name, value)
    return event


# Extras that score records carry too (every window, flagged or not): drift and personal
# baselines are judged on all windows, not only on the flagged ones.
# The classifier's probability too, so the archive can compare it with later models.
SCORE_RECORD_EXTRAS = ("personal_z", "classifier_probability", "classifier_version")


def score_record(window: ScoredWindow, scored_at_ms: int) -> dict[str, Any]:
    record = {
        "schema": SCHEMA_VERSION,
        "window_id": window.window_id,
        **_window_fields(window),
        "anomaly": window.anomaly,
        "valid": window.score is not None,
        "invalid_reason": window.invalid_reason,
        "scored_at_ms": scored_at_ms,
    }
    for name in SCORE_RECORD_EXTRAS:
        if name in window.extras:
            record.setdefault(name, window.extras[name])
    return record


def _as_text(data: bytes | None) -> tuple[str | None, str]:
    """Bytes as UTF-8 text when they are, else base64; with the encoding used."""
    if data is None:
        return None, "none"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def dead_letter(rejected: Rejected, rejected_at_ms: int) -> dict[str, Any]:
    record = rejected.record
    original = record.value
    truncated = original is not None and len(original) > MAX_DEAD_LETTER_VALUE_BYTES
    if truncated and original is not None:
        original = original[:MAX_DEAD_LETTER_VALUE_BYTES]
    value, value_encoding = _as_text(original)
    key, key_encoding = _as_text(record.key)
    return {
        "reason": rejected.reason,
        "detail": rejected.detail,
        "source": {"topic": record.topic, "partition": record.partition, "offset": record.offset},
        "value": value,
        "value_encoding": value_encoding,
        "value_truncated": truncated,
        "key": key,
        "key_encoding": key_encoding,
        "rejected_at_ms": rejected_at_ms,
    }


def to_json(message: Mapping[str, Any]) -> bytes:
    # NaN/inf never reach here (scores of invalid windows are None), so orjson's strict
    # output is valid JSON for every client.
    return orjson.dumps(message)
