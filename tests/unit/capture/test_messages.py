"""Frames the client builds are frames the server accepts: checked with the server's decoder."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import orjson
import pytest
from barunrun_capture.errors import BadArgument
from barunrun_capture.messages import (
    check_id,
    encode_frame,
    session_id_at,
    track_session_id,
    within_contract,
)

from consumer.frames import FrameLimits, decode_frame
from consumer.landmarks import FRAME_WIDTH

NOW_MS = 1_795_474_459_123


def landmarks(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = rng.uniform(0.1, 0.9, size=(33, 4))
    out[:, 2] = rng.normal(0, 0.2, 33)
    return out


def test_a_client_frame_decodes_on_the_server_with_every_field():
    value = encode_frame("runner-42", "s-20261123-070512", 1234, NOW_MS, landmarks())
    row = np.empty(FRAME_WIDTH, dtype=np.float32)
    meta = decode_frame(value, b"runner-42", row, NOW_MS, FrameLimits())
    assert (meta.user_id, meta.session_id, meta.frame, meta.ts_ms) == (
        "runner-42", "s-20261123-070512", 1234, NOW_MS)
    np.testing.assert_allclose(row.reshape(33, 4), landmarks(), atol=1e-5)
    message = orjson.loads(value)
    assert message["schema"] == 1 and len(message["landmarks"]) == 33
    assert len(value) < 4096  # well under the server's 16 KiB limit


def test_values_beyond_the_contract_ranges_are_clipped_not_rejected():
    wild = landmarks()
    wild[0] = [2.7, -1.5, 14.0, 1.2]
    clipped = within_contract(wild)
    np.testing.assert_array_equal(clipped[0], [2.0, -1.0, 10.0, 1.0])
    row = np.empty(FRAME_WIDTH, dtype=np.float32)
    decode_frame(encode_frame("u1", "s1", 0, NOW_MS, wild), b"u1", row, NOW_MS)


def test_frames_without_a_person_are_never_encoded():
    empty = np.full((33, 4), np.nan)
    with pytest.raises(ValueError, match="finite"):
        encode_frame("u1", "s1", 0, NOW_MS, empty)


@pytest.mark.parametrize("bad", ["", "-lead", "has space", "x" * 65, "colon:inside"])
def test_ids_the_server_would_reject_are_refused_up_front(bad):
    with pytest.raises(BadArgument):
        check_id(bad, "--user-id")


def test_session_ids_from_the_start_time_and_per_track():
    moment = datetime(2026, 11, 23, 7, 5, 12, tzinfo=UTC)
    base = session_id_at(moment)
    assert base == "s-20261123-070512"
    assert check_id(base, "session")
    assert track_session_id(base, 1) == base
    assert track_session_id(base, 2) == "s-20261123-070512-2"
    long = "s" * 64
    assert len(track_session_id(long, 12)) == 64
