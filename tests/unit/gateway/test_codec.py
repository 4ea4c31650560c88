"""Frames at the gateway: the binary layout byte by byte, JSON as received, and the refusals."""

from __future__ import annotations

import struct

import numpy as np
import orjson
import pytest

from consumer.frames import FrameLimits, decode_frame, encode_frame
from consumer.gateway.codec import (
    BAD_BINARY,
    BINARY_FIXED_BYTES,
    FORBIDDEN_USER,
    FrameDecoder,
    encode_binary,
)
from consumer.gateway.errors import FrameRefused

NOW_MS = 1_795_474_459_123
USER = "runner-42"


def decoder() -> FrameDecoder:
    return FrameDecoder(FrameLimits(), clock_ms=lambda: NOW_MS)


def pose(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1.0, (33, 4)).astype(np.float32)


def refused(call, *args) -> FrameRefused:
    with pytest.raises(FrameRefused) as caught:
        call(*args)
    return caught.value


def test_binary_layout_byte_by_byte() -> None:
    landmarks = pose()
    data = encode_binary(1234, NOW_MS, landmarks, "s-1")
    assert len(data) == 548 + 3 == BINARY_FIXED_BYTES + 3
    assert data[0] == 1  # version
    assert data[1] == 0  # flags
    assert data[2] == 3  # session id length
    assert data[3] == 0  # reserved
    assert struct.unpack_from("<Q", data, 4)[0] == 1234
    assert struct.unpack_from("<q", data, 12)[0] == NOW_MS
    floats = np.frombuffer(data, dtype="<f4", count=132, offset=20)
    assert np.array_equal(floats, landmarks.ravel())
    assert data[548:] == b"s-1"


def test_a_binary_frame_becomes_exactly_what_the_simulator_would_send() -> None:
    landmarks = pose()
    frame = decoder().binary(encode_binary(1234, NOW_MS, landmarks, "s-1"), USER)
    assert frame.value == encode_frame(USER, 1234, NOW_MS, landmarks, session_id="s-1")
    assert (frame.meta.user_id, frame.meta.session_id, frame.meta.frame) == (USER, "s-1", 1234)


def test_a_binary_frame_without_session_gets_the_default_session() -> None:
    frame = decoder().binary(encode_binary(7, NOW_MS, pose()), USER)
    assert frame.meta.session_id == "default"
    assert "session_id" not in orjson.loads(frame.value)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d[:100], BAD_BINARY),
        (lambda d: d + b"x", BAD_BINARY),  # longer than the header says
        (lambda d: b"\x02" + d[1:], BAD_BINARY),  # version
        (lambda d: d[:1] + b"\x01" + d[2:], BAD_BINARY),  # flags
        (lambda d: d[:-3] + b"s:1", "bad_session_id"),
        (lambda d: d[:-3] + b"\xff\xfe1", "bad_session_id"),
        (lambda d: d[:4] + struct.pack("<Q", 2**53) + d[12:], "bad_frame_number"),
        (lambda d: d[:12] + struct.pack("<q", NOW_MS + 3_600_000) + d[20:], "future_timestamp"),
        (lambda d: d[:12] + struct.pack("<q", 0) + d[20:], "stale_timestamp"),
        (lambda d: d[:20] + struct.pack("<f", float("nan")) + d[24:], "non_finite"),
        (lambda d: d[:20] + struct.pack("<f", 5.0) + d[24:], "out_of_range"),
        (lambda d: d[:32] + struct.pack("<f", 1.5) + d[36:], "out_of_range"),  # visibility
    ],
)
def test_binary_refusals(mutate, reason: str) -> None:
    data = mutate(encode_binary(99, NOW_MS, pose(), "s-1"))
    error = refused(decoder().binary, data, USER)
    assert error.reason == reason
    if len(data) >= BINARY_FIXED_BYTES:
        assert error.frame == struct.unpack_from("<Q", data, 4)[0]


def test_a_json_frame_naming_its_user_is_produced_byte_for_byte() -> None:
    raw = b'{"user_id": "runner-42", "frame": 5, "ts_ms": %d, "extra": 1, "landmarks": %s}' % (
        NOW_MS, orjson.dumps(pose().ravel().tolist())
    )
    frame = decoder().json(raw, USER)
    assert frame.value == raw
    assert frame.meta.frame == 5


def test_a_json_frame_without_user_gets_the_token_user() -> None:
    message = orjson.loads(encode_frame(USER, 5, NOW_MS, pose(), session_id="s-9"))
    del message["user_id"]
    frame = decoder().json(orjson.dumps(message), USER)
    produced = orjson.loads(frame.value)
    assert produced == {**message, "user_id": USER}
    # and the consumer's validator takes it with the user as key
    row = np.empty(132, dtype=np.float32)
    assert decode_frame(frame.value, USER.encode(), row, NOW_MS).user_id == USER


def test_a_json_frame_naming_another_user_is_forbidden() -> None:
    raw = encode_frame("runner-7", 5, NOW_MS, pose())
    error = refused(decoder().json, raw, USER)
    assert (error.reason, error.frame) == (FORBIDDEN_USER, 5)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "invalid_json"),
        (b"\xff\xfe", "invalid_utf8"),
        (b"[1, 2]", "not_object"),
        (b'{"frame": 1, "ts_ms": 1795474459123}', "missing_field"),
        (b'{"user_id": "runner:42", "frame": 1}', "bad_user_id"),
        (b'{"schema": 2, "frame": 1}', "unsupported_schema"),
        (b" " * 20000, "too_large"),
    ],
)
def test_json_refusals_carry_the_validators_reason(raw: bytes, reason: str) -> None:
    assert refused(decoder().json, raw, USER).reason == reason


def test_a_refused_json_frame_names_its_frame_number_when_it_has_one() -> None:
    message = orjson.loads(encode_frame(USER, 77, NOW_MS, pose()))
    message["landmarks"][0][0] = 9.0
    error = refused(decoder().json, orjson.dumps(message), USER)
    assert (error.reason, error.frame) == ("out_of_range", 77)


def test_batch_elements() -> None:
    good = orjson.loads(encode_frame(USER, 1, NOW_MS, pose()))
    assert decoder().element(good, USER).meta.frame == 1
    del good["user_id"]
    assert orjson.loads(decoder().element(good, USER).value)["user_id"] == USER
    assert refused(decoder().element, [1], USER).reason == "not_object"
    assert refused(decoder().element, {**good, "user_id": "x"}, USER).reason == FORBIDDEN_USER
    huge = {**good, "frame": 2**70}
    assert refused(decoder().element, huge, USER).reason == "wrong_type"


def test_encode_binary_refuses_long_sessions() -> None:
    with pytest.raises(ValueError):
        encode_binary(1, NOW_MS, pose(), "s" * 65)
