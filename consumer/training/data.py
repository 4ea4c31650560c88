"""Recordings -> labelled windows, cut by the serving window rules.

Window labels for evaluation: each frame takes its label from ``labels.csv`` (frames outside
every range are normal; a recording given as abnormal with no labels at all is faulty in every
frame, labelled ``abnormal``). A window is

* ``normal`` when none of its frames carries a fault label,
* the fault's name when more than half of its frames carry a fault label (the most frequent
  one),
* ``ambiguous`` otherwise: it straddles a fault onset or end with a minority of faulty frames.
  Ambiguous windows are counted and left out of every rate, neither alarm nor detection.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from consumer.errors import DataError
from consumer.features.runner_level import Runs
from consumer.recording import NORMAL, LabelIndex, find_labels, iter_recording_paths, load_recording
from consumer.windows.rules import WindowConfig, sliding_windows

log = logging.getLogger(__name__)

AMBIGUOUS = "ambiguous"
UNLABELLED_FAULT = "abnormal"


@dataclass(frozen=True)
class WindowSet:
    windows: np.ndarray  # (N, T, 132) float32
    end_frames: np.ndarray  # (N,) int64: frame number of each window's last frame
    file_index: np.ndarray  # (N,) int32 into files
    labels: np.ndarray  # (N,) object: "normal", a fault name, or "ambiguous"
    files: tuple[Path, ...]
    groups: tuple[str, ...]  # runner (user id) per file: the unit of every held-out split
    views: tuple[str, ...]  # camera view per file when the labels say it, else ""

    def __len__(self) -> int:
        return int(self.windows.shape[0])

    def subset(self, mask: np.ndarray) -> WindowSet:
        return WindowSet(
            self.windows[mask], self.end_frames[mask], self.file_index[mask], self.labels[mask],
            self.files, self.groups, self.views,
        )

    @property
    def runs(self) -> Runs:
        """The windows as runs of one recording each, in time order (runner-relative models
        read each window against the windows before it)."""
        return Runs.of_files(self.file_index, self.end_frames)

    @property
    def window_groups(self) -> np.ndarray:
        return np.asarray(self.groups, dtype=object)[self.file_index]


def window_label(frame_labels: np.ndarray) -> str:
    """The label of one window from its frames' labels (rule in the module docstring)."""
    faults = [label for label in frame_labels.tolist() if label != NORMAL]
    if not faults:
        return NORMAL
    if 2 * len(faults) > len(frame_labels):
        return Counter(faults).most_common(1)[0][0]
    return AMBIGUOUS


def load_windows(
    paths: Sequence[str | Path],
    config: WindowConfig,
    abnormal: bool = False,
    labels: LabelIndex | None = None,
) -> WindowSet:
    """Windows of every recording under ``paths`` (files or directories)."""
    files = list(iter_recording_paths(paths))
    labels = find_labels(paths) if labels is None else labels
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    groups: list[str] = []
    views: list[str] = []
    for path in files:
        recording = load_recording(path)
        ranges = labels.for_recording(path)
        default = UNLABELLED_FAULT if abnormal and not ranges else NORMAL
        frame_labels = labels.frame_labels(recording, default=default)
        windows, window_frames = sliding_windows(recording.frames, recording.landmarks, config)
        position = np.searchsorted(recording.frames, window_frames)
        window_labels = np.array(
            [window_label(frame_labels[row]) for row in position], dtype=object
        )
        end_frames = window_frames[:, -1] if len(windows) else np.zeros(0, dtype=np.int64)
        parts.append((windows, end_frames, window_labels))
        groups.append(next((r.user_id for r in ranges if r.user_id), path.stem))
        views.append(next((r.view for r in ranges if r.view), ""))
        if len(windows) == 0:
            log.warning("no complete window in %s (%d frames)", path, len(recording))
    if sum(len(p[0]) for p in parts) == 0:
        raise DataError(f"no complete {config.size}-frame window in {len(files)} recording(s)")
    return WindowSet(
        windows=np.concatenate([p[0] for p in parts]).astype(np.float32, copy=False),
        end_frames=np.concatenate([p[1] for p in parts]).astype(np.int64),
        file_index=np.concatenate(
            [np.full(len(p[0]), i, dtype=np.int32) for i, p in enumerate(parts)]
        ),
        labels=np.concatenate([p[2] for p in parts]),
        files=tuple(files),
        groups=tuple(groups),
        views=tuple(views),
    )


def split_groups(
    groups: Iterable[str], fraction: float, seed: int
) -> tuple[set[str], set[str]]:
    """Split runner ids into (train, held-out) with about ``fraction`` of them held out.

    At least one runner is held out when fraction > 0 and there are two or more runners.
    """
    unique = sorted(set(groups))
    if fraction <= 0 or len(unique) < 2:
        return set(unique), set()
    order = np.random.default_rng(seed).permutation(len(unique))
    count = min(max(1, round(fraction * len(unique))), len(unique) - 1)
    held = {unique[i] for i in order[:count]}
    return set(unique) - held, held
