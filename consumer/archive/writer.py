"""The flush of one source partition's buffered rows: the heart of exactly-once archiving.

For a buffer holding offsets ``first..last`` of topic partition ``p`` (checkpoint at
``first``), grouped into (date, user) parts:

1. checkpoint ``{next_offset: first, pending: [the part files]}`` (atomic): the intent;
2. each part file written atomically (temporary name, fsync, rename, fsync directory), named
   ``<topic>-p<p>-o<first>-<last>.parquet`` in its ``date=/user=`` directory;
3. checkpoint ``{next_offset: last + 1, pending: []}`` (atomic): the flush is done;
4. (the caller) commit ``last + 1`` to Kafka, as a hint for lag tools.

A kill at any point leaves either the old checkpoint with pending files that ``recover``
deletes (the records are read again from ``first``), or the new checkpoint with every file in
place (records below ``last + 1`` that Kafka redelivers are dropped by offset). No frame is
lost, and none is written twice. A producer that sent one frame twice (a client retry) gives
two records; those share the key (user, session, frame) and ``reader`` keeps the first.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from consumer.archive.durable import write_atomic
from consumer.archive.layout import Dataset, data_file_name, partition_dir, utc_date
from consumer.archive.schema import PARQUET_OPTIONS, FrameRow, ScoreRow, frames_table, scores_table
from consumer.archive.state import PartitionState, load_state, save_state
from consumer.errors import DataError

log = logging.getLogger(__name__)

Row = FrameRow | ScoreRow
# Called after each part file is durable; tests raise from it to crash a flush midway.
AfterFile = Callable[[Path], None]


@dataclass
class PartitionBuffer:
    """Rows read from one source partition since its last flush."""

    dataset: Dataset
    topic: str
    partition: int
    first_offset: int
    last_offset: int
    started_at: float  # monotonic time of the first record
    rows: list[Row] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def records(self) -> int:
        return self.last_offset - self.first_offset + 1


@dataclass(frozen=True)
class FlushResult:
    files: tuple[Path, ...]
    rows: int
    next_offset: int


def _parts(rows: Sequence[Row]) -> dict[tuple[str, str], list[Row]]:
    parts: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        parts[(utc_date(row.ts_ms).isoformat(), row.user_id)].append(row)
    return parts


def flush_partition(
    root: Path, buffer: PartitionBuffer, archived_at_ms: int, after_file: AfterFile | None = None
) -> FlushResult:
    """Write one partition's buffer by the protocol in the module docstring."""
    first = buffer.first_offset
    current = load_state(root, buffer.topic, buffer.partition)
    if current.next_offset is not None and current.next_offset > first:
        # Another archiver that had this partition flushed part of our buffer meanwhile:
        # write only what lies past its checkpoint.
        log.warning("buffer overlaps the checkpoint topic=%s partition=%d first=%d "
                    "checkpoint=%d", buffer.topic, buffer.partition, first, current.next_offset)
        first = current.next_offset
        if first > buffer.last_offset:
            return FlushResult((), 0, first)
    kept = [row for row in buffer.rows if row.offset >= first]
    name = data_file_name(buffer.topic, buffer.partition, first, buffer.last_offset)
    planned: list[tuple[Path, list[Row]]] = []
    for (_day, user), rows in sorted(_parts(kept).items()):
        folder = partition_dir(root, buffer.dataset, utc_date(rows[0].ts_ms), user)
        planned.append((folder / name, rows))
    if planned:
        pending = tuple(path.relative_to(root).as_posix() for path, _ in planned)
        save_state(root, PartitionState(buffer.topic, buffer.partition, first, pending))
    for path, rows in planned:
        table = (
            frames_table(rows, archived_at_ms)  # type: ignore[arg-type]
            if buffer.dataset is Dataset.FRAMES
            else scores_table(rows, archived_at_ms)  # type: ignore[arg-type]
        )
        try:
            write_atomic(
                path, lambda handle, t=table: pq.write_table(t, handle, **PARQUET_OPTIONS)
            )
        except OSError as exc:
            # Stop (the deployment restarts us): the intent stays, the restart rolls it back.
            raise DataError(f"cannot write archive file {path}: {exc}") from exc
        if after_file is not None:
            after_file(path)
    next_offset = buffer.last_offset + 1
    save_state(root, PartitionState(buffer.topic, buffer.partition, next_offset, ()))
    return FlushResult(tuple(path for path, _ in planned), len(kept), next_offset)
