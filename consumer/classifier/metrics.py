"""Classification metrics for window labels and probabilities (numpy only).

Binary metrics treat "bad form" (any fault) as the positive class. ROC AUC is the project's
rank statistic (``consumer.training.metrics.roc_auc``); PR AUC is average precision (the
step-wise area under the precision-recall curve, as scikit-learn computes it), which does not
interpolate optimistically between operating points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from consumer.training.metrics import detection_at_false_alarm, roc_auc


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, int]:
    """Binary confusion counts: tn, fp, fn, tp."""
    t = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    return {"tn": int((~t & ~p).sum()), "fp": int((~t & p).sum()),
            "fn": int((t & ~p).sum()), "tp": int((t & p).sum())}


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


def precision_recall_f1(counts: dict[str, int]) -> tuple[float, float, float]:
    """Precision, recall, F1 from confusion counts; NaN where undefined (no predictions...)."""
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return precision, recall, f1


def average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve as a step function (NaN without positives)."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    keep = np.isfinite(s)
    y, s = y[keep], s[keep]
    positives = int(y.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    # One operating point per distinct score: ties are decided together.
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(y)[last]
    predicted = last + 1
    precision = tp / predicted
    recall = tp / positives
    steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(steps * precision))


def best_f1_threshold(y_true: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold (flag when score > threshold) that maximises F1 on these windows.

    The threshold is set halfway between the chosen score and the next lower one, so that a
    window scoring like the chosen one on new data is flagged, not sat exactly on the edge.
    """
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    keep = np.isfinite(s)
    y, s = y[keep], s[keep]
    if not y.any() or y.all():
        raise ValueError("need both normal and bad-form windows to choose an F1 threshold")
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(y)[last]
    predicted = last + 1
    f1 = 2 * tp / (predicted + y.sum())
    best = int(np.argmax(f1))
    below = s[last[best] + 1] if last[best] + 1 < len(s) else 0.0
    return float((s[last[best]] + below) / 2.0)


def threshold_at_false_alarm(normal_scores: np.ndarray, false_alarm: float) -> float:
    """The threshold that flags ``false_alarm`` of these normal windows."""
    normal = np.asarray(normal_scores, dtype=np.float64)
    normal = normal[np.isfinite(normal)]
    if normal.size == 0:
        raise ValueError("need normal windows to set a false-alarm threshold")
    return float(np.quantile(normal, 1.0 - false_alarm))


def binary_summary(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Everything the evaluation reports for one detector on one set of labelled windows.

    ``scores`` may be probabilities or reconstruction scores: flags are ``score > threshold``
    and non-finite scores (windows the model rejected) are left out.
    """
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    keep = np.isfinite(s)
    y, s = y[keep], s[keep]
    counts = confusion(y, s > threshold)
    precision, recall, f1 = precision_recall_f1(counts)
    return {
        "threshold": float(threshold),
        "windows_normal": int((~y).sum()),
        "windows_abnormal": int(y.sum()),
        "windows_rejected": int((~keep).sum()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_alarm_rate": _ratio(counts["fp"], counts["fp"] + counts["tn"]),
        "roc_auc": roc_auc(s[~y], s[y]),
        "pr_auc": average_precision(y, s),
        # Recall where each model flags the same share of these normal windows: compares
        # models apart from where their own thresholds happen to sit.
        "recall_at_false_alarm": {
            f"{rate:g}": detection_at_false_alarm(s[~y], s[y], rate) for rate in (0.01, 0.05, 0.1)
        },
        "confusion_matrix": counts,
    }


def multiclass_confusion(
    true_index: np.ndarray, predicted_index: np.ndarray, classes: Sequence[str]
) -> dict[str, Any]:
    """Rows: true class, columns: predicted class, over the windows with a known class."""
    t = np.asarray(true_index, dtype=np.int64)
    p = np.asarray(predicted_index, dtype=np.int64)
    keep = (t >= 0) & (p >= 0)
    k = len(classes)
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (t[keep], p[keep]), 1)
    total = int(matrix.sum())
    per_class = {
        name: _ratio(int(matrix[i, i]), int(matrix[i].sum())) for i, name in enumerate(classes)
    }
    return {
        "classes": list(classes),
        "matrix": matrix.tolist(),
        "accuracy": _ratio(int(np.trace(matrix)), total),
        "recall_per_class": per_class,
        "windows": total,
    }


def pr_curve(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) at every distinct threshold, highest threshold first."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    keep = np.isfinite(s)
    y, s = y[keep], s[keep]
    if not y.any():
        return np.array([0.0, 1.0]), np.array([1.0, 0.0])
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    last = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    tp = np.cumsum(y)[last]
    return np.r_[0.0, tp / y.sum()], np.r_[1.0, tp / (last + 1)]


def json_ready(value: Any) -> Any:
    """NaN and infinity (undefined rates) as None, recursively: JSON has no NaN."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
