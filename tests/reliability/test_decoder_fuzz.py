"""Scenario 5b: the frame decoder fuzzed with >= 100,000 inputs (in-process, seeded), and
with Hypothesis (derandomized: the same examples every run) over structured near-valid frames.

Every input must either decode to a frame that keeps every rule (ids in the closed alphabet,
key equal to the user id, frame number and time in range, all 132 values finite and in their
ranges) or be refused with ``InvalidFrame`` and a schema reason: any other exception is a bug.
The batch decoder the consumer uses must agree with the single-frame one on every input, and
never fall back to ``decoder_error``.
"""

from __future__ import annotations

import traceback
from collections import Counter
from dataclasses import dataclass

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer.frames import (
    ID_RE,
    MAX_FRAME_NUMBER,
    FrameLimits,
    InvalidFrame,
    RejectReason,
    decode_frame,
    values_ok,
)
from consumer.landmarks import FRAME_WIDTH
from consumer.serve.batch import decode_batch
from tests.support.reliability.fuzz import fuzz_inputs
from tests.support.reliability.sizes import suite_size

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(suite_size().seconds_budget)]

NOW_MS = 1_795_474_459_000
LIMITS = FrameLimits()
SEED = 20261128
BATCH = 2000


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def decode_one(key: bytes | None, value: bytes | None, row: np.ndarray) -> str:
    """The outcome for one input: "accepted" or the reason; raises on anything unexpected."""
    try:
        meta = decode_frame(value, key, row, NOW_MS, LIMITS)
    except InvalidFrame as exc:
        assert exc.reason in RejectReason and exc.reason != RejectReason.DECODER_ERROR
        return exc.reason.value
    assert ID_RE.fullmatch(meta.user_id) and ID_RE.fullmatch(meta.session_id)
    assert key == meta.user_id.encode()
    assert 0 <= meta.frame < MAX_FRAME_NUMBER
    assert NOW_MS - LIMITS.max_age_ms <= meta.ts_ms <= NOW_MS + LIMITS.max_future_ms
    assert values_ok(row[None, :])[0]
    return "accepted"


def test_the_decoder_refuses_every_fuzzed_input_with_a_reason_or_decodes_it_cleanly(
    scenario, size
) -> None:
    result = scenario("decoder_fuzz", f"{size.fuzz_inputs:,} fuzzed inputs (seeded mutations of "
                                      "frames + random bytes), in-process")
    row = np.empty(FRAME_WIDTH, dtype=np.float32)
    outcomes: Counter[str] = Counter()
    crashes: list[str] = []
    batch: list[Record] = []
    batch_outcomes: list[str] = []
    disagreements: list[str] = []

    def check_batch() -> None:
        decoded = decode_batch(batch, NOW_MS, LIMITS)  # type: ignore[arg-type]
        refused = {r.record.offset: r.reason for r in decoded.rejected}
        for record, single in zip(batch, batch_outcomes, strict=True):
            in_batch = refused.get(record.offset, "accepted")
            if in_batch != single:
                disagreements.append(f"{record!r}: alone {single}, in a batch {in_batch}")
        assert decoded.frames == batch_outcomes.count("accepted")
        batch.clear()
        batch_outcomes.clear()

    for i, (key, value) in enumerate(fuzz_inputs(size.fuzz_inputs, SEED, NOW_MS)):
        try:
            outcome = decode_one(key, value, row)
        except Exception:  # any exception but InvalidFrame is what we are looking for
            crashes.append(f"key={key!r} value={value!r:.300}\n{traceback.format_exc()}")
            outcome = "crash"
        outcomes[outcome] += 1
        if outcome != "crash":
            batch.append(Record("fuzz", 0, i, key, value))
            batch_outcomes.append(outcome)
        if len(batch) == BATCH:
            check_batch()
    if batch:
        check_batch()

    result.messages_sent = sum(outcomes.values())
    result.dlq = sum(n for outcome, n in outcomes.items() if outcome not in ("accepted", "crash"))
    result.extra.update(outcomes=dict(outcomes.most_common()), crashes=len(crashes),
                        batch_disagreements=len(disagreements))
    assert crashes == [], crashes[:3]
    assert disagreements == [], disagreements[:3]
    assert sum(outcomes.values()) >= size.fuzz_inputs >= 100_000
    # The inputs reach past the parser: most reasons, and some frames that are valid.
    assert outcomes["accepted"] > 0
    assert len(set(outcomes) - {"accepted"}) >= 14, outcomes


# Hypothesis leans to edge values (0, -0.0, extremes, empty and odd strings) that a seeded
# generator meets rarely; derandomized, CI sees the same examples on every run.
JSON_LEAVES = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=3),
    max_leaves=8,
)
FIELDS = ("schema", "user_id", "session_id", "frame", "ts_ms", "landmarks")


@settings(derandomize=True, max_examples=suite_size().fuzz_inputs // 100, deadline=None,
          database=None, suppress_health_check=list(HealthCheck))
@given(
    changes=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=3),
    dropped=st.sets(st.sampled_from(FIELDS), max_size=2),
    landmark_edit=st.tuples(st.integers(0, 131), JSON_LEAVES) | st.none(),
    key=st.sampled_from(["user", "none", "empty", "other"]),
)
def test_hypothesis_structured_frames_decode_or_are_refused_with_a_reason(
    changes: dict, dropped: set, landmark_edit: tuple | None, key: str
) -> None:
    frame: dict = {"schema": 1, "user_id": "hy-1", "session_id": "s", "frame": 7,
                   "ts_ms": NOW_MS, "landmarks": [0.5, 0.4, -0.1, 0.9] * 33}
    if landmark_edit is not None:
        frame["landmarks"][landmark_edit[0]] = landmark_edit[1]
    frame.update(changes)
    for name in dropped:
        frame.pop(name, None)
    try:
        value = orjson.dumps(frame)
    except orjson.JSONEncodeError:  # beyond what JSON can carry here (e.g. 2**64 - 1)
        return
    user = frame.get("user_id")
    keys = {"user": user.encode() if isinstance(user, str) else b"hy-1", "none": None,
            "empty": b"", "other": b"someone-else"}
    decode_one(keys[key], value, np.empty(FRAME_WIDTH, dtype=np.float32))
