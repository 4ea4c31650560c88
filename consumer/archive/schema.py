"""The Arrow schemas of the archive's two datasets, and tables built from decoded rows.

Frames are compact: the 132 landmark values are one ``fixed_size_list<float32>[132]`` column
(528 bytes a frame before compression, no per-value list offsets), ids are dictionary-encoded
by Parquet, and every row keeps where it came from (``kafka_partition``, ``kafka_offset``) so
that duplicates are resolved the way the consumer resolves them: the first one read wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from consumer.landmarks import FRAME_WIDTH

# zstd: about 2x smaller than snappy on landmark floats at similar read speed.
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "use_dictionary": True}

FRAME_KEY = ("user_id", "session_id", "frame")
FRAME_SCHEMA = pa.schema([
    pa.field("user_id", pa.string(), nullable=False),
    pa.field("session_id", pa.string(), nullable=False),
    pa.field("frame", pa.int64(), nullable=False),
    pa.field("ts_ms", pa.int64(), nullable=False),
    pa.field("landmarks", pa.list_(pa.float32(), FRAME_WIDTH), nullable=False),
    pa.field("kafka_partition", pa.int32(), nullable=False),
    pa.field("kafka_offset", pa.int64(), nullable=False),
    pa.field("archived_at_ms", pa.int64(), nullable=False),
])

SCORE_KEY = ("window_id", "model_version")
SCORE_SCHEMA = pa.schema([
    pa.field("window_id", pa.string(), nullable=False),
    pa.field("user_id", pa.string(), nullable=False),
    pa.field("session_id", pa.string(), nullable=False),
    pa.field("window_start_frame", pa.int64()),
    pa.field("window_end_frame", pa.int64(), nullable=False),
    pa.field("window_start_ts_ms", pa.int64()),
    pa.field("window_end_ts_ms", pa.int64(), nullable=False),
    pa.field("score", pa.float64()),
    pa.field("threshold", pa.float64()),
    pa.field("model_version", pa.string(), nullable=False),
    pa.field("anomaly", pa.bool_()),
    pa.field("valid", pa.bool_()),
    pa.field("invalid_reason", pa.string()),
    pa.field("scored_at_ms", pa.int64()),
    # Fields later versions of the score record add (detectors, fault, personal_z, ...), as
    # JSON: the archive keeps them without a schema change.
    pa.field("extras_json", pa.string()),
    pa.field("kafka_partition", pa.int32(), nullable=False),
    pa.field("kafka_offset", pa.int64(), nullable=False),
    pa.field("archived_at_ms", pa.int64(), nullable=False),
])
SCORE_COLUMNS = tuple(f.name for f in SCORE_SCHEMA if not f.name.startswith(("kafka_", "arch")))


@dataclass(frozen=True, slots=True)
class FrameRow:
    """One accepted frame, as decoded, with where it was read."""

    user_id: str
    session_id: str
    frame: int
    ts_ms: int
    values: np.ndarray  # (132,) float32
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One valid score record (the fields of ``SCORE_COLUMNS``), with where it was read."""

    fields: dict[str, Any]
    partition: int
    offset: int

    @property
    def user_id(self) -> str:
        return str(self.fields["user_id"])

    @property
    def ts_ms(self) -> int:
        return int(self.fields["window_end_ts_ms"])


def landmark_array(values: np.ndarray) -> pa.FixedSizeListArray:
    flat = pa.array(np.ascontiguousarray(values, dtype=np.float32).reshape(-1), pa.float32())
    return pa.FixedSizeListArray.from_arrays(flat, FRAME_WIDTH)


def frames_table(rows: Sequence[FrameRow], archived_at_ms: int) -> pa.Table:
    count = len(rows)
    values = (
        np.stack([r.values for r in rows]) if rows else np.empty((0, FRAME_WIDTH), np.float32)
    )
    return pa.Table.from_arrays(
        [
            pa.array([r.user_id for r in rows], pa.string()),
            pa.array([r.session_id for r in rows], pa.string()),
            pa.array(np.fromiter((r.frame for r in rows), np.int64, count)),
            pa.array(np.fromiter((r.ts_ms for r in rows), np.int64, count)),
            landmark_array(values),
            pa.array(np.fromiter((r.partition for r in rows), np.int32, count)),
            pa.array(np.fromiter((r.offset for r in rows), np.int64, count)),
            pa.array(np.full(count, archived_at_ms, dtype=np.int64)),
        ],
        schema=FRAME_SCHEMA,
    )


def scores_table(rows: Sequence[ScoreRow], archived_at_ms: int) -> pa.Table:
    records = [
        {**row.fields, "kafka_partition": row.partition, "kafka_offset": row.offset,
         "archived_at_ms": archived_at_ms}
        for row in rows
    ]
    return pa.Table.from_pylist(records, schema=SCORE_SCHEMA)


def landmarks_of(table: pa.Table) -> np.ndarray:
    """The (N, 132) float32 landmark values of a frames table (no per-row Python objects)."""
    column = table.column("landmarks").combine_chunks()
    flat = column.flatten().to_numpy(zero_copy_only=False)
    return flat.reshape(len(table), FRAME_WIDTH).astype(np.float32, copy=False)
