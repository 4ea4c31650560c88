"""The archiver's exactly-once protocol against a fake Kafka: crashes at every step of a
flush, redelivery, invalid frames, revoked partitions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from consumer.archive.layout import Dataset, iter_files
from consumer.archive.loop import Archiver, ArchiverConfig
from consumer.archive.reader import read_frames
from consumer.archive.schema import landmarks_of
from consumer.archive.state import load_state


class Crash(Exception):
    """Stands in for kill -9 in the middle of a flush."""


def config(root: Path, kit, flush_records: int = 10) -> ArchiverConfig:
    return ArchiverConfig(root=root, frames_topic=kit.FRAMES_TOPIC, scores_topic=kit.SCORES_TOPIC,
                          flush_records=flush_records, flush_interval_s=3600)


def drain(archiver: Archiver, steps: int = 200) -> None:
    for _ in range(steps):
        archiver.step()
    archiver.flush()


def keys(root: Path, dedup: bool = True) -> list[tuple[str, str, int]]:
    table = read_frames(root, dedup=dedup)
    return list(zip(table.column("user_id").to_pylist(), table.column("session_id").to_pylist(),
                    table.column("frame").to_pylist(), strict=True))


def test_frames_land_once_partitioned_by_date_and_user(tmp_path: Path, kit) -> None:
    kafka = kit.FakeKafka()
    kafka.send_frames("ann", "s1", range(25), partition=0)
    kafka.send_frames("bob", "s9", range(12), partition=1)
    archiver = Archiver(config(tmp_path, kit), kafka.source())
    drain(archiver)
    assert keys(tmp_path, dedup=False) == keys(tmp_path)  # no duplicate stored at all
    assert Counter(u for u, _, _ in keys(tmp_path)) == {"ann": 25, "bob": 12}
    files = iter_files(tmp_path, Dataset.FRAMES)
    dirs = {f.path.parent.relative_to(tmp_path).as_posix() for f in files}
    assert dirs == {"frames/date=2026-11-23/user=ann", "frames/date=2026-11-23/user=bob"}
    table = read_frames(tmp_path, users=["ann"])
    values = landmarks_of(table)
    assert values.dtype == np.float32 and values.shape == (25, 132)
    np.testing.assert_allclose(values[:, 0], np.arange(25) / 10_000, atol=1e-6)
    assert kafka.committed == {("pose.frames", 0): 25, ("pose.frames", 1): 12}


@pytest.mark.parametrize("crash_at_file", [1, 2, 4])
def test_a_crash_mid_flush_neither_loses_nor_duplicates(
    tmp_path: Path, kit, crash_at_file: int
) -> None:
    kafka = kit.FakeKafka()
    # Two users and two dates in one partition: one flush writes four files.
    for frame in range(40):
        user = "ann" if frame % 2 else "bob"
        ts = kit.BASE_TS + (0 if frame < 20 else 86_400_000)
        kafka.append(kit.FRAMES_TOPIC, 0, user.encode(), kit.frame_value(user, "s", frame, ts),
                     timestamp=ts + 1000)
    written: list[Path] = []

    def crash(path: Path) -> None:
        written.append(path)
        if len(written) >= crash_at_file:
            raise Crash(path)

    first = Archiver(config(tmp_path, kit, flush_records=40), kafka.source(batch=40),
                     after_file=crash)
    with pytest.raises(Crash):
        drain(first)
    assert kafka.committed == {}  # the crash came before any commit
    assert load_state(tmp_path, kit.FRAMES_TOPIC, 0).pending  # the intent is on disk

    # Other batch boundaries after the restart (as after a real one): the replay's file names
    # differ from the crashed flush's, so only the rollback keeps them from doubling up.
    second = Archiver(config(tmp_path, kit, flush_records=15), kafka.source(batch=15))
    drain(second)
    stored = keys(tmp_path, dedup=False)
    assert len(stored) == 40 and len(set(stored)) == 40
    assert load_state(tmp_path, kit.FRAMES_TOPIC, 0).next_offset == 40


def test_a_crash_after_the_checkpoint_but_before_the_commit(tmp_path: Path, kit) -> None:
    """Kafka redelivers from its older committed offset; those records are dropped."""
    kafka = kit.FakeKafka()
    kafka.send_frames("ann", "s1", range(30))
    archiver = Archiver(config(tmp_path, kit), kafka.source(batch=10))
    drain(archiver)
    kafka.committed.clear()  # as if the commit never reached the broker
    again = Archiver(config(tmp_path, kit), kafka.source(batch=10))
    drain(again)
    assert again.counts.frames_archived == 0
    # The first poll comes before the checkpoint is read: its records are dropped, then the
    # seek skips the rest without reading them.
    assert again.counts.replayed_dropped == 10
    assert len(keys(tmp_path, dedup=False)) == 30


def test_redelivered_records_below_the_checkpoint_are_dropped(tmp_path: Path, kit) -> None:
    kafka = kit.FakeKafka()
    kafka.send_frames("ann", "s1", range(20))
    archiver = Archiver(config(tmp_path, kit), kafka.source(batch=20))
    drain(archiver)
    source = kafka.source(batch=20)
    source.seek = lambda where, offset: None  # a consumer that ignores the seek
    source.position[(kit.FRAMES_TOPIC, 0)] = 5
    later = Archiver(config(tmp_path, kit), source)
    drain(later)
    assert later.counts.replayed_dropped == 15
    assert len(keys(tmp_path, dedup=False)) == 20


def test_invalid_frames_are_skipped_and_counted_but_their_offsets_advance(
    tmp_path: Path, kit
) -> None:
    kafka = kit.FakeKafka()
    kafka.send_frames("ann", "s1", range(5))
    kafka.append(kit.FRAMES_TOPIC, 0, b"ann", b"{not json")
    kafka.append(kit.FRAMES_TOPIC, 0, b"eve", kit.frame_value("ann", "s1", 99))  # key mismatch
    kafka.append(kit.FRAMES_TOPIC, 0, b"ann", kit.frame_value("ann", "s1", 98, ts_ms=1))  # stale
    archiver = Archiver(config(tmp_path, kit), kafka.source())
    drain(archiver)
    assert archiver.counts.skipped == {"invalid_json": 1, "key_mismatch": 1,
                                       "stale_timestamp": 1}
    assert len(keys(tmp_path)) == 5
    assert kafka.committed[(kit.FRAMES_TOPIC, 0)] == 8


def test_a_frame_sent_twice_by_a_client_is_read_once(tmp_path: Path, kit) -> None:
    kafka = kit.FakeKafka()
    kafka.send_frames("ann", "s1", [0, 1, 2, 2, 3])
    drain(Archiver(config(tmp_path, kit), kafka.source()))
    assert len(keys(tmp_path, dedup=False)) == 5
    assert keys(tmp_path) == [("ann", "s1", f) for f in range(4)]
    offsets = read_frames(tmp_path).column("kafka_offset").to_pylist()
    assert offsets == [0, 1, 2, 4]  # the first copy of frame 2 wins


def test_a_revoked_partition_loses_its_buffer_and_the_new_owner_reads_it(
    tmp_path: Path, kit
) -> None:
    kafka = kit.FakeKafka()
    kafka.send_frames("ann", "s1", range(6))
    source = kafka.source(batch=6)
    archiver = Archiver(config(tmp_path, kit, flush_records=100), source)
    archiver.step()
    source.revoke_next = {(kit.FRAMES_TOPIC, 0)}
    archiver.flush()
    assert keys(tmp_path) == []
    drain(Archiver(config(tmp_path, kit), kafka.source()))
    assert len(keys(tmp_path, dedup=False)) == 6


def test_score_records_are_archived_by_window_and_model(tmp_path: Path, kit) -> None:
    import orjson

    from consumer.serve.events import ScoredWindow, score_record

    kafka = kit.FakeKafka()
    for version in ("ae-1", "ae-1", "ae-2"):  # ae-1's record redelivered once
        window = ScoredWindow("ann", "s1", 0, 29, kit.BASE_TS, kit.BASE_TS + 990, 0.02, 0.01,
                              version, True)
        kafka.append(kit.SCORES_TOPIC, 0, b"ann", orjson.dumps(score_record(window, 1)))
    kafka.append(kit.SCORES_TOPIC, 0, b"ann", b'{"window_id": 3}')
    archiver = Archiver(config(tmp_path, kit), kafka.source())
    drain(archiver)
    from consumer.archive.reader import read_scores

    scores = read_scores(tmp_path)
    assert scores.column("model_version").to_pylist() == ["ae-1", "ae-2"]
    assert scores.column("score").to_pylist() == [0.02, 0.02]
    assert archiver.counts.skipped == {"bad_score_record": 1}
    assert len(read_scores(tmp_path, dedup=False)) == 3


def test_run_until_idle_flushes_everything_runs_upkeep_and_closes(tmp_path: Path, kit) -> None:
    import threading

    kafka = kit.FakeKafka()
    kafka.send_frames("ann", "s1", range(12))
    source = kafka.source(batch=5)
    upkeep: list[int] = []
    archiver = Archiver(config(tmp_path, kit, flush_records=1000), source)
    counts = archiver.run(threading.Event(), until_idle_s=0,
                          maintenance=lambda: upkeep.append(1), maintenance_interval_s=0)
    assert counts.frames_archived == 12 and counts.records == 12
    assert upkeep and source.closed
    assert len(keys(tmp_path)) == 12


def test_two_owners_of_one_partition_write_each_frame_once(tmp_path: Path, kit) -> None:
    """A partition moves while old owners still hold buffers: whoever flushes later writes
    only what lies past the checkpoint the others left."""
    kafka = kit.FakeKafka()
    kafka.send_frames("ann", "s1", range(15))
    owners = [Archiver(config(tmp_path, kit, flush_records=1000), kafka.source(batch=batch))
              for batch in (10, 15, 10)]
    for owner in owners:
        owner.step()  # buffers offsets 0..9, 0..14 and 0..9
    for owner in owners:
        owner.flush()
    assert [o.counts.frames_archived for o in owners] == [10, 5, 0]
    assert len(keys(tmp_path, dedup=False)) == 15
    assert load_state(tmp_path, kit.FRAMES_TOPIC, 0).next_offset == 15
