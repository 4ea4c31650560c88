"""The frame message: decode and validate (pure), and encode for clients and the simulator.

One Kafka message per video frame, keyed by ``user_id``, value UTF-8 JSON::

    {"schema": 1, "user_id": "runner-42", "session_id": "s-20261123-0700", "frame": 1234,
     "ts_ms": 1795474459123, "landmarks": [[x, y, z, visibility], ... 33 entries]}

``landmarks`` may also be a flat list of 132 numbers. ``session_id`` is optional (one session
per user then, named ``default``). Every rule a frame breaks has a stable ``reason`` code: it
labels ``barunrun_frames_rejected_total`` and goes with the message to the dead-letter topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain
from typing import Any

import numpy as np
import orjson

from consumer.errors import BarunRunError
from consumer.landmarks import FRAME_WIDTH, NUM_LANDMARKS, VALUES_PER_LANDMARK

SCHEMA_VERSION = 1
DEFAULT_SESSION = "default"
MAX_ID_LENGTH = 64
# Ids become parts of Redis keys and event ids: a closed alphabet rules out key injection and
# keeps ':' free as the separator in event ids.
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
MAX_FRAME_NUMBER = 2**53  # exact in a double, so Redis scripts and JSON agree

# Sane ranges. MediaPipe reports x, y outside [0, 1] for landmarks that leave the image, rarely
# by more than half an image; z is on the scale of x around the hip midpoint.
XY_RANGE = (-1.0, 2.0)
Z_RANGE = (-10.0, 10.0)
VISIBILITY_RANGE = (0.0, 1.0)
_RANGES = np.array([XY_RANGE, XY_RANGE, Z_RANGE, VISIBILITY_RANGE])
_LOW = np.tile(_RANGES[:, 0], NUM_LANDMARKS)
_HIGH = np.tile(_RANGES[:, 1], NUM_LANDMARKS)


class RejectReason(StrEnum):
    TOO_LARGE = "too_large"
    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    NOT_OBJECT = "not_object"
    UNSUPPORTED_SCHEMA = "unsupported_schema"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    BAD_USER_ID = "bad_user_id"
    BAD_SESSION_ID = "bad_session_id"
    MISSING_KEY = "missing_key"
    KEY_MISMATCH = "key_mismatch"
    BAD_LANDMARKS = "bad_landmarks"
    NON_FINITE = "non_finite"
    OUT_OF_RANGE = "out_of_range"
    BAD_FRAME_NUMBER = "bad_frame_number"
    FUTURE_TIMESTAMP = "future_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"
    # Not a rule of the schema: the decoder itself failed on this input (a bug). The serving
    # loop dead-letters the message under this reason rather than stopping on it.
    DECODER_ERROR = "decoder_error"


class InvalidFrame(BarunRunError):
    """A frame message broke a rule of the schema; ``reason`` is a RejectReason."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class FrameLimits:
    max_message_bytes: int = 16384
    max_future_ms: int = 60_000
    max_age_ms: int = 86_400_000


@dataclass(frozen=True, slots=True)
class FrameMeta:
    user_id: str
    session_id: str
    frame: int
    ts_ms: int


def _require_int(obj: dict[str, Any], name: str) -> int:
    if name not in obj:
        raise InvalidFrame(RejectReason.MISSING_FIELD, f"'{name}' is required")
    value = obj[name]
    if type(value) is not int:
        raise InvalidFrame(RejectReason.WRONG_TYPE, f"'{name}' must be an integer")
    return value


def _check_id(value: object, name: str, reason: RejectReason) -> str:
    if type(value) is not str:
        raise InvalidFrame(RejectReason.WRONG_TYPE, f"'{name}' must be a string")
    if not ID_RE.fullmatch(value):
        raise InvalidFrame(
            reason, f"'{name}' must be 1-{MAX_ID_LENGTH} of A-Z a-z 0-9 _ . - (starting alnum)"
        )
    return value


_NUMBER_TYPES = frozenset((float, int))
_LIST_ONLY = frozenset((list,))
_ROW_LENGTH = frozenset((VALUES_PER_LANDMARK,))


def _fill_landmarks(landmarks: object, out: np.ndarray) -> None:
    """Copy the landmark numbers into ``out``; shape and types only (values: check_values)."""
    if type(landmarks) is not list:
        raise InvalidFrame(RejectReason.WRONG_TYPE, "'landmarks' must be a list")
    if landmarks and type(landmarks[0]) is list:
        # set(map(...)) runs in C: a generator over the 33 rows cost ~15 us per frame.
        if (
            len(landmarks) != NUM_LANDMARKS
            or set(map(type, landmarks)) != _LIST_ONLY
            or set(map(len, landmarks)) != _ROW_LENGTH
        ):
            raise InvalidFrame(
                RejectReason.BAD_LANDMARKS,
                "'landmarks' must be 33 entries of [x, y, z, visibility]",
            )
        numbers: Any = chain.from_iterable(landmarks)
        types = set(map(type, chain.from_iterable(landmarks)))
    elif len(landmarks) == FRAME_WIDTH:
        numbers = landmarks
        types = set(map(type, landmarks))
    else:
        raise InvalidFrame(
            RejectReason.BAD_LANDMARKS,
            f"'landmarks' has {len(landmarks)} entries; expected 33 x 4 or 132 numbers",
        )
    # Checked on the Python objects: numpy would quietly turn "0.5", true and null into numbers.
    if not types <= _NUMBER_TYPES:
        raise InvalidFrame(RejectReason.WRONG_TYPE, "'landmarks' must hold numbers only")
    # A number beyond float32 (|x| > 3.4e38) becomes inf, which values_ok rejects as
    # non_finite. numpy warns on that cast unless the caller ignores overflow (decode_frame
    # does; batch decoders do it once per batch, not once per frame).
    try:
        out[:] = np.fromiter(numbers, dtype=np.float32, count=FRAME_WIDTH)
    except OverflowError:
        raise InvalidFrame(RejectReason.OUT_OF_RANGE, "a landmark value overflows") from None


def values_ok(rows: np.ndarray) -> np.ndarray:
    """Per row of (N, 132) landmark values: finite and inside the sane ranges (vectorised)."""
    return ((rows >= _LOW) & (rows <= _HIGH)).all(axis=1)


def explain_bad_values(row: np.ndarray) -> InvalidFrame:
    """The rejection for a row that ``values_ok`` refused."""
    if not np.isfinite(row).all():
        return InvalidFrame(RejectReason.NON_FINITE, "'landmarks' holds NaN or infinity")
    bad = int(np.flatnonzero((row < _LOW) | (row > _HIGH))[0])
    return InvalidFrame(
        RejectReason.OUT_OF_RANGE,
        f"landmark {bad // 4} value {bad % 4} = {row[bad]:.4g} is outside its range",
    )


def parse_frame(
    value: bytes | None,
    key: bytes | None,
    out: np.ndarray,
    now_ms: int,
    limits: FrameLimits = FrameLimits(),
) -> FrameMeta:
    """Validate one message, except its landmark values, and copy them into ``out``.

    ``out`` is a float32 row of 132 (a row of a preallocated batch array). The value ranges are
    left to ``values_ok``, which checks a whole batch in one vectorised step. Raises
    InvalidFrame with the reason.
    """
    if value is None:
        raise InvalidFrame(RejectReason.INVALID_JSON, "message has no value (tombstone)")
    if len(value) > limits.max_message_bytes:
        raise InvalidFrame(
            RejectReason.TOO_LARGE, f"{len(value)} bytes > limit {limits.max_message_bytes}"
        )
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        if "utf-8" in str(exc).lower():
            raise InvalidFrame(RejectReason.INVALID_UTF8, "value is not valid UTF-8") from None
        raise InvalidFrame(RejectReason.INVALID_JSON, f"value is not JSON ({exc})") from None
    if type(obj) is not dict:
        raise InvalidFrame(RejectReason.NOT_OBJECT, "value must be a JSON object")
    schema = obj.get("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION or type(schema) is not int:
        raise InvalidFrame(RejectReason.UNSUPPORTED_SCHEMA, f"schema {schema!r} is not supported")

    if "user_id" not in obj:
        raise InvalidFrame(RejectReason.MISSING_FIELD, "'user_id' is required")
    user_id = _check_id(obj["user_id"], "user_id", RejectReason.BAD_USER_ID)
    session = obj.get("session_id")
    session_id = (
        DEFAULT_SESSION if session is None
        else _check_id(session, "session_id", RejectReason.BAD_SESSION_ID)
    )
    if not key:
        raise InvalidFrame(RejectReason.MISSING_KEY, "message key must be the user_id")
    if key != user_id.encode():
        raise InvalidFrame(RejectReason.KEY_MISMATCH, "message key differs from 'user_id'")

    frame = _require_int(obj, "frame")
    if not 0 <= frame < MAX_FRAME_NUMBER:
        raise InvalidFrame(RejectReason.BAD_FRAME_NUMBER, f"'frame' {frame} out of range")
    ts_ms = _require_int(obj, "ts_ms")
    if ts_ms > now_ms + limits.max_future_ms:
        raise InvalidFrame(
            RejectReason.FUTURE_TIMESTAMP, f"'ts_ms' is {ts_ms - now_ms} ms in the future"
        )
    if ts_ms < now_ms - limits.max_age_ms:
        raise InvalidFrame(RejectReason.STALE_TIMESTAMP, f"'ts_ms' is {now_ms - ts_ms} ms old")

    if "landmarks" not in obj:
        raise InvalidFrame(RejectReason.MISSING_FIELD, "'landmarks' is required")
    _fill_landmarks(obj["landmarks"], out)
    return FrameMeta(user_id, session_id, frame, ts_ms)


def decode_frame(
    value: bytes | None,
    key: bytes | None,
    out: np.ndarray,
    now_ms: int,
    limits: FrameLimits = FrameLimits(),
) -> FrameMeta:
    """Validate one whole message (``parse_frame`` plus the value ranges)."""
    with np.errstate(over="ignore"):
        meta = parse_frame(value, key, out, now_ms, limits)
    if not values_ok(out[None, :])[0]:
        raise explain_bad_values(out)
    return meta


def encode_frame(
    user_id: str,
    frame: int,
    ts_ms: int,
    landmarks: np.ndarray,
    session_id: str | None = None,
    decimals: int = 5,
) -> bytes:
    """The JSON value a client publishes for one frame (nested 33 x 4 form)."""
    rows = np.round(np.asarray(landmarks, dtype=np.float64).reshape(NUM_LANDMARKS, 4), decimals)
    message: dict[str, Any] = {"schema": SCHEMA_VERSION, "user_id": user_id}
    if session_id is not None:
        message["session_id"] = session_id
    message["frame"] = int(frame)
    message["ts_ms"] = int(ts_ms)
    message["landmarks"] = rows.tolist()
    return orjson.dumps(message)
