"""The label store: every submission ever ingested, append-only, in SQLite.

Nothing is updated or deleted (triggers refuse it): a changed opinion is a new submission, and
``resolve`` decides which counts. Ingestion is idempotent: ``label_id`` is unique, so a
message Kafka delivers twice is stored once; a message that breaks the schema is kept in
``rejected_labels`` (unique by its topic position) with the reason, never dropped silently;
a ``label_id`` reused for different content is rejected the same way.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields
from pathlib import Path

from consumer.errors import DataError
from consumer.labels.schema import LabelSubmission
from consumer.settings import ArchiveSettings

_FIELDS = tuple(f.name for f in fields(LabelSubmission))
_SCHEMA = """
CREATE TABLE IF NOT EXISTS label_submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    label_id TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    start_frame INTEGER NOT NULL,
    end_frame INTEGER NOT NULL CHECK (end_frame >= start_frame),
    label TEXT NOT NULL CHECK (label IN ('normal', 'abnormal')),
    fault TEXT,
    labeller TEXT NOT NULL,
    note TEXT NOT NULL,
    submitted_at_ms INTEGER NOT NULL,
    source_topic TEXT, source_partition INTEGER, source_offset INTEGER,
    ingested_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS label_submissions_session
    ON label_submissions (user_id, session_id);
CREATE TABLE IF NOT EXISTS rejected_labels (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    reason TEXT NOT NULL, detail TEXT NOT NULL, value TEXT,
    source_topic TEXT, source_partition INTEGER, source_offset INTEGER,
    ingested_at_ms INTEGER NOT NULL,
    UNIQUE (source_topic, source_partition, source_offset)
);
CREATE TRIGGER IF NOT EXISTS label_submissions_no_update BEFORE UPDATE ON label_submissions
    BEGIN SELECT RAISE(ABORT, 'label submissions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS label_submissions_no_delete BEFORE DELETE ON label_submissions
    BEGIN SELECT RAISE(ABORT, 'label submissions are append-only'); END;
"""


def store_path(archive: ArchiveSettings, root: Path) -> Path:
    """``archive.labels_db`` when set, else ``labels.sqlite`` in ``root`` (an archive given
    on the command line; ``archive.labels_path()`` is the same for ``archive.dir``)."""
    return Path(archive.labels_db) if archive.labels_db else root / "labels.sqlite"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a message was read (topic, partition, offset); empty for direct inserts."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class RejectedLabel:
    reason: str
    detail: str
    value: str | None
    source: Source


@dataclass(frozen=True, slots=True)
class StoredLabel:
    """A submission with its place in the store (``seq``: ingestion order)."""

    seq: int
    submission: LabelSubmission


class LabelStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            # WAL: the report reads while ingestion writes; FULL: a committed label survives
            # a power loss before the Kafka offset is committed after it.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise DataError(f"label store {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(
        self,
        labels: Sequence[tuple[LabelSubmission, Source]],
        rejected: Sequence[RejectedLabel] = (),
    ) -> tuple[int, int]:
        """Store a batch in one transaction; returns (labels added, rejections added)."""
        now_ms = time.time_ns() // 1_000_000
        added = refused = 0
        refusals = list(rejected)
        columns = ", ".join(_FIELDS)
        marks = ", ".join("?" * (len(_FIELDS) + 4))
        with self._transaction() as db:
            for submission, source in labels:
                existing = db.execute(
                    f"SELECT {columns} FROM label_submissions WHERE label_id = ?",
                    (submission.label_id,),
                ).fetchone()
                if existing is not None:
                    if tuple(existing) != astuple(submission):
                        refusals.append(RejectedLabel(
                            "label_id_reused", f"label_id {submission.label_id} already "
                            "names a different label", None, source,
                        ))
                    continue
                db.execute(
                    f"INSERT INTO label_submissions ({columns}, source_topic, source_partition,"
                    f" source_offset, ingested_at_ms) VALUES ({marks})",
                    (*astuple(submission), source.topic, source.partition, source.offset,
                     now_ms),
                )
                added += 1
            for item in refusals:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO rejected_labels (reason, detail, value, source_topic,"
                    " source_partition, source_offset, ingested_at_ms)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (item.reason, item.detail, item.value, item.source.topic,
                     item.source.partition, item.source.offset, now_ms),
                )
                refused += cursor.rowcount
        return added, refused

    def submissions(self) -> list[StoredLabel]:
        rows = self._db.execute(
            f"SELECT seq, {', '.join(_FIELDS)} FROM label_submissions ORDER BY seq"
        ).fetchall()
        return [StoredLabel(row[0], LabelSubmission(*row[1:])) for row in rows]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM label_submissions").fetchone()[0])

    def rejected(self) -> list[dict[str, object]]:
        rows = self._db.execute(
            "SELECT reason, detail, source_topic, source_partition, source_offset"
            " FROM rejected_labels ORDER BY seq"
        ).fetchall()
        keys = ("reason", "detail", "topic", "partition", "offset")
        return [dict(zip(keys, row, strict=True)) for row in rows]
