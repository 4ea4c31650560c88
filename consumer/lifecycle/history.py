"""The model history: one JSON object per line in ``<registry>/history.jsonl``.

Every decision is appended (retrain promoted / refused / skipped, manual promote, rollback,
register, bootstrap) with what it was based on: metrics of both models, data sizes, times.
Lines are appended with one ``write`` of a whole line followed by ``fsync`` under the
registry lock, so a crash leaves at most a cut last line, which ``read_history`` skips.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEMA = 1


def now_fields() -> dict[str, Any]:
    ms = time.time_ns() // 1_000_000
    return {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000)), "at_ms": ms}


def append(path: Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Append one entry (``schema``, ``at``, ``at_ms`` are added first); returns it."""
    record = finite({"schema": SCHEMA, **now_fields(), **entry})
    line = json.dumps(record, sort_keys=False, allow_nan=False, default=_plain) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return record


def read_history(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    entries: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("skipping unreadable history line %s:%d", path, number)
    return entries


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None: JSON has no NaN, and "not measurable" (no
    abnormal windows, so no detection rate) is what a NaN metric means here."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return finite(value.item())
    return value


def _plain(value: object) -> object:
    # numpy scalars and paths reach here from metrics and data summaries.
    if hasattr(value, "item"):
        return value.item()  # type: ignore[no-any-return, attr-defined]
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
