"""Labelled windows -> what the classifier learns from (numpy only).

Window labels follow ``consumer.training.data`` (the rule ``barunrun evaluate`` uses):
``normal``, a fault name, ``abnormal`` (a fault nobody named: an archive label without a
fault) or ``ambiguous`` (a window straddling an onset). Ambiguous windows are left out of
training and of every metric, as in the autoencoder's evaluation.

Targets: ``bad_form`` is 1 for every non-normal window; ``fault`` is the index of the window's
fault in ``faults`` and -1 where it is not known (normal windows, ``abnormal``), and the fault
head's loss skips those windows (weight 0) rather than learning "normal" as a fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from consumer.recording import NORMAL
from consumer.training.data import AMBIGUOUS, UNLABELLED_FAULT, WindowSet

NOT_A_FAULT = frozenset({NORMAL, AMBIGUOUS, UNLABELLED_FAULT})


@dataclass(frozen=True)
class LabelledWindows:
    """Windows with binary and fault targets; ambiguous windows already removed."""

    windows: np.ndarray  # (N, T, 132) float32 raw landmarks
    labels: np.ndarray  # (N,) object: "normal", a fault name or "abnormal"
    users: np.ndarray  # (N,) object: user id per window (the unit of every split)
    views: np.ndarray  # (N,) object: camera view per window when the labels say it, else ""
    bad_form: np.ndarray  # (N,) float32 0/1
    fault: np.ndarray  # (N,) int64 index into ``faults``, -1 when unknown or normal
    faults: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.windows.shape[0])

    def subset(self, mask: np.ndarray) -> LabelledWindows:
        return LabelledWindows(
            self.windows[mask], self.labels[mask], self.users[mask], self.views[mask],
            self.bad_form[mask], self.fault[mask], self.faults,
        )

    def for_users(self, users: Iterable[str]) -> LabelledWindows:
        return self.subset(np.isin(self.users, sorted(set(users))))


def fault_names(labels: Iterable[str]) -> tuple[str, ...]:
    """The named faults among window labels, sorted (the fault head's classes)."""
    return tuple(sorted(set(labels) - NOT_A_FAULT))


def labelled_windows(windows: WindowSet, faults: Sequence[str] | None = None) -> LabelledWindows:
    """Targets for a ``WindowSet``; ``faults`` fixes the fault classes (a trained model's)."""
    keep = windows.labels != AMBIGUOUS
    labels = windows.labels[keep]
    faults = tuple(faults) if faults is not None else fault_names(labels.tolist())
    index = {name: i for i, name in enumerate(faults)}
    fault = np.array([index.get(label, -1) for label in labels.tolist()], dtype=np.int64)
    views = np.asarray(windows.views, dtype=object)[windows.file_index[keep]]
    return LabelledWindows(
        windows=windows.windows[keep],
        labels=labels,
        users=windows.window_groups[keep],
        views=views,
        bad_form=(labels != NORMAL).astype(np.float32),
        fault=fault,
        faults=faults,
    )


def merge(parts: Sequence[LabelledWindows]) -> LabelledWindows:
    """One set from several (all with the same fault classes)."""
    faults = {p.faults for p in parts}
    if len(faults) != 1:
        raise ValueError("labelled window sets with different fault classes cannot be merged")
    return LabelledWindows(
        np.concatenate([p.windows for p in parts]),
        np.concatenate([p.labels for p in parts]),
        np.concatenate([p.users for p in parts]),
        np.concatenate([p.views for p in parts]),
        np.concatenate([p.bad_form for p in parts]),
        np.concatenate([p.fault for p in parts]),
        faults.pop(),
    )


def balanced_weights(classes: np.ndarray, count: int) -> np.ndarray:
    """(count,) weights n / (k * n_c) for the classes present (0 for absent ones).

    Each present class then carries the same total weight, so the rare one (faulty windows in
    a stream of mostly normal running, or a rarely labelled fault) is not ignored.
    """
    classes = np.asarray(classes, dtype=np.int64)
    classes = classes[classes >= 0]
    counts = np.bincount(classes, minlength=count).astype(np.float64)
    present = counts > 0
    weights = np.zeros(count, dtype=np.float64)
    if present.any():
        weights[present] = len(classes) / (present.sum() * counts[present])
    return weights


def sample_weights(data: LabelledWindows) -> dict[str, np.ndarray]:
    """Per-window loss weights: class-balanced for bad form, and for the fault head among
    windows with a known fault (0 elsewhere: their fault is not a training target)."""
    binary = balanced_weights(data.bad_form.astype(np.int64), 2)[data.bad_form.astype(np.int64)]
    fault_w = np.zeros(len(data), dtype=np.float64)
    known = data.fault >= 0
    if known.any() and data.faults:
        fault_w[known] = balanced_weights(data.fault[known], len(data.faults))[data.fault[known]]
    return {"bad_form": binary.astype(np.float32), "fault": fault_w.astype(np.float32)}
