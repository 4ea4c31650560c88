"""The replay pool: a bounded sample of older normal running kept in the registry.

A warm-start fine-tune on the newest data alone forgets what it no longer sees (runners,
camera set-ups, views of last month). So every retrain also trains on a sample from this pool,
and puts a sample of its own new normal data into it. The pool is recordings in the usual CSV
format (``<registry>/replay/normal/*.csv`` + ``labels.csv`` with each file's user id, so that
held-out splits stay by runner), which ``load_windows`` reads like any dataset:

* at most ``replay_max_runs`` files of at most ``replay_frames_per_run`` frames each (300
  frames, 10 s, ~140 training windows at hop 2); the oldest files go first past the cap;
* each retrain adds at most a quarter of the cap, chosen at random (seeded), so the pool keeps
  several generations of data.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from pathlib import Path

from consumer.recording import (
    LABELS_FILE,
    LabelRange,
    iter_recording_paths,
    load_recording,
    write_labels,
    write_recording,
)

log = logging.getLogger(__name__)

NORMAL_DIR = "normal"


def pool_files(pool: Path) -> list[Path]:
    folder = pool / NORMAL_DIR
    return sorted(folder.glob("*.csv")) if folder.is_dir() else []


def pool_paths(pool: Path) -> list[Path]:
    """What to pass to ``load_windows`` (empty when the pool is)."""
    return [pool / NORMAL_DIR] if pool_files(pool) else []


def _user_of(name: str) -> str:
    # <seq>__<user>__<rest>.csv; user ids hold no "__"-free guarantee, but ours never hold "__".
    parts = name.split("__")
    return parts[1] if len(parts) >= 3 else Path(name).stem


def add_to_pool(
    pool: Path, sources: Sequence[Path], users: Sequence[str], *, max_runs: int,
    frames_per_run: int, seed: int = 0,
) -> int:
    """Copy a sample of normal recordings (``users[i]`` runs ``sources[i]``) into the pool;
    returns how many files were added."""
    if max_runs <= 0 or not sources:
        return 0
    folder = pool / NORMAL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    existing = pool_files(pool)
    start = max((int(p.name.split("__")[0]) for p in existing), default=0) + 1
    chosen = list(range(len(sources)))
    random.Random(seed).shuffle(chosen)
    added = 0
    for offset, i in enumerate(chosen[: max(1, max_runs // 4)]):
        recording = load_recording(sources[i])
        if len(recording) < 30:
            continue
        middle = max(0, (len(recording) - frames_per_run) // 2)  # away from session edges
        rows = slice(middle, middle + frames_per_run)
        name = f"{start + offset:06d}__{users[i]}__{Path(sources[i]).stem[-40:]}.csv"
        write_recording(folder / name, recording.frames[rows], recording.landmarks[rows])
        added += 1
    files = pool_files(pool)
    for old in files[: max(0, len(files) - max_runs)]:
        old.unlink()
    files = pool_files(pool)
    ranges = []
    for path in files:
        frames = load_recording(path).frames
        ranges.append(LabelRange(f"{NORMAL_DIR}/{path.name}", int(frames[0]), int(frames[-1]),
                                 "normal", _user_of(path.name)))
    write_labels(pool / LABELS_FILE, ranges)
    log.info("replay pool files=%d added=%d", len(files), added)
    return added


def recordings_with_users(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """Every recording under ``paths`` with its user id (from labels.csv, else the name)."""
    from consumer.recording import find_labels  # noqa: PLC0415

    files = list(iter_recording_paths(paths))
    labels = find_labels(paths)
    users = []
    for path in files:
        ranges = labels.for_recording(path)
        user = next((r.user_id for r in ranges if r.user_id), path.stem.split("__")[0])
        users.append(user.replace("__", "_"))
    return files, users
