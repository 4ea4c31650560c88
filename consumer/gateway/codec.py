"""Frames as devices send them to the gateway, turned into the contract's Kafka value.

Two forms on the wire, both checked by the consumer's own validator (``consumer.frames``) on
exactly the bytes that will be produced, so the consumer sees what a direct client would send:

* JSON, the contract's frame. ``user_id`` may be left out (the token names the user); a frame
  naming another user is refused as ``forbidden_user``. A frame that names its user is produced
  byte for byte as received.
* binary, little-endian, 548 bytes plus the session id (offsets in bytes)::

      0   u8        version, 1
      1   u8        flags, 0 (reserved: any bit set is refused)
      2   u8        session id length L, 0..64 (0: no session_id)
      3   u8        reserved, 0
      4   u64       frame number (< 2**53)
      12  i64       ts_ms, Unix milliseconds
      20  f32 x 132 landmarks 0..32, each x, y, z, visibility
      548 L bytes   session id, ASCII

  It carries no user_id; it becomes the JSON ``consumer.frames.encode_frame`` writes (the
  simulator's encoder: nested 33 x 4, 5 decimals). The floats start at offset 20 so that they
  are 4-byte aligned.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from consumer.frames import (
    ID_RE,
    FrameLimits,
    FrameMeta,
    InvalidFrame,
    RejectReason,
    decode_frame,
    encode_frame,
    explain_bad_values,
    values_ok,
)
from consumer.gateway.errors import FrameRefused
from consumer.landmarks import FRAME_WIDTH

log = logging.getLogger(__name__)

BINARY_VERSION = 1
BINARY_HEADER = struct.Struct("<BBBxQq")
LANDMARK_BYTES = FRAME_WIDTH * 4
BINARY_FIXED_BYTES = BINARY_HEADER.size + LANDMARK_BYTES
MAX_SESSION_BYTES = 64

BAD_BINARY = "bad_binary"
FORBIDDEN_USER = "forbidden_user"
_USER_FIELD = b'"user_id"'


@dataclass(frozen=True, slots=True)
class GatewayFrame:
    """A frame that passed the validator: its metadata and the exact value to produce."""

    meta: FrameMeta
    value: bytes


def encode_binary(
    frame: int, ts_ms: int, landmarks: np.ndarray, session_id: str | None = None
) -> bytes:
    """The binary form of one frame (clients, tests and the benchmark use it)."""
    session = (session_id or "").encode("ascii")
    if len(session) > MAX_SESSION_BYTES:
        raise ValueError(f"session id is longer than {MAX_SESSION_BYTES} bytes")
    header = BINARY_HEADER.pack(BINARY_VERSION, 0, len(session), frame, ts_ms)
    body = np.ascontiguousarray(np.asarray(landmarks, dtype="<f4").reshape(FRAME_WIDTH))
    return header + body.tobytes() + session


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class FrameDecoder:
    """Decodes and validates frames for one user at a time; one per event loop (not shared
    between threads: it reuses one landmark row)."""

    def __init__(self, limits: FrameLimits, clock_ms: Callable[[], int] = _wall_ms) -> None:
        self._limits = limits
        self._clock_ms = clock_ms
        self._row = np.empty(FRAME_WIDTH, dtype=np.float32)

    def json(self, data: bytes, user_id: str) -> GatewayFrame:
        """One JSON frame as received (a WebSocket text message)."""
        if len(data) > self._limits.max_message_bytes:
            raise FrameRefused(
                RejectReason.TOO_LARGE.value,
                f"{len(data)} bytes > limit {self._limits.max_message_bytes}",
            )
        value = data
        if _USER_FIELD not in data:  # the usual device frame names its user: no re-encoding
            try:
                obj = orjson.loads(data)
            except orjson.JSONDecodeError:
                obj = None  # the validator says why
            if type(obj) is dict and "user_id" not in obj:
                obj["user_id"] = user_id
                value = orjson.dumps(obj)
        return self._validated(value, user_id)

    def element(self, obj: Any, user_id: str) -> GatewayFrame:
        """One element of an HTTP batch (already parsed)."""
        if type(obj) is not dict:
            raise FrameRefused(RejectReason.NOT_OBJECT.value, "each frame must be a JSON object")
        if "user_id" not in obj:
            obj = {**obj, "user_id": user_id}
        try:
            value = orjson.dumps(obj)
        except orjson.JSONEncodeError as exc:  # e.g. integers beyond 64 bits
            raise FrameRefused(
                RejectReason.WRONG_TYPE.value, f"cannot encode frame ({exc})",
                _int_or_none(obj.get("frame")),
            ) from None
        return self._validated(value, user_id)

    def binary(self, data: bytes, user_id: str) -> GatewayFrame:
        """One binary frame (a WebSocket binary message); layout in the module docstring."""
        if len(data) < BINARY_FIXED_BYTES:
            raise FrameRefused(BAD_BINARY, f"{len(data)} bytes < {BINARY_FIXED_BYTES}")
        version, flags, session_length, frame, ts_ms = BINARY_HEADER.unpack_from(data)
        if version != BINARY_VERSION:
            raise FrameRefused(BAD_BINARY, f"version {version} is not supported", frame)
        if flags:
            raise FrameRefused(BAD_BINARY, f"unknown flags 0x{flags:02x}", frame)
        if len(data) != BINARY_FIXED_BYTES + session_length:
            raise FrameRefused(
                BAD_BINARY,
                f"{len(data)} bytes; header says {BINARY_FIXED_BYTES + session_length}", frame,
            )
        session: str | None = None
        if session_length:
            raw = data[BINARY_FIXED_BYTES:]
            session = raw.decode("ascii", errors="replace")
            if not ID_RE.fullmatch(session):
                raise FrameRefused(
                    RejectReason.BAD_SESSION_ID.value,
                    "session id must be 1-64 of A-Z a-z 0-9 _ . - (starting alnum)", frame,
                )
        landmarks = np.frombuffer(data, dtype="<f4", count=FRAME_WIDTH, offset=BINARY_HEADER.size)
        # Values first: encode_frame would write NaN as null, and the reason would be lost.
        if not values_ok(landmarks[None, :])[0]:
            bad = explain_bad_values(landmarks)
            raise FrameRefused(bad.reason.value, bad.detail, frame)
        value = encode_frame(user_id, frame, ts_ms, landmarks, session_id=session)
        return self._validated(value, user_id, frame)

    def _validated(self, value: bytes, user_id: str, frame: int | None = None) -> GatewayFrame:
        try:
            meta = decode_frame(
                value, user_id.encode(), self._row, self._clock_ms(), self._limits
            )
        except InvalidFrame as exc:
            hint = frame if frame is not None else _frame_hint(value)
            if exc.reason is RejectReason.KEY_MISMATCH:
                raise FrameRefused(
                    FORBIDDEN_USER, "the frame names another user than the token", hint
                ) from None
            raise FrameRefused(exc.reason.value, exc.detail, hint) from None
        except Exception as exc:
            # A bug in the validator must refuse this frame, not end the connection.
            log.warning("frame decoder failed error=%s", type(exc).__name__, exc_info=True)
            raise FrameRefused(RejectReason.DECODER_ERROR.value, type(exc).__name__) from None
        return GatewayFrame(meta, value)


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


def _frame_hint(value: bytes) -> int | None:
    """The frame number of a refused JSON frame when it has one, so the client can match."""
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return _int_or_none(obj.get("frame")) if type(obj) is dict else None
