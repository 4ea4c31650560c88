"""Classifier metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from consumer.classifier.metrics import (
    average_precision,
    best_f1_threshold,
    binary_summary,
    confusion,
    json_ready,
    multiclass_confusion,
    pr_curve,
    precision_recall_f1,
    threshold_at_false_alarm,
)


def test_confusion_precision_recall_f1_by_hand() -> None:
    y = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    p = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    counts = confusion(y, p)
    assert counts == {"tn": 3, "fp": 1, "fn": 2, "tp": 2}
    precision, recall, f1 = precision_recall_f1(counts)
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(2 / 4)
    assert f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))


def test_precision_is_undefined_without_predictions() -> None:
    precision, recall, f1 = precision_recall_f1(confusion([1, 0], [0, 0]))
    assert math.isnan(precision) and recall == 0.0 and f1 == 0.0


def test_average_precision_matches_the_step_definition() -> None:
    # Ranked: 0.9 (pos), 0.8 (neg), 0.7 (pos), 0.1 (neg): AP = 0.5 * 1 + 0.5 * 2/3.
    y = np.array([1, 0, 1, 0])
    s = np.array([0.9, 0.8, 0.7, 0.1])
    assert average_precision(y, s) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert average_precision(y, np.array([0.9, 0.1, 0.8, 0.2])) == pytest.approx(1.0)
    assert math.isnan(average_precision(np.zeros(3), np.arange(3.0)))


def test_tied_scores_are_one_operating_point() -> None:
    # All tied: one point at recall 1 with precision = prevalence.
    assert average_precision(np.array([1, 0, 0, 1]), np.full(4, 0.5)) == pytest.approx(0.5)
    recall, precision = pr_curve(np.array([1, 0, 0, 1]), np.full(4, 0.5))
    assert recall.tolist() == [0.0, 1.0] and precision.tolist() == [1.0, 0.5]


def test_best_f1_threshold_separates_when_it_can() -> None:
    y = np.array([0, 0, 0, 1, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.8])
    threshold = best_f1_threshold(y, s)
    assert 0.3 <= threshold < 0.6
    assert binary_summary(y, s, threshold)["f1"] == 1.0
    with pytest.raises(ValueError):
        best_f1_threshold(np.ones(3), np.arange(3.0))


def test_best_f1_threshold_trades_precision_for_recall() -> None:
    # Cutting below 0.4 catches the third positive at the cost of one false alarm:
    # F1 6/7 beats stopping above it (F1 0.8).
    y = np.array([1, 1, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.5, 0.4, 0.2, 0.1])
    assert 0.2 < best_f1_threshold(y, s) < 0.4


def test_threshold_at_false_alarm_flags_that_share_of_normals() -> None:
    normal = np.linspace(0.0, 1.0, 101)
    threshold = threshold_at_false_alarm(normal, 0.1)
    assert np.mean(normal > threshold) == pytest.approx(0.1, abs=0.011)


def test_binary_summary_leaves_out_rejected_windows() -> None:
    y = np.array([0, 0, 1, 1, 1])
    s = np.array([0.1, np.nan, 0.9, 0.2, np.nan])
    summary = binary_summary(y, s, 0.5)
    assert summary["windows_normal"] == 1 and summary["windows_abnormal"] == 2
    assert summary["windows_rejected"] == 2
    assert summary["confusion_matrix"] == {"tn": 1, "fp": 0, "fn": 1, "tp": 1}
    assert summary["roc_auc"] == pytest.approx(1.0)
    assert summary["false_alarm_rate"] == 0.0


def test_multiclass_confusion_rows_are_true_classes() -> None:
    result = multiclass_confusion(np.array([0, 0, 1, 2, -1]), np.array([0, 1, 1, 2, 0]),
                                  ["a", "b", "c"])
    assert result["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert result["accuracy"] == pytest.approx(3 / 4)
    assert result["recall_per_class"]["a"] == pytest.approx(0.5)
    assert result["windows"] == 4


def test_json_ready_turns_nan_into_null() -> None:
    assert json_ready({"a": [float("nan"), 1.0], "b": (float("inf"),)}) == {
        "a": [None, 1.0], "b": [None]}
