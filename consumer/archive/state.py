"""The offset checkpoint of one source partition, kept beside the data it describes.

``_state/<topic>/<partition>.json``::

    {"topic": "pose.frames", "partition": 3, "next_offset": 1500,
     "pending": ["frames/date=2026-11-23/user=runner-42/pose.frames-p0003-o...parquet"],
     "updated_at_ms": 1795474459123}

``next_offset`` is the first offset not yet in the archive: everything before it is in
finished files. ``pending`` names the files of a flush that started but has not finished; if
the archiver dies mid-flush, ``recover`` deletes them and the records are read again from
``next_offset``. This file, not Kafka's committed offset, is the truth: it is replaced
atomically, after the data files are durable. Kafka's committed offset is only a hint that
tools can show as lag (and the start when no checkpoint exists yet).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from consumer.archive.durable import remove_durably, write_json_atomic
from consumer.archive.layout import state_path
from consumer.errors import DataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionState:
    topic: str
    partition: int
    next_offset: int | None = None  # None: nothing flushed from this partition yet
    pending: tuple[str, ...] = field(default=())


def load_state(root: Path, topic: str, partition: int) -> PartitionState:
    path = state_path(root, topic, partition)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        next_offset = data["next_offset"]
        pending = tuple(str(p) for p in data.get("pending", ()))
    except FileNotFoundError:
        return PartitionState(topic, partition)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"archive checkpoint {path} is unreadable ({exc}); move it away to restart this "
            "partition from Kafka's committed offset (readers drop any duplicate by key)"
        ) from exc
    if next_offset is not None and (type(next_offset) is not int or next_offset < 0):
        raise DataError(f"archive checkpoint {path} has a bad next_offset {next_offset!r}")
    return PartitionState(topic, partition, next_offset, pending)


def save_state(root: Path, state: PartitionState) -> None:
    path = state_path(root, state.topic, state.partition)
    try:
        write_json_atomic(path, {
            "topic": state.topic,
            "partition": state.partition,
            "next_offset": state.next_offset,
            "pending": list(state.pending),
            "updated_at_ms": time.time_ns() // 1_000_000,
        })
    except OSError as exc:
        raise DataError(f"cannot write archive checkpoint {path}: {exc}") from exc


def recover(root: Path, topic: str, partition: int) -> PartitionState:
    """The partition's checkpoint, after rolling back a flush that did not finish."""
    state = load_state(root, topic, partition)
    if not state.pending:
        return state
    removed = remove_durably([root / rel for rel in state.pending])
    log.warning(
        "rolled back an unfinished flush topic=%s partition=%d files=%d removed=%d "
        "resume_offset=%s", topic, partition, len(state.pending), removed, state.next_offset,
    )
    cleared = PartitionState(topic, partition, state.next_offset, ())
    save_state(root, cleared)
    return cleared
