"""Recorded sessions on disk: the CSV recording format and the labels file beside it.

Recording CSV: a header row, then one row per frame: a ``frame`` column, then 132 numbers
(landmarks 0..32 in MediaPipe order, each x, y, z, visibility). Column names other than the
first are free; order is what counts. Rows with any NaN or empty value are dropped, as in the
seed notebook, and the number dropped is reported.

Labels CSV (``labels.csv`` in a dataset directory, or beside a recording): one row per labelled
frame range of a recording::

    file,user_id,session_id,view,start_frame,end_frame,label,severity
    abnormal/runner-07.csv,runner-07,s1,side,240,599,overstriding,0.8

``label`` is ``normal`` or a fault name; ``end_frame`` is inclusive; frames outside every
range of a labelled file are normal.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from consumer.errors import DataError
from consumer.landmarks import FRAME_WIDTH, LANDMARK_NAMES

NORMAL = "normal"
LABELS_FILE = "labels.csv"
LABEL_COLUMNS = (
    "file", "user_id", "session_id", "view", "start_frame", "end_frame", "label", "severity",
)


def landmark_columns() -> list[str]:
    """Column names for the 132 landmark values, e.g. ``left_knee_x``."""
    return [f"{name}_{axis}" for name in LANDMARK_NAMES for axis in ("x", "y", "z", "visibility")]


@dataclass(frozen=True)
class Recording:
    """One recorded session: frame numbers and landmarks, NaN rows already dropped."""

    path: Path
    frames: np.ndarray  # (T,) int64, strictly increasing
    landmarks: np.ndarray  # (T, 132) float32
    dropped_rows: int = 0

    def __len__(self) -> int:
        return int(self.frames.shape[0])


def load_recording(path: str | Path) -> Recording:
    """Read one recording CSV; raises DataError with the reason when it cannot be used."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = handle.readline()
            if not header:
                raise DataError(f"{path}: empty file")
            columns = next(csv.reader([header]))
            if len(columns) != FRAME_WIDTH + 1:
                raise DataError(
                    f"{path}: expected 133 columns (frame + 33 landmarks x 4), found {len(columns)}"
                )
            table = np.genfromtxt(handle, delimiter=",", dtype=np.float64, ndmin=2)
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from exc
    except ValueError as exc:
        raise DataError(f"{path}: not numeric CSV ({exc})") from exc
    if table.size == 0:
        table = np.empty((0, FRAME_WIDTH + 1))
    if table.shape[1] != FRAME_WIDTH + 1:
        raise DataError(f"{path}: rows have {table.shape[1]} values, expected {FRAME_WIDTH + 1}")
    finite = np.isfinite(table).all(axis=1)
    table = table[finite]
    frames = table[:, 0].astype(np.int64)
    if frames.size and np.any(np.diff(frames) <= 0):
        order = np.argsort(frames, kind="stable")
        frames, table = frames[order], table[order]
        keep = np.concatenate(([True], np.diff(frames) > 0))
        frames, table = frames[keep], table[keep]
    return Recording(
        path=path,
        frames=frames,
        landmarks=table[:, 1:].astype(np.float32),
        dropped_rows=int((~finite).sum()),
    )


def write_recording(path: str | Path, frames: np.ndarray, landmarks: np.ndarray) -> None:
    """Write a recording CSV; rows of ``landmarks`` may be NaN (a frame with no person)."""
    path = Path(path)
    landmarks = np.asarray(landmarks, dtype=np.float64).reshape(len(frames), FRAME_WIDTH)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = np.column_stack([np.asarray(frames, dtype=np.float64), landmarks])
    header = ",".join(["frame", *landmark_columns()])
    fmt = ["%d"] + ["%.6f"] * FRAME_WIDTH
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt=fmt)


def iter_recording_paths(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Expand files and directories (recursively) into recording CSV paths, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.csv") if p.name != LABELS_FILE)
            if not found:
                raise DataError(f"{path}: directory holds no recording CSV files")
            yield from found
        elif path.is_file():
            yield path
        else:
            raise DataError(f"{path}: no such file or directory")


@dataclass(frozen=True)
class LabelRange:
    """A labelled, inclusive frame range of one recording."""

    file: str
    start_frame: int
    end_frame: int
    label: str
    user_id: str = ""
    session_id: str = ""
    view: str = ""
    severity: float | None = None


@dataclass
class LabelIndex:
    """Labels of a dataset, looked up by recording path."""

    root: Path | None = None
    ranges: dict[str, list[LabelRange]] = field(default_factory=dict)

    def for_recording(self, path: Path) -> list[LabelRange]:
        if self.root is None:
            return []
        try:
            key = path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return []
        return self.ranges.get(key, [])

    def frame_labels(self, recording: Recording, default: str = NORMAL) -> np.ndarray:
        """A label per frame of ``recording``: the covering range's label, else ``default``."""
        labels = np.full(len(recording), default, dtype=object)
        for rng in self.for_recording(recording.path):
            inside = (recording.frames >= rng.start_frame) & (recording.frames <= rng.end_frame)
            labels[inside] = rng.label
        return labels


def find_labels(paths: Sequence[str | Path]) -> LabelIndex:
    """Find ``labels.csv`` in the given directories or their parents (dataset root)."""
    for raw in paths:
        start = Path(raw).resolve()
        for folder in [start if start.is_dir() else start.parent, *start.parents][:3]:
            candidate = folder / LABELS_FILE
            if candidate.is_file():
                return load_labels(candidate)
    return LabelIndex()


def load_labels(path: str | Path) -> LabelIndex:
    path = Path(path)
    index = LabelIndex(root=path.parent)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "start_frame", "end_frame", "label"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing columns {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            try:
                rng = LabelRange(
                    file=row["file"],
                    start_frame=int(row["start_frame"]),
                    end_frame=int(row["end_frame"]),
                    label=row["label"].strip(),
                    user_id=row.get("user_id", "") or "",
                    session_id=row.get("session_id", "") or "",
                    view=row.get("view", "") or "",
                    severity=float(row["severity"]) if row.get("severity") else None,
                )
            except (TypeError, ValueError) as exc:
                raise DataError(f"{path}:{line}: bad label row ({exc})") from exc
            index.ranges.setdefault(rng.file, []).append(rng)
    return index


def write_labels(path: str | Path, ranges: Iterable[LabelRange]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LABEL_COLUMNS)
        for r in ranges:
            severity = "" if r.severity is None else f"{r.severity:.3f}"
            writer.writerow([
                r.file, r.user_id, r.session_id, r.view, r.start_frame, r.end_frame, r.label,
                severity,
            ])
