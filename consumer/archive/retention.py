"""Retention by age and by total size (the selection is pure; ``apply_retention`` deletes).

Rule, in this order:

1. age: files of a day older than ``retention_days`` go (the day is the frame's UTC date, or
   the window end's for scores); ``retention_days = 1`` keeps today only;
2. size: while frames + scores together exceed ``max_bytes``, the oldest remaining files go,
   day by day (within a day, in path order), so the newest data is what is kept.

The label store is never touched: labels are small and outlive the frames they point at (the
labels report then lists them as pointing at missing data).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from consumer.archive.durable import remove_durably, remove_empty_dirs
from consumer.archive.layout import ArchiveFile, Dataset, iter_files

log = logging.getLogger(__name__)

# Temporary files of a write that never finished (kill -9): safe to remove once this old.
STALE_TEMPORARY_S = 3600


@dataclass(frozen=True)
class RetentionPlan:
    by_age: list[ArchiveFile] = field(default_factory=list)
    by_size: list[ArchiveFile] = field(default_factory=list)
    kept_bytes: int = 0

    @property
    def delete(self) -> list[ArchiveFile]:
        return [*self.by_age, *self.by_size]

    def to_dict(self) -> dict[str, object]:
        days = [f.day for f in self.delete]
        return {
            "deleted_by_age": len(self.by_age),
            "deleted_by_size": len(self.by_size),
            "freed_bytes": sum(f.size for f in self.delete),
            "kept_bytes": self.kept_bytes,
            "deleted_days": sorted({d.isoformat() for d in days}),
        }


def plan_retention(
    files: Sequence[ArchiveFile], today: date, retention_days: int, max_bytes: int
) -> RetentionPlan:
    oldest_kept = today - timedelta(days=retention_days - 1)
    by_age = [f for f in files if f.day < oldest_kept]
    remaining = sorted(
        (f for f in files if f.day >= oldest_kept), key=lambda f: (f.day, str(f.path))
    )
    total = sum(f.size for f in remaining)
    by_size: list[ArchiveFile] = []
    for item in remaining:
        if total <= max_bytes:
            break
        by_size.append(item)
        total -= item.size
    return RetentionPlan(by_age, by_size, total)


def archive_files(root: Path) -> list[ArchiveFile]:
    return [f for dataset in Dataset for f in iter_files(root, dataset)]


def apply_retention(
    root: Path, retention_days: int, max_bytes: int, today: date | None = None,
    dry_run: bool = False,
) -> RetentionPlan:
    today = today or datetime.now(UTC).date()
    plan = plan_retention(archive_files(root), today, retention_days, max_bytes)
    if dry_run or not plan.delete:
        return plan
    remove_durably([f.path for f in plan.delete])
    for folder in {f.path.parent for f in plan.delete}:
        remove_empty_dirs(folder, root)
    log.info("retention removed files=%d by_age=%d by_size=%d kept_bytes=%d",
             len(plan.delete), len(plan.by_age), len(plan.by_size), plan.kept_bytes)
    return plan


def remove_stale_temporaries(root: Path, now_s: float | None = None) -> int:
    """Remove hidden temporary files left by writes that were killed, once they are old."""
    now_s = time.time() if now_s is None else now_s
    stale = []
    for path in root.rglob(".*.tmp"):
        try:
            if now_s - path.stat().st_mtime > STALE_TEMPORARY_S:
                stale.append(path)
        except FileNotFoundError:  # its write just finished
            continue
    return remove_durably(stale)
