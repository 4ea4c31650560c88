"""The binary window state: round trips exactly, refuses what it did not write."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumer.landmarks import FRAME_WIDTH
from consumer.windows.codec import (
    HEADER_SIZE,
    CorruptState,
    decode_state,
    encode_state,
    next_version,
    read_version,
    version_prefix,
)
from consumer.windows.rules import WindowState


def make_state(count: int, accepted: int | None = None, seed: int = 0) -> WindowState:
    rng = np.random.default_rng(seed)
    return WindowState(
        accepted=count if accepted is None else accepted,
        frames=np.arange(100, 100 + count, dtype=np.int64),
        ts_ms=1_795_474_459_000 + 33 * np.arange(count, dtype=np.int64),
        values=rng.random((count, FRAME_WIDTH), dtype=np.float32),
    )


def assert_same(a: WindowState, b: WindowState) -> None:
    assert a.accepted == b.accepted
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.ts_ms, b.ts_ms)
    np.testing.assert_array_equal(a.values, b.values)
    assert b.frames.dtype == np.int64 and b.values.dtype == np.float32


def test_round_trip_is_exact_and_compact() -> None:
    state = make_state(30, accepted=1234)
    value = encode_state(7, state, b"episode")
    stored = decode_state(value)
    assert stored.version == 7
    assert stored.extra == b"episode"
    assert_same(state, stored.window)
    assert len(value) == HEADER_SIZE + 30 * (16 + 4 * FRAME_WIDTH) + len(b"episode")


@given(
    count=st.integers(1, 40),
    extra_accepted=st.integers(0, 2**40),
    version=st.integers(0, 2**64 - 1),
    extra=st.binary(max_size=64),
)
def test_round_trip_property(count: int, extra_accepted: int, version: int, extra: bytes) -> None:
    state = make_state(count, accepted=count + extra_accepted, seed=count)
    stored = decode_state(encode_state(version, state, extra))
    assert (stored.version, stored.extra) == (version, extra)
    assert_same(state, stored.window)


def test_version_is_the_first_eight_bytes() -> None:
    """The Redis CAS script compares this prefix without parsing the value."""
    value = encode_state(41, make_state(3))
    assert value[:8] == version_prefix(41)
    assert read_version(value) == 41
    assert next_version(41) == 42
    assert next_version(2**64 - 1) == 1


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v[:10],  # shorter than the header
        lambda v: v[:-1],  # truncated array
        lambda v: v + b"x",  # trailing garbage
        lambda v: v[:8] + b"\x09" + v[9:],  # unknown format
        lambda v: v[:12] + (131).to_bytes(2, "little") + v[14:],  # wrong width
    ],
    ids=["short", "truncated", "trailing", "format", "width"],
)
def test_corrupt_values_are_refused(mangle) -> None:
    with pytest.raises(CorruptState):
        decode_state(mangle(encode_state(1, make_state(5))))


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_corrupt_state(value: bytes) -> None:
    with contextlib.suppress(CorruptState):
        decode_state(value)
