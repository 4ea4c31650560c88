"""Fuzzing the gateway's decoders: whatever a device sends, the answer is a frame or a
``FrameRefused`` with a known reason, never another exception (and never ``decoder_error``,
which would mean a bug in the validator)."""

from __future__ import annotations

import struct

import numpy as np
import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from consumer.frames import FrameLimits, RejectReason
from consumer.gateway.codec import (
    BAD_BINARY,
    BINARY_HEADER,
    FORBIDDEN_USER,
    FrameDecoder,
    GatewayFrame,
)
from consumer.gateway.errors import FrameRefused

NOW_MS = 1_795_474_459_123
USER = "runner-42"
KNOWN = {r.value for r in RejectReason} - {RejectReason.DECODER_ERROR.value} | {
    BAD_BINARY, FORBIDDEN_USER,
}
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(call, data) -> str:
    result = _outcome(call, data)
    event(result)  # `pytest --hypothesis-show-statistics` shows how often each path ran
    return result


def _outcome(call, data) -> str:
    decoder = FrameDecoder(FrameLimits(), clock_ms=lambda: NOW_MS)
    try:
        frame = call(decoder)(data, USER)
    except FrameRefused as exc:
        assert exc.reason in KNOWN, exc.reason
        return exc.reason
    assert isinstance(frame, GatewayFrame)
    assert frame.meta.user_id == USER
    assert len(frame.value) <= FrameLimits().max_message_bytes
    return "ok"


floats32 = st.floats(width=32, allow_nan=True, allow_infinity=True)


@st.composite
def binary_frames(draw) -> bytes:
    """Mostly well-formed headers (so the fuzz reaches the validator), with any values."""
    session = draw(st.one_of(st.just(b"s-1"), st.binary(max_size=70)))
    header = BINARY_HEADER.pack(
        draw(st.sampled_from([1, 1, 1, 0, 2, 255])),
        draw(st.sampled_from([0, 0, 0, 1, 128])),
        draw(st.sampled_from([len(session) % 256, len(session) % 256, 0, 255])),
        draw(st.one_of(st.integers(0, 10**6), st.integers(0, 2**64 - 1))),
        draw(st.one_of(st.integers(NOW_MS - 10**4, NOW_MS + 10**4),
                       st.integers(-(2**63), 2**63 - 1))),
    )
    values = draw(st.one_of(
        st.lists(floats32, min_size=132, max_size=132),
        st.lists(st.floats(-1, 1, width=32), min_size=132, max_size=132),
    ))
    tail = draw(st.sampled_from([b"", b"", b"x"]))
    return header + struct.pack("<132f", *values) + session + tail


@FUZZ
@given(st.binary(max_size=700))
def test_binary_decoder_on_random_bytes(data: bytes) -> None:
    outcome(lambda d: d.binary, data)


@FUZZ
@given(binary_frames())
def test_binary_decoder_on_structured_input(data: bytes) -> None:
    outcome(lambda d: d.binary, data)


@FUZZ
@given(st.binary(max_size=3000))
def test_json_decoder_on_random_bytes(data: bytes) -> None:
    outcome(lambda d: d.json, data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=6),
    max_leaves=40,
)


@st.composite
def frame_like(draw) -> dict:
    """Objects near the contract's frame: each field right, wrong or missing."""
    landmarks = draw(st.one_of(
        st.lists(st.lists(st.floats(0, 1), min_size=4, max_size=4), min_size=33, max_size=33),
        st.lists(st.lists(st.floats(-2, 3), min_size=4, max_size=4), min_size=33, max_size=33),
        st.lists(st.floats(allow_nan=False), min_size=132, max_size=132),
        json_values,
    ))
    mostly_right = {  # each field right most of the time, so the fuzz gets deep
        "schema": st.sampled_from([1, 1, 1, 1, 2, "1", None]),
        "user_id": st.sampled_from([USER, USER, USER, USER, "runner-7", "", "a:b", 42]),
        "session_id": st.sampled_from(["s-1", "s-1", "s-1", None, "", "x" * 70, 5]),
        "frame": st.one_of(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(-5, 2**54),
                           st.floats(), st.text(max_size=3)),
        "ts_ms": st.one_of(st.integers(NOW_MS - 10**8, NOW_MS + 10**5),
                           st.integers(NOW_MS - 10**8, NOW_MS + 10**5), json_values),
    }
    fields = {name: draw(strategy) for name, strategy in mostly_right.items()}
    fields["landmarks"] = landmarks
    keep = draw(st.lists(st.sampled_from([True] * 6 + [False]), min_size=len(fields),
                         max_size=len(fields)))
    return {k: v for (k, v), kept in zip(fields.items(), keep, strict=True) if kept}


@FUZZ
@given(frame_like())
def test_json_decoder_on_frame_like_objects(obj: dict) -> None:
    try:
        raw = orjson.dumps(obj)
    except orjson.JSONEncodeError:
        return
    outcome(lambda d: d.json, raw)


@FUZZ
@given(st.one_of(frame_like(), json_values))
def test_batch_element_decoder(obj) -> None:
    outcome(lambda d: d.element, obj)


def test_fuzzed_valid_frames_do_pass() -> None:
    """The strategies reach the accept path too (else the fuzz proves little)."""
    rows = np.random.default_rng(3).uniform(0, 1, (33, 4)).tolist()
    obj = {"user_id": USER, "frame": 3, "ts_ms": NOW_MS, "landmarks": rows}
    assert _outcome(lambda d: d.json, orjson.dumps(obj)) == "ok"
    assert _outcome(lambda d: d.element, obj) == "ok"
