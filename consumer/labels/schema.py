"""The label message: one person's verdict on an inclusive frame range of one session.

Published on ``topics.labels`` (default ``pose.labels``), key ``user_id``, UTF-8 JSON::

    {"schema": 1, "label_id": "3f0c9a1e2b7d4c5f8e6a0b1c2d3e4f50", "user_id": "runner-42",
     "session_id": "s-20261123-0700", "start_frame": 240, "end_frame": 599,
     "label": "abnormal", "fault": "overstriding", "labeller": "coach-kim",
     "note": "heel lands far ahead of the hips", "submitted_at_ms": 1795474459123}

* ``label`` is ``normal`` or ``abnormal``; ``fault`` (optional, abnormal only) is one of the
  simulator's fault ids (``producer_sim.faults.FAULT_NAMES``); absent or null: not named.
* ``end_frame`` is inclusive; ``0 <= start_frame <= end_frame < 2**53``.
* ``label_id`` identifies the submission: a resend of the same message is the same label
  (the store keeps it once); a new opinion, even the same labeller's, is a new ``label_id``.
* ``user_id``, ``session_id``, ``labeller`` and ``label_id`` follow the frame schema's id rule
  (1-64 of ``A-Z a-z 0-9 _ . -``, starting alphanumeric); ``note`` is at most 1000 characters.
* ``submitted_at_ms`` orders one labeller's submissions: the latest one counts.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from consumer.errors import DataError
from consumer.frames import ID_RE, MAX_FRAME_NUMBER
from producer_sim.faults import FAULT_NAMES

SCHEMA_VERSION = 1
NORMAL = "normal"
ABNORMAL = "abnormal"
LABELS = (NORMAL, ABNORMAL)
MAX_NOTE_CHARS = 1000


class InvalidLabel(DataError):
    """A label message or a label on the command line broke a rule of the schema."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class LabelSubmission:
    label_id: str
    user_id: str
    session_id: str
    start_frame: int
    end_frame: int
    label: str
    fault: str | None
    labeller: str
    note: str
    submitted_at_ms: int

    @property
    def name(self) -> str:
        """The label as a training class: ``normal``, the fault id, or ``abnormal``."""
        if self.label == NORMAL:
            return NORMAL
        return self.fault or ABNORMAL

    def to_message(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, **asdict(self)}

    def encode(self) -> bytes:
        return orjson.dumps(self.to_message())


def _check_id(value: object, name: str) -> str:
    if type(value) is not str or not ID_RE.fullmatch(value):
        raise InvalidLabel(
            f"bad_{name}", f"'{name}' must be 1-64 of A-Z a-z 0-9 _ . - (starting alnum)"
        )
    return value


def _check_frame(value: object, name: str) -> int:
    if type(value) is not int or not 0 <= value < MAX_FRAME_NUMBER:
        raise InvalidLabel("bad_range", f"'{name}' must be an integer in 0..2**53-1")
    return value


def validate(obj: dict[str, Any]) -> LabelSubmission:
    """A submission from a decoded message (or CLI arguments); raises InvalidLabel."""
    if obj.get("schema", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise InvalidLabel("unsupported_schema", f"schema {obj.get('schema')!r}")
    start = _check_frame(obj.get("start_frame"), "start_frame")
    end = _check_frame(obj.get("end_frame"), "end_frame")
    if end < start:
        raise InvalidLabel("bad_range", f"end_frame {end} is before start_frame {start}")
    label = obj.get("label")
    if label not in LABELS:
        raise InvalidLabel("bad_label", f"'label' must be one of {', '.join(LABELS)}")
    fault = obj.get("fault")
    if fault is not None:
        if label != ABNORMAL:
            raise InvalidLabel("bad_fault", "a fault goes with label 'abnormal' only")
        if fault not in FAULT_NAMES:
            raise InvalidLabel("unknown_fault", f"fault {fault!r} is not one of FAULT_NAMES")
    note = obj.get("note") or ""
    if type(note) is not str or len(note) > MAX_NOTE_CHARS:
        raise InvalidLabel("bad_note", f"'note' must be text of at most {MAX_NOTE_CHARS} chars")
    submitted = obj.get("submitted_at_ms")
    if type(submitted) is not int or submitted < 0:
        raise InvalidLabel("bad_timestamp", "'submitted_at_ms' must be a non-negative integer")
    return LabelSubmission(
        label_id=_check_id(obj.get("label_id"), "label_id"),
        user_id=_check_id(obj.get("user_id"), "user_id"),
        session_id=_check_id(obj.get("session_id"), "session_id"),
        start_frame=start, end_frame=end, label=label, fault=fault,
        labeller=_check_id(obj.get("labeller"), "labeller"),
        note=note, submitted_at_ms=submitted,
    )


def parse_label(value: bytes | None, key: bytes | None) -> LabelSubmission:
    """A submission from a Kafka record; raises InvalidLabel with the reason."""
    try:
        obj = orjson.loads(value or b"")
    except orjson.JSONDecodeError as exc:
        raise InvalidLabel("invalid_json", str(exc)) from None
    if type(obj) is not dict:
        raise InvalidLabel("not_object", "a label message is a JSON object")
    submission = validate(obj)
    if key != submission.user_id.encode():
        raise InvalidLabel("key_mismatch", "message key must be the user_id")
    return submission


def new_submission(
    *, user_id: str, session_id: str, start_frame: int, end_frame: int, label: str,
    labeller: str, fault: str | None = None, note: str = "", label_id: str | None = None,
    submitted_at_ms: int | None = None,
) -> LabelSubmission:
    """A validated submission with a fresh id and the current time unless given."""
    return validate({
        "label_id": label_id or uuid.uuid4().hex, "user_id": user_id, "session_id": session_id,
        "start_frame": start_frame, "end_frame": end_frame, "label": label, "fault": fault,
        "labeller": labeller, "note": note,
        "submitted_at_ms": time.time_ns() // 1_000_000 if submitted_at_ms is None
        else submitted_at_ms,
    })
