"""Durable, atomic file writes: a file is either absent or complete, even after kill -9 or
power loss.

Write to a hidden temporary name in the same directory, fsync the file, rename it over the
final name (atomic on POSIX), then fsync the directory so that the rename itself survives.
Directories created on the way are fsynced into their parents for the same reason.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """``mkdir -p`` whose new entries are durable."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir()
        fsync_dir(folder.parent)


def temporary_name(final: Path) -> Path:
    # Hidden (readers skip dot-files) and per process, so two writers never share one.
    return final.with_name(f".{final.name}.{os.getpid()}.tmp")


def write_atomic(final: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``final`` through ``write(handle)``, all or nothing."""
    make_dirs(final.parent)
    tmp = temporary_name(final)
    try:
        with tmp.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(final.parent)


def write_json_atomic(final: Path, data: Any) -> None:
    payload = json.dumps(data, sort_keys=True).encode()
    write_atomic(final, lambda handle: handle.write(payload))


def remove_durably(paths: list[Path]) -> int:
    """Delete files (missing ones are fine) and fsync their directories; returns how many."""
    removed = 0
    folders: set[Path] = set()
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
        folders.add(path.parent)
    for folder in folders:
        fsync_dir(folder)
    return removed


def remove_empty_dirs(path: Path, stop_at: Path) -> None:
    """Remove ``path`` and its parents while empty, up to (not including) ``stop_at``."""
    current = path
    while current != stop_at and stop_at in current.parents:
        try:
            current.rmdir()
        except OSError:  # not empty (or gone): the parents are not empty either
            return
        current = current.parent
