"""Kafka records -> archive rows: frames through the consumer's own decoder, score records
checked field by field. Pure; a record that fails becomes a skip reason, never an exception.

Invalid frames are the dead-letter topic's business (the consumer sends them there): the
archive skips and counts them. A frame is judged as the consumer judged it when it arrived:
the timestamp rules (``future_timestamp``, ``stale_timestamp``) use the time the broker
stamped on the record, not the archiver's clock, so an archiver catching up on a day-old
backlog keeps the frames the consumer accepted a day ago.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

import numpy as np
import orjson

from consumer.archive.schema import SCORE_COLUMNS, FrameRow, ScoreRow
from consumer.frames import ID_RE, FrameLimits, InvalidFrame, decode_frame
from consumer.landmarks import FRAME_WIDTH

BAD_SCORE = "bad_score_record"


class KafkaRecord(Protocol):
    """What we read from a Kafka record (kafka-python's ConsumerRecord has these)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int | None: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


def _judged_at_ms(record: KafkaRecord) -> int:
    stamp = record.timestamp
    if isinstance(stamp, int) and stamp > 0:
        return stamp
    return time.time_ns() // 1_000_000


def decode_frame_record(record: KafkaRecord, limits: FrameLimits) -> FrameRow | str:
    """The archived row of a frame record, or the reason it is skipped."""
    values = np.empty(FRAME_WIDTH, dtype=np.float32)
    try:
        meta = decode_frame(record.value, record.key, values, _judged_at_ms(record), limits)
    except InvalidFrame as exc:
        return exc.reason.value
    except Exception:  # a decoder bug: the consumer dead-letters these too
        return "decoder_error"
    return FrameRow(
        meta.user_id, meta.session_id, meta.frame, meta.ts_ms, values,
        record.partition, record.offset,
    )


_INT_FIELDS = ("window_start_frame", "window_end_frame", "window_start_ts_ms",
               "window_end_ts_ms", "scored_at_ms")
_REQUIRED = ("window_id", "user_id", "session_id", "window_end_frame", "window_end_ts_ms",
             "model_version")


def _check_score_fields(obj: dict[str, Any]) -> None:
    missing = [name for name in _REQUIRED if obj.get(name) is None]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    for name in ("user_id", "session_id"):
        if type(obj[name]) is not str or not ID_RE.fullmatch(obj[name]):
            raise ValueError(f"bad {name}")
    for name in ("window_id", "model_version"):
        if type(obj[name]) is not str:
            raise ValueError(f"{name} must be a string")
    for name in _INT_FIELDS:
        if obj.get(name) is not None and type(obj[name]) is not int:
            raise ValueError(f"{name} must be an integer")
    for name in ("score", "threshold"):
        if obj.get(name) is not None and type(obj[name]) not in (int, float):
            raise ValueError(f"{name} must be a number")
    for name in ("anomaly", "valid"):
        if obj.get(name) is not None and type(obj[name]) is not bool:
            raise ValueError(f"{name} must be a boolean")
    reason = obj.get("invalid_reason")
    if reason is not None and type(reason) is not str:
        raise ValueError("invalid_reason must be a string")


def decode_score_record(record: KafkaRecord) -> ScoreRow | str:
    """The archived row of a score record (``consumer.serve.events.score_record``), or why not."""
    try:
        obj = orjson.loads(record.value or b"")
        if type(obj) is not dict:
            raise ValueError("not an object")
        _check_score_fields(obj)
    except (orjson.JSONDecodeError, ValueError):
        return BAD_SCORE
    fields = {name: obj.get(name) for name in SCORE_COLUMNS if name != "extras_json"}
    for name in ("score", "threshold"):
        if fields[name] is not None:
            fields[name] = float(fields[name])
    extras = {k: v for k, v in obj.items() if k not in fields and k != "schema"}
    fields["extras_json"] = json.dumps(extras, sort_keys=True) if extras else None
    return ScoreRow(fields, record.partition, record.offset)
