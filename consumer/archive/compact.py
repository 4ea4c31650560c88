"""Compaction: the many small files of a closed day merge into one file per (date, user).

A flush writes one file per (source partition, date, user), so a runner's hour is a few
hundred small files. Once a day is ``compact_after_days`` old (late frames have arrived),
its files are read, duplicates dropped by key, and written as ``compact-<digest>.parquet``
(atomically); then the inputs are deleted. A kill between the two leaves both: the reader
drops the duplicates and the next compaction merges them.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from consumer.archive.durable import remove_durably, write_atomic
from consumer.archive.layout import ArchiveFile, Dataset, iter_files
from consumer.archive.reader import drop_duplicates
from consumer.archive.schema import (
    FRAME_KEY,
    FRAME_SCHEMA,
    PARQUET_OPTIONS,
    SCORE_KEY,
    SCORE_SCHEMA,
)

log = logging.getLogger(__name__)

COMPACT_PREFIX = "compact-"


def plan_compaction(
    files: Sequence[ArchiveFile], today: date, after_days: int
) -> list[list[ArchiveFile]]:
    """Groups of files to merge: per (dataset, day, user), closed days only, 2+ files."""
    last_day = today - timedelta(days=after_days)
    groups: dict[tuple[str, date, str], list[ArchiveFile]] = defaultdict(list)
    for item in files:
        if item.day <= last_day:
            groups[(item.dataset.value, item.day, item.user_id)].append(item)
    return [sorted(g, key=lambda f: f.path.name) for _, g in sorted(groups.items())
            if len(g) >= 2]


def compact_group(group: Sequence[ArchiveFile]) -> Path:
    dataset = group[0].dataset
    schema, key = (
        (FRAME_SCHEMA, FRAME_KEY) if dataset is Dataset.FRAMES else (SCORE_SCHEMA, SCORE_KEY)
    )
    table = drop_duplicates(
        pa.concat_tables([pq.read_table(f.path, schema=schema) for f in group]), key
    )
    digest = hashlib.sha256("\n".join(f.path.name for f in group).encode()).hexdigest()[:16]
    target = group[0].path.parent / f"{COMPACT_PREFIX}{digest}.parquet"
    write_atomic(target, lambda handle: pq.write_table(table, handle, **PARQUET_OPTIONS))
    remove_durably([f.path for f in group if f.path != target])
    return target


def compact(root: Path, after_days: int, today: date | None = None) -> int:
    """Merge the closed days' small files; returns how many files were merged away."""
    today = today or datetime.now(UTC).date()
    files = [f for dataset in Dataset for f in iter_files(root, dataset)]
    merged = 0
    for group in plan_compaction(files, today, after_days):
        compact_group(group)
        merged += len(group)
    if merged:
        log.info("compaction merged files=%d", merged)
    return merged
