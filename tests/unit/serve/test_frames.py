"""The frame decoder: every rule has a reason, and no input makes it raise anything else."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer.frames import (
    DEFAULT_SESSION,
    ID_RE,
    FrameLimits,
    FrameMeta,
    InvalidFrame,
    RejectReason,
    decode_frame,
    encode_frame,
)
from consumer.landmarks import FRAME_WIDTH

NOW = 1_795_474_459_000
LIMITS = FrameLimits(max_message_bytes=16384, max_future_ms=60_000, max_age_ms=86_400_000)


def message(**fields: object) -> bytes:
    base: dict[str, object] = {
        "schema": 1,
        "user_id": "runner-42",
        "session_id": "s-1",
        "frame": 10,
        "ts_ms": NOW,
        "landmarks": [[0.5, 0.4, -0.1, 0.9]] * 33,
    }
    for name, value in fields.items():
        if value is _DROP:
            base.pop(name)
        else:
            base[name] = value
    return orjson.dumps(base)


_DROP = object()
ROW = [0.5, 0.4, -0.1, 0.9]


def decode(value: bytes | None, key: bytes | None = b"runner-42") -> FrameMeta:
    return decode_frame(value, key, np.empty(FRAME_WIDTH, dtype=np.float32), NOW, LIMITS)


def test_nested_and_flat_landmarks_decode_the_same() -> None:
    nested, flat = np.empty(FRAME_WIDTH, np.float32), np.empty(FRAME_WIDTH, np.float32)
    meta = decode_frame(message(), b"runner-42", nested, NOW, LIMITS)
    decode_frame(message(landmarks=ROW * 33), b"runner-42", flat, NOW, LIMITS)
    assert meta == FrameMeta("runner-42", "s-1", 10, NOW)
    np.testing.assert_array_equal(nested, flat)
    np.testing.assert_allclose(nested[:4], ROW, rtol=1e-6)


def test_missing_session_is_the_default_one() -> None:
    assert decode(message(session_id=_DROP)).session_id == DEFAULT_SESSION


REJECTIONS: list[tuple[str, bytes | None, bytes | None, RejectReason]] = [
    ("tombstone", None, b"runner-42", RejectReason.INVALID_JSON),
    ("huge", b" " * 20000, b"runner-42", RejectReason.TOO_LARGE),
    ("latin-1", b'{"user_id": "caf\xe9"}', b"runner-42", RejectReason.INVALID_UTF8),
    ("truncated", message()[:-7], b"runner-42", RejectReason.INVALID_JSON),
    ("array", b"[1, 2]", b"runner-42", RejectReason.NOT_OBJECT),
    ("schema 2", message(schema=2), b"runner-42", RejectReason.UNSUPPORTED_SCHEMA),
    ("no user", message(user_id=_DROP), b"runner-42", RejectReason.MISSING_FIELD),
    ("no frame", message(frame=_DROP), b"runner-42", RejectReason.MISSING_FIELD),
    ("no landmarks", message(landmarks=_DROP), b"runner-42", RejectReason.MISSING_FIELD),
    ("frame as text", message(frame="10"), b"runner-42", RejectReason.WRONG_TYPE),
    ("user as number", message(user_id=42), b"42", RejectReason.WRONG_TYPE),
    ("text landmark", message(landmarks=[*ROW * 32, 0.1, 0.2, 0.3, "0.9"]), b"runner-42",
     RejectReason.WRONG_TYPE),
    ("bool landmark", message(landmarks=[*ROW * 32, 0.1, 0.2, 0.3, True]), b"runner-42",
     RejectReason.WRONG_TYPE),
    ("user with colon", message(user_id="a:b"), b"a:b", RejectReason.BAD_USER_ID),
    ("user too long", message(user_id="u" * 65), b"u" * 65, RejectReason.BAD_USER_ID),
    ("session glob", message(session_id="s*"), b"runner-42", RejectReason.BAD_SESSION_ID),
    ("no key", message(), None, RejectReason.MISSING_KEY),
    ("empty key", message(), b"", RejectReason.MISSING_KEY),
    ("other key", message(), b"runner-43", RejectReason.KEY_MISMATCH),
    ("131 numbers", message(landmarks=(ROW * 33)[:131]), b"runner-42", RejectReason.BAD_LANDMARKS),
    ("134 numbers", message(landmarks=ROW * 33 + [0.1, 0.2]), b"runner-42",
     RejectReason.BAD_LANDMARKS),
    ("32 rows", message(landmarks=[ROW] * 32), b"runner-42", RejectReason.BAD_LANDMARKS),
    ("overflow", message(landmarks=ROW * 32 + [0.1, 0.2, 0.3, 1e39]), b"runner-42",
     RejectReason.NON_FINITE),
    ("x far out", message(landmarks=[[5.0, 0.4, 0.0, 0.9]] + [ROW] * 32), b"runner-42",
     RejectReason.OUT_OF_RANGE),
    ("visibility 2", message(landmarks=[[0.5, 0.4, 0.0, 2.0]] + [ROW] * 32), b"runner-42",
     RejectReason.OUT_OF_RANGE),
    ("negative frame", message(frame=-1), b"runner-42", RejectReason.BAD_FRAME_NUMBER),
    ("future", message(ts_ms=NOW + 3_600_000), b"runner-42", RejectReason.FUTURE_TIMESTAMP),
    ("far past", message(ts_ms=NOW - 7 * 86_400_000), b"runner-42",
     RejectReason.STALE_TIMESTAMP),
]


@pytest.mark.parametrize(
    ("value", "key", "reason"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS]
)
def test_rejections_name_their_reason(
    value: bytes | None, key: bytes | None, reason: RejectReason
) -> None:
    with pytest.raises(InvalidFrame) as caught:
        decode(value, key)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_every_schema_reason_is_reachable() -> None:
    """DECODER_ERROR is the loop's name for a decoder bug (tests/unit/serve/test_batch.py)."""
    reached = {reason for *_, reason in REJECTIONS}
    assert reached == set(RejectReason) - {RejectReason.DECODER_ERROR}


def test_nan_in_values_is_non_finite() -> None:
    out = np.empty(FRAME_WIDTH, np.float32)
    decode_frame(message(), b"runner-42", out, NOW, LIMITS)
    from consumer.frames import explain_bad_values, values_ok

    out[7] = math.nan
    assert not values_ok(out[None, :])[0]
    assert explain_bad_values(out).reason == RejectReason.NON_FINITE


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.binary(max_size=2048), key=st.one_of(st.none(), st.binary(max_size=70)))
def test_any_bytes_decode_or_are_rejected(value: bytes, key: bytes | None) -> None:
    try:
        meta = decode(value, key)
    except InvalidFrame as exc:
        assert isinstance(exc.reason, RejectReason)
    else:
        assert isinstance(meta, FrameMeta)


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=70),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=140), st.dictionaries(st.text(max_size=12), inner, max_size=8)
    ),
    max_leaves=300,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "schema": st.one_of(st.just(1), JSON_SCALARS),
        "user_id": st.one_of(st.just("runner-42"), JSON_SCALARS),
        "session_id": st.one_of(st.just("s-1"), JSON_SCALARS),
        "frame": st.one_of(st.integers(-5, 2**60), JSON_SCALARS),
        "ts_ms": st.one_of(st.integers(NOW - 10**9, NOW + 10**9), JSON_SCALARS),
        "landmarks": st.one_of(
            st.lists(st.floats(-3, 3) | st.integers(-3, 3), min_size=130, max_size=134),
            st.lists(st.lists(st.floats(-3, 3), min_size=3, max_size=5), min_size=32,
                     max_size=34),
            JSON_VALUES,
        ),
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(fields=FIELDS)
def test_any_json_object_decodes_or_is_rejected(fields: dict[str, object]) -> None:
    """Structured fuzzing: near-valid objects reach the deep rules, not just the parser."""
    try:
        value = orjson.dumps(fields)
    except orjson.JSONEncodeError:
        return  # e.g. integers beyond 64 bits: not a message anyone can send as JSON here
    try:
        decode(value)
    except InvalidFrame as exc:
        assert isinstance(exc.reason, RejectReason)


@given(
    frame=st.integers(0, 2**53 - 1),
    ts_offset=st.integers(-86_000_000, 59_000),
    session=st.one_of(st.none(), st.from_regex(ID_RE, fullmatch=True)),
    user=st.from_regex(ID_RE, fullmatch=True),
    seed=st.integers(0, 2**32 - 1),
)
def test_valid_frames_round_trip_through_encode_frame(
    frame: int, ts_offset: int, session: str | None, user: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    values = np.empty((33, 4))
    values[:, :2] = rng.uniform(-1, 2, (33, 2))
    values[:, 2] = rng.uniform(-10, 10, 33)
    values[:, 3] = rng.uniform(0, 1, 33)
    out = np.empty(FRAME_WIDTH, np.float32)
    meta = decode_frame(
        encode_frame(user, frame, NOW + ts_offset, values, session_id=session),
        user.encode(), out, NOW, LIMITS,
    )
    assert meta == FrameMeta(user, session or DEFAULT_SESSION, frame, NOW + ts_offset)
    np.testing.assert_allclose(out, values.reshape(-1), atol=1e-5, rtol=1e-6)
