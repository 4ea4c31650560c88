"""Where things live in an archive directory (pure: names and paths, no I/O but listing).

::

    ARCHIVE/
      frames/date=2026-11-23/user=runner-42/pose.frames-p0003-o000000001200-000000001499.parquet
      scores/date=2026-11-23/user=runner-42/pose.scores-p0003-o000000000040-000000000049.parquet
      frames/date=2026-11-21/user=runner-42/compact-3f9a0c1b2d4e.parquet   (merged, closed day)
      _state/<topic>/<partition>.json   the offset checkpoint per source partition (``state``)
      labels.sqlite                     the label store (``consumer.labels.store``)

Directories are Hive-style (``date=``, ``user=``) so pyarrow.dataset, DuckDB, Spark and
Athena read the tree as a partitioned table. A data file's name says which offsets of which
topic partition it holds; names starting with ``.`` are unfinished writes, never data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

from consumer.errors import DataError
from consumer.frames import ID_RE

STATE_DIR = "_state"
SUFFIX = ".parquet"
_TOPIC_RE = re.compile(r"[A-Za-z0-9._\-]{1,249}")
_NAME_RE = re.compile(r"(?P<topic>.+)-p(?P<partition>\d+)-o(?P<first>\d+)-(?P<last>\d+)\.parquet")


class Dataset(StrEnum):
    FRAMES = "frames"
    SCORES = "scores"


def utc_date(ts_ms: int) -> date:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).date()


def partition_dir(root: Path, dataset: Dataset, day: date, user_id: str) -> Path:
    """The directory of one (date, user) partition; refuses ids that could escape the tree."""
    if not ID_RE.fullmatch(user_id):
        raise DataError(f"user id {user_id!r} is not a safe partition name")
    return root / dataset.value / f"date={day.isoformat()}" / f"user={user_id}"


def data_file_name(topic: str, partition: int, first_offset: int, last_offset: int) -> str:
    if not _TOPIC_RE.fullmatch(topic):
        raise DataError(f"topic {topic!r} is not a safe file name part")
    return f"{topic}-p{partition:04d}-o{first_offset:012d}-{last_offset:012d}{SUFFIX}"


@dataclass(frozen=True, slots=True)
class SourceRange:
    """What a flushed file's name says: the topic partition and offsets it was cut from."""

    topic: str
    partition: int
    first_offset: int
    last_offset: int


def parse_data_file_name(name: str) -> SourceRange | None:
    """The source range of a flushed file, or None (compacted or foreign files)."""
    match = _NAME_RE.fullmatch(name)
    if match is None:
        return None
    return SourceRange(
        match["topic"], int(match["partition"]), int(match["first"]), int(match["last"])
    )


def state_path(root: Path, topic: str, partition: int) -> Path:
    if not _TOPIC_RE.fullmatch(topic):
        raise DataError(f"topic {topic!r} is not a safe directory name")
    return root / STATE_DIR / topic / f"{partition}.json"


@dataclass(frozen=True, slots=True)
class ArchiveFile:
    """One finished data file of the archive."""

    path: Path
    dataset: Dataset
    day: date
    user_id: str
    size: int


def _parse_key(name: str, key: str) -> str | None:
    prefix = f"{key}="
    return name[len(prefix):] if name.startswith(prefix) else None


def iter_files(
    root: Path, dataset: Dataset, users: set[str] | None = None
) -> Iterator[ArchiveFile]:
    """Finished data files of one dataset (optionally of some users), by date then user."""
    base = root / dataset.value
    if not base.is_dir():
        return
    for day_dir in sorted(base.iterdir()):
        day_text = _parse_key(day_dir.name, "date")
        if day_text is None or not day_dir.is_dir():
            continue
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            continue
        for user_dir in sorted(day_dir.iterdir()):
            user = _parse_key(user_dir.name, "user")
            if user is None or (users is not None and user not in users):
                continue
            for path in sorted(user_dir.glob(f"*{SUFFIX}")):
                if path.name.startswith("."):
                    continue
                try:
                    size = path.stat().st_size
                except FileNotFoundError:  # removed by retention or compaction meanwhile
                    continue
                yield ArchiveFile(path, dataset, day, user, size)


def archived_users(root: Path, dataset: Dataset = Dataset.FRAMES) -> list[str]:
    base = root / dataset.value
    if not base.is_dir():
        return []
    users = {
        user
        for day_dir in base.iterdir() if day_dir.is_dir()
        for user_dir in day_dir.iterdir()
        if (user := _parse_key(user_dir.name, "user")) is not None
    }
    return sorted(users)
