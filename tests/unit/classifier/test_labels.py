"""Labelled windows -> targets, class weights and the split by user."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from consumer.classifier.labels import (
    balanced_weights,
    fault_names,
    labelled_windows,
    sample_weights,
)
from consumer.training.data import WindowSet


def window_set(labels: list[str], files: list[int], groups: tuple[str, ...]) -> WindowSet:
    n = len(labels)
    return WindowSet(
        windows=np.arange(n, dtype=np.float32)[:, None, None] * np.ones((1, 2, 3), np.float32),
        end_frames=np.arange(n, dtype=np.int64),
        file_index=np.array(files, dtype=np.int32),
        labels=np.array(labels, dtype=object),
        files=tuple(Path(f"f{i}.csv") for i in range(len(groups))),
        groups=groups,
        views=tuple("side" for _ in groups),
    )


def test_targets_leave_out_ambiguous_and_index_named_faults() -> None:
    ws = window_set(["normal", "ambiguous", "limp", "abnormal", "trunk_lean", "limp"],
                    [0, 0, 0, 1, 1, 1], ("u1", "u2"))
    data = labelled_windows(ws)
    assert data.faults == ("limp", "trunk_lean")  # "abnormal" names no fault
    assert data.labels.tolist() == ["normal", "limp", "abnormal", "trunk_lean", "limp"]
    assert data.bad_form.tolist() == [0, 1, 1, 1, 1]
    assert data.fault.tolist() == [-1, 0, -1, 1, 0]
    assert data.users.tolist() == ["u1", "u1", "u2", "u2", "u2"]
    # The windows travel with their labels (ambiguous window 1 is gone).
    assert data.windows[:, 0, 0].tolist() == [0, 2, 3, 4, 5]
    assert len(data.for_users(["u2"])) == 3


def test_a_trained_models_fault_classes_are_kept() -> None:
    ws = window_set(["normal", "limp"], [0, 0], ("u1",))
    data = labelled_windows(ws, faults=("arm_crossing", "limp"))
    assert data.fault.tolist() == [-1, 1]


def test_fault_names_are_sorted_and_exclude_non_faults() -> None:
    assert fault_names(["normal", "b", "ambiguous", "a", "abnormal", "b"]) == ("a", "b")


def test_balanced_weights_give_every_present_class_the_same_total() -> None:
    classes = np.array([0, 0, 0, 1])
    weights = balanced_weights(classes, 3)
    assert weights.tolist() == pytest.approx([4 / 6, 4 / 2, 0.0])
    per_window = weights[classes]
    assert per_window[classes == 0].sum() == pytest.approx(per_window[classes == 1].sum())


def test_sample_weights_mask_the_fault_head_where_the_fault_is_unknown() -> None:
    ws = window_set(["normal", "normal", "normal", "limp", "abnormal"], [0] * 5, ("u1",))
    weights = sample_weights(labelled_windows(ws))
    assert weights["bad_form"][:3].sum() == pytest.approx(weights["bad_form"][3:].sum())
    assert weights["fault"].tolist() == [0, 0, 0, 1, 0]
