"""Every kind of bad input lands in the dead-letter topic with its reason; good frames flow."""

from __future__ import annotations

import base64
import time

import orjson
import pytest
from kafka import KafkaProducer

from consumer.frames import RejectReason
from producer_sim.publish import stream_runners

pytestmark = pytest.mark.integration

ROW = [0.5, 0.4, -0.1, 0.9]


def bad_messages(now_ms: int) -> list[tuple[str, bytes | None, bytes | None]]:
    """(expected reason, key, value) for every reason the schema has."""

    def frame(**fields: object) -> bytes:
        message: dict[str, object] = {
            "schema": 1, "user_id": "bad-1", "frame": 1, "ts_ms": now_ms,
            "landmarks": [ROW] * 33,
        }
        message.update(fields)
        return orjson.dumps({k: v for k, v in message.items() if v is not None})

    return [
        ("too_large", b"bad-1", b" " * 20_000),
        ("invalid_utf8", b"bad-1", b'{"user_id": "\xff"}'),
        ("invalid_json", b"bad-1", frame()[:-9]),
        ("not_object", b"bad-1", b"[1, 2, 3]"),
        ("unsupported_schema", b"bad-1", frame(schema=2)),
        ("missing_field", b"bad-1", frame(ts_ms=None)),
        ("wrong_type", b"bad-1", frame(frame="1")),
        ("bad_user_id", b"bad 1", frame(user_id="bad 1")),
        ("bad_session_id", b"bad-1", frame(session_id="s:1")),
        ("missing_key", None, frame()),
        ("key_mismatch", b"someone-else", frame()),
        ("bad_landmarks", b"bad-1", frame(landmarks=ROW * 32 + ROW[:3])),
        ("non_finite", b"bad-1", frame(landmarks=ROW * 32 + [0.5, 0.5, 0.5, 1e39])),
        ("out_of_range", b"bad-1", frame(landmarks=[[9.0, 0.4, 0.0, 0.9]] + [ROW] * 32)),
        ("bad_frame_number", b"bad-1", frame(frame=-5)),
        ("future_timestamp", b"bad-1", frame(ts_ms=now_ms + 3_600_000)),
        ("stale_timestamp", b"bad-1", frame(ts_ms=now_ms - 30 * 86_400_000)),
    ]


def test_every_bad_input_kind_is_dead_lettered_while_good_frames_flow(
    settings_factory, consumers, reader, serve_kit, all_windows_scored
) -> None:
    settings = settings_factory(partitions=2)
    running = consumers(settings)
    bad = bad_messages(int(time.time() * 1000))
    assert {reason for reason, _, _ in bad} == set(RejectReason) - {RejectReason.DECODER_ERROR}
    producer = KafkaProducer(**settings.kafka.client_options())
    try:
        for _, key, value in bad[: len(bad) // 2]:
            producer.send(settings.topics.frames, key=key, value=value)
        producer.flush()
        summary = stream_runners(
            settings, runners=3, duration_s=4, fault_rate=0.0, realtime=False, seed=5,
            user_prefix="good",
        )
        for _, key, value in bad[len(bad) // 2:]:
            producer.send(settings.topics.frames, key=key, value=value)
        producer.flush()
    finally:
        producer.close()

    dlq = reader(settings, settings.topics.dlq)
    serve_kit.wait_for(lambda: len(dlq.read()) >= len(bad), 60, "every dead letter")
    letters = dlq.values()
    assert sorted(letter["reason"] for letter in letters) == sorted(r for r, _, _ in bad)
    # Good frames keep flowing: every window of the good runners is scored.
    audit = all_windows_scored(settings, summary.frames_sent + len(bad))
    assert len(audit.expected) >= 3 * 5  # 4 s of 3 runners: about 3 x 10 windows
    by_offset = {(r.partition, r.offset): r for r in audit.frames.records}
    for letter in letters:
        source = letter["source"]
        original = by_offset[(source["partition"], source["offset"])]
        assert source["topic"] == settings.topics.frames
        value = letter["value"]
        if letter["value_encoding"] == "base64":
            assert base64.b64decode(value) == original.value
        else:
            assert value.encode() == original.value
        assert letter["detail"]
    keys = {letter["reason"]: record.key for letter, record in zip(letters, dlq.records,
                                                                   strict=True)}
    assert keys["key_mismatch"] == b"someone-else" and keys["missing_key"] is None
    for reason, _, _ in bad:
        assert running.value("barunrun_frames_rejected_total", {"reason": reason}) == 1
    assert not running.errors
