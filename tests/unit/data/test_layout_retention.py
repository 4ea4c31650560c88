"""Partition paths and file names, retention selection, compaction, dedup on read."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from consumer.archive.compact import compact, plan_compaction
from consumer.archive.layout import (
    ArchiveFile,
    Dataset,
    data_file_name,
    iter_files,
    parse_data_file_name,
    partition_dir,
    utc_date,
)
from consumer.archive.loop import Archiver, ArchiverConfig
from consumer.archive.reader import drop_duplicates, read_frames
from consumer.archive.retention import apply_retention, plan_retention
from consumer.errors import DataError


def test_partition_directories_are_hive_style_by_utc_date_and_user(tmp_path: Path) -> None:
    day = utc_date(1_795_474_459_123)
    assert day == date(2026, 11, 23)
    assert partition_dir(tmp_path, Dataset.FRAMES, day, "runner-42") == (
        tmp_path / "frames" / "date=2026-11-23" / "user=runner-42"
    )
    assert utc_date(1_795_478_399_999) == date(2026, 11, 23)  # 23:59:59.999 UTC
    assert utc_date(1_795_478_400_000) == date(2026, 11, 24)


@pytest.mark.parametrize("user", ["../etc", "a/b", "", ".hidden", "x" * 65])
def test_user_ids_that_could_escape_the_tree_are_refused(tmp_path: Path, user: str) -> None:
    with pytest.raises(DataError):
        partition_dir(tmp_path, Dataset.FRAMES, date(2026, 1, 1), user)


def test_file_names_carry_the_source_range_and_parse_back() -> None:
    name = data_file_name("pose.frames", 3, 1200, 1499)
    assert name == "pose.frames-p0003-o000000001200-000000001499.parquet"
    parsed = parse_data_file_name(name)
    assert parsed is not None
    assert (parsed.topic, parsed.partition, parsed.first_offset, parsed.last_offset) == (
        "pose.frames", 3, 1200, 1499)
    assert parse_data_file_name("compact-0123abcd.parquet") is None


def _file(day: str, size: int, name: str = "f.parquet", dataset: Dataset = Dataset.FRAMES,
          user: str = "u") -> ArchiveFile:
    return ArchiveFile(Path(f"/a/{dataset.value}/date={day}/user={user}/{name}"), dataset,
                       date.fromisoformat(day), user, size)


def test_retention_by_age_keeps_the_last_n_days_including_today() -> None:
    files = [_file("2026-11-20", 10), _file("2026-11-21", 10), _file("2026-11-23", 10)]
    plan = plan_retention(files, date(2026, 11, 23), retention_days=3, max_bytes=10**9)
    assert [f.day.isoformat() for f in plan.by_age] == ["2026-11-20"]
    assert plan.by_size == [] and plan.kept_bytes == 20


def test_retention_by_size_drops_the_oldest_days_first() -> None:
    files = [
        _file("2026-11-23", 40, "b.parquet"), _file("2026-11-21", 30, dataset=Dataset.SCORES),
        _file("2026-11-22", 50), _file("2026-11-23", 40, "a.parquet"),
    ]
    plan = plan_retention(files, date(2026, 11, 23), retention_days=30, max_bytes=100)
    assert [(f.day.isoformat(), f.path.name) for f in plan.by_size] == [
        ("2026-11-21", "f.parquet"), ("2026-11-22", "f.parquet"),
    ]
    assert plan.kept_bytes == 80
    nothing = plan_retention(files, date(2026, 11, 23), retention_days=30, max_bytes=160)
    assert nothing.delete == []


def _archive(root: Path, kit, days: list[int]) -> None:
    """Frames of user 'ann' on the given day offsets, one flush per frame (many files)."""
    kafka = kit.FakeKafka()
    for i, day in enumerate(days):
        ts = kit.BASE_TS + day * 86_400_000
        kafka.append(kit.FRAMES_TOPIC, 0, b"ann", kit.frame_value("ann", "s", i, ts), ts + 10)
    archiver = Archiver(ArchiverConfig(root, kit.FRAMES_TOPIC, kit.SCORES_TOPIC,
                                       flush_records=1, flush_interval_s=3600),
                        kafka.source(batch=1))
    for _ in range(len(days) + 2):
        archiver.step()
    archiver.flush()


def test_apply_retention_deletes_files_and_empty_directories(tmp_path: Path, kit) -> None:
    _archive(tmp_path, kit, [-3, -3, 0])
    plan = apply_retention(tmp_path, retention_days=2, max_bytes=10**9,
                           today=date(2026, 11, 23))
    assert len(plan.by_age) == 2
    assert not (tmp_path / "frames" / "date=2026-11-20").exists()
    assert read_frames(tmp_path).column("frame").to_pylist() == [2]
    dry = apply_retention(tmp_path, 1, 1, today=date(2026, 11, 23), dry_run=True)
    assert len(dry.by_size) == 1 and len(read_frames(tmp_path)) == 1


def test_compaction_merges_closed_days_into_one_file_per_user(tmp_path: Path, kit) -> None:
    _archive(tmp_path, kit, [-2, -2, -2, 0, 0])
    before = list(iter_files(tmp_path, Dataset.FRAMES))
    assert len(before) == 5
    assert [len(g) for g in plan_compaction(before, date(2026, 11, 23), 1)] == [3]
    assert compact(tmp_path, after_days=1, today=date(2026, 11, 23)) == 3
    after = list(iter_files(tmp_path, Dataset.FRAMES))
    assert len(after) == 3
    assert any(f.path.name.startswith("compact-") for f in after)
    assert read_frames(tmp_path, dedup=False).column("frame").to_pylist() == [0, 1, 2, 3, 4]


def test_drop_duplicates_keeps_the_first_by_partition_and_offset_sorted_by_key() -> None:
    table = pa.table({
        "user_id": ["b", "a", "a", "a", "b"],
        "session_id": ["s", "s", "s", "t", "s"],
        "frame": [1, 2, 2, 2, 1],
        "kafka_partition": [0, 1, 1, 1, 0],
        "kafka_offset": [9, 7, 3, 5, 4],
    })
    kept = drop_duplicates(table, ("user_id", "session_id", "frame"))
    assert kept.to_pylist() == [
        {"user_id": "a", "session_id": "s", "frame": 2, "kafka_partition": 1, "kafka_offset": 3},
        {"user_id": "a", "session_id": "t", "frame": 2, "kafka_partition": 1, "kafka_offset": 5},
        {"user_id": "b", "session_id": "s", "frame": 1, "kafka_partition": 0, "kafka_offset": 4},
    ]
