"""Evaluate a classifier, and the autoencoder beside it, on the same held-out users' windows.

Both models score exactly the same windows; a window either model rejects (the feature
rules) is left out of both, so the numbers compare the models and not their rejections
(which are counted). The classifier flags at its decision threshold, the autoencoder at its
calibrated one; ROC AUC and PR AUC compare them independently of either threshold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from consumer.classifier.labels import LabelledWindows
from consumer.classifier.metrics import binary_summary, multiclass_confusion
from consumer.classifier.scorer import ClassifierResult, WindowClassifier
from consumer.model.base import Scorer

log = logging.getLogger(__name__)

CHUNK = 4096  # windows per scoring call: bounds feature memory on large test sets


@dataclass(frozen=True)
class Evaluation:
    summary: dict[str, Any]  # JSON-ready (NaN where undefined: the command writes null)
    y: np.ndarray  # (M,) bool bad form, over the windows both models scored
    probability: np.ndarray  # (M,) the classifier's P(bad form)
    autoencoder_scores: np.ndarray | None  # (M,) the autoencoder's scores
    autoencoder_threshold: float | None
    fault_confusion: dict[str, Any] | None


def classify(classifier: WindowClassifier, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) probabilities (NaN where rejected) and (N,) fault index (-1: none), chunked."""
    probability = np.full(len(windows), np.nan, dtype=np.float32)
    fault = np.full(len(windows), -1, dtype=np.int64)
    for start in range(0, len(windows), CHUNK):
        result: ClassifierResult = classifier.score(windows[start:start + CHUNK])
        probability[start:start + CHUNK] = result.scores
        if result.fault_index is not None:
            fault[start:start + CHUNK] = result.fault_index
    return probability, fault


def score_all(scorer: Scorer, windows: np.ndarray) -> np.ndarray:
    scores = np.full(len(windows), np.nan, dtype=np.float32)
    for start in range(0, len(windows), CHUNK):
        scores[start:start + CHUNK] = scorer.score(windows[start:start + CHUNK]).scores
    return scores


def evaluate(
    classifier: WindowClassifier, data: LabelledWindows, autoencoder: Scorer | None = None
) -> Evaluation:
    probability, fault_pred = classify(classifier, data.windows)
    ae_scores = score_all(autoencoder, data.windows) if autoencoder is not None else None
    both = np.isfinite(probability)
    if ae_scores is not None:
        both &= np.isfinite(ae_scores)
    y = data.bad_form[both].astype(bool)
    labels = data.labels[both]
    summary: dict[str, Any] = {
        "users": sorted(set(data.users.tolist())),
        "windows": len(data),
        "windows_scored_by_both": int(both.sum()),
        "windows_rejected_classifier": int((~np.isfinite(probability)).sum()),
        "classifier": {
            "model_version": classifier.version,
            **binary_summary(y, probability[both], classifier.threshold),
            "per_fault": _per_fault(labels, probability[both] > classifier.threshold),
        },
    }
    fault_confusion = None
    if classifier.faults:
        known = both & (data.fault >= 0)
        fault_confusion = multiclass_confusion(data.fault[known], fault_pred[known],
                                               classifier.faults)
        summary["classifier"]["fault_head"] = fault_confusion
    if autoencoder is not None and ae_scores is not None:
        summary["windows_rejected_autoencoder"] = int((~np.isfinite(ae_scores)).sum())
        summary["autoencoder"] = {
            "model_version": autoencoder.version,
            **binary_summary(y, ae_scores[both], autoencoder.threshold),
            "per_fault": _per_fault(labels, ae_scores[both] > autoencoder.threshold),
        }
    c = summary["classifier"]
    log.info("classifier evaluated windows=%d precision=%.3f recall=%.3f f1=%.3f roc_auc=%.3f "
             "pr_auc=%.3f", int(both.sum()), c["precision"], c["recall"], c["f1"],
             c["roc_auc"], c["pr_auc"])
    return Evaluation(
        summary, y, probability[both],
        ae_scores[both] if ae_scores is not None else None,
        autoencoder.threshold if autoencoder is not None else None,
        fault_confusion,
    )


def _per_fault(labels: np.ndarray, flagged: np.ndarray) -> dict[str, dict[str, Any]]:
    """Windows and the share flagged, per window label (normal: the false-alarm rate)."""
    return {
        label: {"windows": int((labels == label).sum()),
                "flagged_rate": float(flagged[labels == label].mean())}
        for label in sorted(set(labels.tolist()))
    }
