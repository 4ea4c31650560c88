"""The label message schema and the append-only, idempotent label store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from consumer.labels.schema import InvalidLabel, new_submission, parse_label
from consumer.labels.store import LabelStore, RejectedLabel, Source


def message(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "schema": 1, "label_id": "l-1", "user_id": "runner-1", "session_id": "s1",
        "start_frame": 10, "end_frame": 20, "label": "abnormal", "fault": "overstriding",
        "labeller": "alice", "note": "", "submitted_at_ms": 1,
    }
    base.update(changes)
    return base


def test_a_label_round_trips_through_its_message() -> None:
    label = new_submission(user_id="runner-1", session_id="s1", start_frame=3, end_frame=9,
                           label="abnormal", fault="limp", labeller="coach", note="tired")
    parsed = parse_label(label.encode(), b"runner-1")
    assert parsed == label
    assert parsed.name == "limp"
    assert len(label.label_id) == 32


@pytest.mark.parametrize(
    ("changes", "key", "reason"),
    [
        ({"end_frame": 5}, b"runner-1", "bad_range"),
        ({"start_frame": -1}, b"runner-1", "bad_range"),
        ({"label": "bad"}, b"runner-1", "bad_label"),
        ({"label": "normal"}, b"runner-1", "bad_fault"),
        ({"fault": "moonwalk"}, b"runner-1", "unknown_fault"),
        ({"labeller": "../x"}, b"runner-1", "bad_labeller"),
        ({"user_id": ""}, b"", "bad_user_id"),
        ({"note": "x" * 1001}, b"runner-1", "bad_note"),
        ({"submitted_at_ms": "now"}, b"runner-1", "bad_timestamp"),
        ({"schema": 2}, b"runner-1", "unsupported_schema"),
        ({}, b"runner-2", "key_mismatch"),
    ],
)
def test_bad_label_messages_are_refused_with_a_reason(changes, key, reason) -> None:
    with pytest.raises(InvalidLabel) as info:
        parse_label(orjson.dumps(message(**changes)), key)
    assert info.value.reason == reason


def test_the_store_keeps_every_submission_once_and_refuses_changes(tmp_path: Path) -> None:
    first = parse_label(orjson.dumps(message()), b"runner-1")
    second = parse_label(orjson.dumps(message(label_id="l-2", label="normal", fault=None)),
                         b"runner-1")
    with LabelStore(tmp_path / "labels.sqlite") as store:
        assert store.add([(first, Source("t", 0, 0)), (second, Source("t", 0, 1))]) == (2, 0)
        # Kafka redelivers the batch: nothing new.
        assert store.add([(first, Source("t", 0, 0)), (second, Source("t", 0, 1))]) == (0, 0)
        # The same id for a different label is refused, on the record.
        reused = parse_label(orjson.dumps(message(end_frame=99)), b"runner-1")
        assert store.add([(reused, Source("t", 0, 2))]) == (0, 1)
        bad = RejectedLabel("invalid_json", "x", "{", Source("t", 0, 3))
        assert store.add([], [bad, bad]) == (0, 1)
        assert [s.submission for s in store.submissions()] == [first, second]
        assert [r["reason"] for r in store.rejected()] == ["label_id_reused", "invalid_json"]
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            store._db.execute("UPDATE label_submissions SET label = 'normal'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            store._db.execute("DELETE FROM label_submissions")
    with LabelStore(tmp_path / "labels.sqlite") as reopened:
        assert reopened.count() == 2


def test_ingest_stores_each_message_once_and_commits_after_storing(tmp_path: Path, kit) -> None:
    import threading

    from consumer.labels.ingest import run_ingest
    from consumer.settings import load_settings

    settings = load_settings(environ={}).with_overrides(
        archive={"labels_db": str(tmp_path / "labels.sqlite")}, topics={"labels": "labels"})
    kafka = kit.FakeKafka()
    good = orjson.dumps(message())
    for value in (good, b"{", good, orjson.dumps(message(label_id="l-2"))):
        kafka.append("labels", 0, b"runner-1", value)
    counts = run_ingest(settings, threading.Event(), until_idle_s=0, source=kafka.source(2))
    assert (counts.stored, counts.rejected, counts.already_stored) == (2, 1, 1)
    assert kafka.committed == {("labels", 0): 4}
    kafka.committed.clear()  # the commit was lost: everything is redelivered
    again = run_ingest(settings, threading.Event(), until_idle_s=0, source=kafka.source(4))
    assert (again.stored, again.rejected, again.already_stored) == (0, 0, 3)
    with LabelStore(tmp_path / "labels.sqlite") as store:
        assert store.count() == 2 and len(store.rejected()) == 1
