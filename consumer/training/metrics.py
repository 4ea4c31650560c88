"""Detection metrics in numpy: rates at a threshold, ROC curve and ROC AUC."""

from __future__ import annotations

import numpy as np


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank (as in the Mann-Whitney U test)."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    # Group boundaries of equal values; each group gets the mean of its positions.
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    ends = np.concatenate((starts[1:], [len(values)]))
    mean_rank = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(normal_scores: np.ndarray, abnormal_scores: np.ndarray) -> float:
    """P(abnormal score > normal score) + 0.5 P(equal); NaN when either side is empty."""
    normal = np.asarray(normal_scores, dtype=np.float64)
    abnormal = np.asarray(abnormal_scores, dtype=np.float64)
    normal, abnormal = normal[np.isfinite(normal)], abnormal[np.isfinite(abnormal)]
    if normal.size == 0 or abnormal.size == 0:
        return float("nan")
    ranks = average_ranks(np.concatenate([normal, abnormal]))
    positive_rank_sum = ranks[normal.size :].sum()
    u = positive_rank_sum - abnormal.size * (abnormal.size + 1) / 2.0
    return float(u / (normal.size * abnormal.size))


def roc_curve(
    normal_scores: np.ndarray, abnormal_scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rates, true positive rates) over every distinct threshold."""
    normal = np.sort(np.asarray(normal_scores, dtype=np.float64))
    abnormal = np.sort(np.asarray(abnormal_scores, dtype=np.float64))
    normal, abnormal = normal[np.isfinite(normal)], abnormal[np.isfinite(abnormal)]
    if normal.size == 0 or abnormal.size == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    thresholds = np.unique(np.concatenate([normal, abnormal]))[::-1]
    fpr = (normal.size - np.searchsorted(normal, thresholds, side="left")) / normal.size
    tpr = (abnormal.size - np.searchsorted(abnormal, thresholds, side="left")) / abnormal.size
    return np.concatenate(([0.0], fpr)), np.concatenate(([0.0], tpr))


def rate_above(scores: np.ndarray, threshold: float) -> float:
    """Fraction of finite scores above the threshold; NaN when there are none."""
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores[np.isfinite(scores)]
    return float(np.mean(scores > threshold)) if scores.size else float("nan")


def detection_at_false_alarm(
    normal_scores: np.ndarray, abnormal_scores: np.ndarray, false_alarm: float
) -> float:
    """Detection rate at the threshold that flags ``false_alarm`` of these normal windows.

    An oracle operating point (the threshold is read off the test data itself): it compares
    models independently of how well each one's calibrated threshold transfers.
    """
    normal = np.asarray(normal_scores, dtype=np.float64)
    normal = normal[np.isfinite(normal)]
    if normal.size == 0:
        return float("nan")
    return rate_above(abnormal_scores, float(np.quantile(normal, 1.0 - false_alarm)))
