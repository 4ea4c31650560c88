"""``barunrun dataset --from-archive``: archive + resolved labels -> training data on disk.

Layout of ``out`` (each split reads like a simulator dataset, so ``barunrun train --normal
OUT/train/normal`` and ``barunrun evaluate --normal OUT/test/normal --abnormal
OUT/test/abnormal`` work on it as is)::

    train/normal/<user>__<session>__<start>-<end>.csv     runs of frames resolved normal
    train/abnormal/<user>__<session>__<start>-<end>.csv   runs of one fault (or 'abnormal')
    train/labels.csv                                      every file's range and label
    val/..., test/...                                     the same, for other users
    manifest.json                                         users per split, counts, sources

Each file is one run of archived frames of one session that carry the same resolved label,
cut where the label changes: the autoencoder's normal windows never hold a faulty frame, and
every window of an abnormal file is labelled. Windows across a label change are not made (a
model sees them in serving; evaluation calls them ambiguous anyway). Frames no one labelled
are left out, unless ``include_unlabelled`` takes them as normal for the train split only
(evaluation stays on human labels); unresolved frames are always left out.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from consumer.archive.layout import archived_users
from consumer.archive.reader import read_frames
from consumer.archive.schema import landmarks_of
from consumer.errors import ConfigError, DataError
from consumer.labels.report import split_sessions
from consumer.labels.resolve import RULE, UNLABELLED, UNRESOLVED, SessionLabels, resolve_all
from consumer.labels.schema import NORMAL
from consumer.labels.split import SPLITS, split_users
from consumer.labels.store import LabelStore, store_path
from consumer.recording import LABELS_FILE, LabelRange, write_labels, write_recording
from consumer.settings import Settings
from consumer.windows.rules import WindowConfig, sliding_windows

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
ASSUMED_NORMAL = "assumed_normal"


@dataclass(frozen=True)
class Run:
    """Consecutive archived frames of one session with one label."""

    user_id: str
    session_id: str
    label: str  # normal, a fault id, abnormal, UNLABELLED or UNRESOLVED
    frames: np.ndarray
    landmarks: np.ndarray


def label_runs(
    user_id: str, session_id: str, frames: np.ndarray, landmarks: np.ndarray,
    labels: np.ndarray,
) -> list[Run]:
    """Cut a session's frames where the per-frame label changes."""
    if not len(frames):
        return []
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    edges = [0, *cuts.tolist(), len(frames)]
    return [Run(user_id, session_id, str(labels[a]), frames[a:b], landmarks[a:b])
            for a, b in pairwise(edges)]


def _session_runs(
    root: Path, user: str, resolved: dict[tuple[str, str], SessionLabels],
    assume_normal: bool, excluded: Counter[str],
) -> list[Run]:
    """The user's runs; with ``assume_normal``, unlabelled frames count as normal (before
    cutting, so that they join the labelled normal frames beside them)."""
    table = read_frames(root, users=[user])
    frames = table.column("frame").to_numpy()
    rows = split_sessions(table, np.arange(table.num_rows))
    landmarks = landmarks_of(table)
    runs: list[Run] = []
    for (user_id, session_id), index in rows.items():
        session_frames = frames[index]
        session = resolved.get((user_id, session_id))
        labels = (session.labels_for(session_frames) if session
                  else np.full(len(index), UNLABELLED, dtype=object))
        if assume_normal:
            unlabelled = labels == UNLABELLED
            excluded[ASSUMED_NORMAL] += int(unlabelled.sum())
            labels[unlabelled] = NORMAL
        runs += label_runs(user_id, session_id, session_frames, landmarks[index], labels)
    return runs


class _SplitWriter:
    def __init__(self, out: Path, name: str, window: WindowConfig) -> None:
        self.folder = out / name
        self.window = window
        self.ranges: list[LabelRange] = []
        self.frames: Counter[str] = Counter()
        self.windows: Counter[str] = Counter()
        self.files: Counter[str] = Counter()

    def write(self, run: Run, label: str) -> None:
        kind = "normal" if label == NORMAL else "abnormal"
        start, end = int(run.frames[0]), int(run.frames[-1])
        rel = f"{kind}/{run.user_id}__{run.session_id}__{start}-{end}.csv"
        write_recording(self.folder / rel, run.frames, run.landmarks)
        self.ranges.append(LabelRange(rel, start, end, label, run.user_id, run.session_id))
        windows, _ = sliding_windows(run.frames, run.landmarks, self.window)
        self.frames[label] += len(run.frames)
        self.windows[label] += len(windows)
        self.files[kind] += 1

    def finish(self, users: list[str]) -> dict[str, Any]:
        if self.ranges:
            write_labels(self.folder / LABELS_FILE, self.ranges)
        return {"users": users, "files": dict(self.files), "frames": dict(self.frames),
                "windows": dict(self.windows)}


def build_from_archive(
    root: Path, labels_db: Path, out: Path, *, window: WindowConfig,
    shares: Sequence[float], salt: str, trusted: Sequence[str] = (),
    include_unlabelled: bool = False,
) -> dict[str, Any]:
    """Write the training set (layout in the module docstring); returns the manifest."""
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty: choose a new directory")
    if not (root / "frames").is_dir():
        raise DataError(f"{root} holds no archived frames (no {root / 'frames'})")
    if not labels_db.is_file():
        raise DataError(f"label store {labels_db} does not exist")
    with LabelStore(labels_db) as store:
        items = store.submissions()
    resolved = resolve_all(items, trusted)
    users = archived_users(root)
    sides = split_users(users, shares, salt)
    side_of = {user: name for name, members in sides.items() for user in members}
    writers = {name: _SplitWriter(out, name, window) for name in SPLITS}
    excluded: Counter[str] = Counter()
    for user in users:
        writer = writers[side_of[user]]
        assume_normal = include_unlabelled and side_of[user] == "train"
        for run in _session_runs(root, user, resolved, assume_normal, excluded):
            if run.label in (UNLABELLED, UNRESOLVED):
                excluded[f"{run.label or 'unlabelled'}_frames"] += len(run.frames)
            elif len(run.frames) < window.size:
                excluded["short_run_frames"] += len(run.frames)
            else:
                writer.write(run, run.label)
    manifest = {
        "schema": 1,
        "source": {"archive": str(root), "labels_db": str(labels_db),
                   "submissions": len(items),
                   "last_submission_seq": max((i.seq for i in items), default=0)},
        "rule": RULE, "trusted_labellers": list(trusted),
        "window": {"size": window.size, "hop": window.hop,
                   "max_gap_frames": window.max_gap_frames},
        "split": {"by": "user", "shares": list(shares), "salt": salt,
                  "method": "sha256(salt:user_id) -> [0, 1), cut at the shares"},
        "include_unlabelled": include_unlabelled,
        "splits": {name: writers[name].finish(sides[name]) for name in SPLITS},
        "excluded": dict(excluded),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log.info("training set written out=%s users=%d", out, len(users))
    return manifest


def dataset_from_archive(
    settings: Settings, root: Path, out: Path, labels_db: Path | None = None,
    include_unlabelled: bool = False,
) -> dict[str, Any]:
    """``build_from_archive`` with the settings' window rules, split and trusted labellers;
    the label store defaults to ``archive.labels_db``, else ``labels.sqlite`` in ``root``."""
    a, w = settings.archive, settings.window
    return build_from_archive(
        root, labels_db or store_path(a, root), out,
        window=WindowConfig(w.size, w.hop, w.max_gap_frames, w.max_gap_ms),
        shares=a.split, salt=a.split_salt, trusted=a.trusted_labellers,
        include_unlabelled=include_unlabelled,
    )
