"""Event, score-record and dead-letter builders: the contract's fields, deterministic ids."""

from __future__ import annotations

import base64

import orjson

from consumer.serve.batch import Rejected
from consumer.serve.events import (
    MAX_DEAD_LETTER_VALUE_BYTES,
    ScoredWindow,
    anomaly_event,
    dead_letter,
    score_record,
    to_json,
)

CONTRACT_EVENT_FIELDS = {
    "schema", "event_id", "user_id", "session_id", "window_start_frame", "window_end_frame",
    "window_start_ts_ms", "window_end_ts_ms", "score", "threshold", "model_version",
    "top_joints", "emitted_at_ms",
}


def window(**overrides: object) -> ScoredWindow:
    fields: dict[str, object] = dict(
        user_id="runner-42", session_id="s-20261123-0700", start_frame=1205, end_frame=1234,
        start_ts_ms=1795474458156, end_ts_ms=1795474459123, score=0.0213, threshold=0.0063,
        model_version="ae-20261123-01", anomaly=True,
        top_joints=(("left_knee", 0.41237), ("right_knee", 0.2)), detectors=("autoencoder",),
    )
    fields.update(overrides)
    return ScoredWindow(**fields)  # type: ignore[arg-type]


def test_anomaly_event_matches_the_contract() -> None:
    event = orjson.loads(to_json(anomaly_event(window(), emitted_at_ms=1795474459170)))
    assert set(event) >= CONTRACT_EVENT_FIELDS
    assert event["schema"] == 1
    assert event["event_id"] == "runner-42:s-20261123-0700:1234"
    assert event["window_start_frame"] == 1205 and event["window_end_frame"] == 1234
    assert event["score"] == 0.0213 and event["threshold"] == 0.0063
    assert event["top_joints"][0] == {"joint": "left_knee", "share": 0.4124}
    assert event["detectors"] == ["autoencoder"]
    assert event["emitted_at_ms"] == 1795474459170


def test_replayed_window_has_the_same_event_id() -> None:
    first = anomaly_event(window(), emitted_at_ms=1)
    again = anomaly_event(window(score=0.03), emitted_at_ms=2)
    assert first["event_id"] == again["event_id"]


def test_extras_add_fields_but_never_replace_contract_ones() -> None:
    event = anomaly_event(
        window(extras={"fault": "overstriding", "event_id": "forged", "personal_z": 3.1}), 5
    )
    assert event["fault"] == "overstriding" and event["personal_z"] == 3.1
    assert event["event_id"] == "runner-42:s-20261123-0700:1234"


def test_score_record_for_scored_and_unscored_windows() -> None:
    scored = score_record(window(anomaly=False, detectors=()), scored_at_ms=9)
    assert scored["window_id"] == "runner-42:s-20261123-0700:1234"
    assert scored["valid"] and scored["anomaly"] is False and scored["scored_at_ms"] == 9
    unscored = orjson.loads(to_json(score_record(
        window(score=None, anomaly=False, invalid_reason="low_visibility"), 9
    )))
    assert unscored["score"] is None and unscored["valid"] is False
    assert unscored["invalid_reason"] == "low_visibility"
    assert window(score=None).score_ratio is None
    assert window(score=0.0126, threshold=0.0063).score_ratio == 2.0


class _Record:
    topic = "pose.frames"
    partition = 2
    offset = 42

    def __init__(self, value: bytes | None, key: bytes | None) -> None:
        self.value = value
        self.key = key


def test_dead_letter_keeps_text_as_text() -> None:
    letter = dead_letter(Rejected(_Record(b'{"frame": "x"}', b"runner-1"), "wrong_type", "d"), 7)
    assert letter["reason"] == "wrong_type" and letter["detail"] == "d"
    assert letter["source"] == {"topic": "pose.frames", "partition": 2, "offset": 42}
    assert letter["value"] == '{"frame": "x"}' and letter["value_encoding"] == "utf-8"
    assert letter["key"] == "runner-1"


def test_dead_letter_base64_for_binary_and_cut_for_huge() -> None:
    binary = dead_letter(Rejected(_Record(b"\xff\xfe", b"\x80"), "invalid_utf8", "d"), 7)
    assert binary["value_encoding"] == "base64"
    assert base64.b64decode(binary["value"]) == b"\xff\xfe"
    assert binary["key_encoding"] == "base64"
    huge = dead_letter(Rejected(_Record(b"a" * (MAX_DEAD_LETTER_VALUE_BYTES + 5), None),
                                "too_large", "d"), 7)
    assert huge["value_truncated"] and len(huge["value"]) == MAX_DEAD_LETTER_VALUE_BYTES
    assert huge["key"] is None
    tombstone = dead_letter(Rejected(_Record(None, b"k"), "invalid_json", "d"), 7)
    assert tombstone["value"] is None
    orjson.loads(to_json(huge))
