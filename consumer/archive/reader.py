"""Reading the archive back: every frame once, by (user, session, frame).

``read_frames`` lists the finished files (``layout.iter_files``), reads them and drops
duplicates by key, keeping the row read first from Kafka (lowest partition, then offset), as
the consumer keeps the first copy of a frame number and ignores later ones. Duplicates reach
the files only from outside the archiver's own protocol: a client that sent a frame twice, or
files merged by compaction while an unfinished flush was being rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from consumer.archive.layout import Dataset, iter_files
from consumer.archive.schema import FRAME_KEY, FRAME_SCHEMA, SCORE_KEY, SCORE_SCHEMA
from consumer.errors import DataError

_ORDER = ("kafka_partition", "kafka_offset")


def group_starts(table: pa.Table, columns: Sequence[str]) -> np.ndarray:
    """Rows of a table sorted by ``columns`` where a new combination of their values starts."""
    first = np.zeros(table.num_rows, dtype=bool)
    if table.num_rows:
        first[0] = True
    for name in columns:
        column = table.column(name).combine_chunks()
        if len(column) > 1:
            changed = pc.not_equal(column.slice(1), column.slice(0, len(column) - 1))
            first[1:] |= changed.to_numpy(zero_copy_only=False)
    return first


def drop_duplicates(table: pa.Table, key: Sequence[str]) -> pa.Table:
    """One row per key (the first by Kafka partition and offset), sorted by key."""
    if table.num_rows <= 1:
        return table
    order = [(name, "ascending") for name in (*key, *_ORDER)]
    ordered = table.take(pc.sort_indices(table, sort_keys=order))
    return ordered.filter(pa.array(group_starts(ordered, key)))


def _read(
    root: Path, dataset: Dataset, schema: pa.Schema, users: Iterable[str] | None,
    columns: Sequence[str] | None,
) -> pa.Table:
    wanted = None if users is None else set(users)
    names = list(columns) if columns is not None else schema.names
    try:
        tables = [
            pq.read_table(item.path, columns=names, schema=schema)
            for item in iter_files(root, dataset, wanted)
        ]
    except FileNotFoundError as exc:
        raise DataError(
            f"{exc.filename} went away while reading (retention or compaction ran): read again"
        ) from exc
    if not tables:
        return pa.schema([schema.field(n) for n in names]).empty_table()
    return pa.concat_tables(tables)


def read_frames(
    root: Path,
    users: Iterable[str] | None = None,
    columns: Sequence[str] | None = None,
    dedup: bool = True,
) -> pa.Table:
    """Archived frames (of ``users``, or all), one per (user, session, frame) unless
    ``dedup`` is False (then every stored row, to audit the files themselves)."""
    if columns is not None:
        columns = list(dict.fromkeys([*columns, *FRAME_KEY, *_ORDER]))
    table = _read(root, Dataset.FRAMES, FRAME_SCHEMA, users, columns)
    return drop_duplicates(table, FRAME_KEY) if dedup else table


def read_scores(
    root: Path, users: Iterable[str] | None = None, dedup: bool = True
) -> pa.Table:
    """Archived score records, one per (window_id, model_version) unless ``dedup`` is False."""
    table = _read(root, Dataset.SCORES, SCORE_SCHEMA, users, None)
    return drop_duplicates(table, SCORE_KEY) if dedup else table
