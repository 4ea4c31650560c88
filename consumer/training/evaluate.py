"""Evaluate one or more models on normal and abnormal recordings, on the same windows.

Every model scores exactly the same windows (cut by the serving rules, labelled by the rule in
``consumer.training.data``), so a comparison of models in one run is a fair one. Rates count
only windows the model's feature pipeline accepted; rejected ones are reported by reason.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from consumer.features.runner_level import Runs
from consumer.model.calibration import joint_shares
from consumer.model.scorer import WindowScorer
from consumer.recording import NORMAL
from consumer.training.data import AMBIGUOUS, WindowSet, load_windows
from consumer.training.metrics import detection_at_false_alarm, rate_above, roc_auc
from consumer.windows.rules import WindowConfig

log = logging.getLogger(__name__)

SCORE_CHUNK = 4096


@dataclass(frozen=True)
class EvaluationData:
    """The labelled windows every model is evaluated on."""

    windows: WindowSet  # normal and abnormal recordings together
    source: np.ndarray  # (N,) "normal" or "abnormal": which argument the file came from


@dataclass(frozen=True)
class ModelEvaluation:
    summary: dict[str, Any]  # the JSON-ready result
    scores: np.ndarray  # (N,) NaN where rejected
    labels: np.ndarray  # (N,) window labels
    fault_joint_shares: dict[str, dict[str, float]]  # mean error share per joint, per label
    history: dict[str, list[float]]


def load_evaluation_data(
    normal_paths: Sequence[str | Path], abnormal_paths: Sequence[str | Path], config: WindowConfig
) -> EvaluationData:
    normal = load_windows(normal_paths, config) if normal_paths else None
    abnormal = load_windows(abnormal_paths, config, abnormal=True) if abnormal_paths else None
    sets = [s for s in (normal, abnormal) if s is not None]
    if not sets:
        raise ValueError("give at least one normal or abnormal recording")
    offset = 0
    parts = []
    for ws in sets:
        parts.append(ws.file_index + offset)
        offset += len(ws.files)
    merged = WindowSet(
        windows=np.concatenate([s.windows for s in sets]),
        end_frames=np.concatenate([s.end_frames for s in sets]),
        file_index=np.concatenate(parts).astype(np.int32),
        labels=np.concatenate([s.labels for s in sets]),
        files=tuple(f for s in sets for f in s.files),
        groups=tuple(g for s in sets for g in s.groups),
        views=tuple(v for s in sets for v in s.views),
    )
    source = np.concatenate(
        [np.full(len(s), "normal" if s is normal else "abnormal", dtype=object) for s in sets]
    )
    return EvaluationData(merged, source)


def evaluate_scorer(
    scorer: WindowScorer, data: EvaluationData, history: dict[str, list[float]] | None = None
) -> ModelEvaluation:
    windows = data.windows
    scores = np.full(len(windows), np.nan, dtype=np.float32)
    shares = np.full((len(windows), len(scorer.pipeline.joint_names)), np.nan, np.float32)
    reasons: Counter[str] = Counter()
    for start, stop in _file_chunks(windows.file_index, SCORE_CHUNK):
        runs = Runs.of_files(windows.file_index[start:stop], windows.end_frames[start:stop])
        analysis = scorer.analyse(windows.windows[start:stop], runs)
        scores[start:stop] = analysis.scores
        rows = np.flatnonzero(analysis.batch.valid)
        shares[start + rows] = scorer.pipeline.real_joint_shares(
            joint_shares(analysis.channel_errors[rows], scorer.attribution),
            analysis.batch.mirrored[rows],
        )
        reasons.update(r for r in analysis.batch.reasons if r is not None)
    labels = windows.labels
    valid = np.isfinite(scores)
    normal = valid & (labels == NORMAL)
    abnormal = valid & (labels != NORMAL) & (labels != AMBIGUOUS)
    threshold = scorer.threshold
    summary: dict[str, Any] = {
        "model_version": scorer.version,
        "model_kind": scorer.kind,
        "threshold": threshold,
        "windows_normal": int(normal.sum()),
        "windows_abnormal": int(abnormal.sum()),
        "windows_ambiguous": int((valid & (labels == AMBIGUOUS)).sum()),
        "windows_rejected": int((~valid).sum()),
        "rejected_reasons": dict(reasons),
        "false_alarm_rate": rate_above(scores[normal], threshold),
        "detection_rate": rate_above(scores[abnormal], threshold),
        "roc_auc": roc_auc(scores[normal], scores[abnormal]),
        "detection_at_false_alarm": {
            f"{far:g}": detection_at_false_alarm(scores[normal], scores[abnormal], far)
            for far in (0.01, 0.05, 0.1)
        },
        "false_alarm_rate_normal_files": rate_above(
            scores[normal & (data.source == "normal")], threshold
        ),
        "per_fault": _per_fault(scores, labels, valid, normal, threshold, windows),
        "per_file": _per_file(scores, labels, valid, threshold, windows, data.source),
    }
    names = scorer.pipeline.joint_names
    fault_shares = {
        label: dict(zip(names, np.nanmean(shares[valid & (labels == label)], axis=0).tolist(),
                        strict=True))
        for label in sorted(set(labels[valid].tolist()) - {AMBIGUOUS})
    }
    return ModelEvaluation(summary, scores, labels, fault_shares, history or {})


def _file_chunks(file_index: np.ndarray, size: int) -> list[tuple[int, int]]:
    """(start, stop) spans of about ``size`` windows that never split a recording (a
    runner-relative model reads each window against the recording's earlier ones)."""
    starts = np.concatenate([[0], np.flatnonzero(np.diff(file_index)) + 1, [len(file_index)]])
    spans: list[tuple[int, int]] = []
    begin = 0
    for cut in starts[1:].tolist():
        if cut - begin >= size or cut == len(file_index):
            spans.append((begin, int(cut)))
            begin = int(cut)
    return [span for span in spans if span[1] > span[0]]


def _per_fault(
    scores: np.ndarray,
    labels: np.ndarray,
    valid: np.ndarray,
    normal: np.ndarray,
    threshold: float,
    windows: WindowSet,
) -> dict[str, dict[str, Any]]:
    views = np.asarray(windows.views, dtype=object)[windows.file_index]
    result: dict[str, dict[str, Any]] = {}
    for fault in sorted(set(labels[valid].tolist()) - {NORMAL, AMBIGUOUS}):
        mask = valid & (labels == fault)
        by_view = {
            view or "unknown": {
                "windows": int((mask & (views == view)).sum()),
                "detection_rate": rate_above(scores[mask & (views == view)], threshold),
            }
            for view in sorted(set(views[mask].tolist()))
        }
        result[fault] = {
            "windows": int(mask.sum()),
            "detection_rate": rate_above(scores[mask], threshold),
            "roc_auc": roc_auc(scores[normal], scores[mask]),
            "by_view": by_view,
        }
    return result


def _per_file(
    scores: np.ndarray,
    labels: np.ndarray,
    valid: np.ndarray,
    threshold: float,
    windows: WindowSet,
    source: np.ndarray,
) -> list[dict[str, Any]]:
    rows = []
    for i, path in enumerate(windows.files):
        mine = windows.file_index == i
        flagged = valid & mine & (scores > threshold)
        label_counts = Counter(labels[mine & valid].tolist())
        rows.append({
            "file": str(path),
            "runner": windows.groups[i],
            "view": windows.views[i],
            "source": str(source[mine][0]) if mine.any() else "",
            "windows": int(mine.sum()),
            "rejected": int((mine & ~valid).sum()),
            "labels": dict(label_counts),
            "flagged": int(flagged.sum()),
            "flagged_rate": rate_above(scores[mine & valid], threshold),
            "median_score": float(np.nanmedian(scores[mine])) if (mine & valid).any() else None,
        })
    return rows


def evaluate_models(
    model_dirs: Sequence[str | Path],
    normal_paths: Sequence[str | Path],
    abnormal_paths: Sequence[str | Path],
    hop: int = 5,
    max_gap_frames: int = 5,
    batch_sizes: Sequence[int] = (32, 256),
) -> list[ModelEvaluation]:
    """Load each model and evaluate it on the same windows; the first is the main one."""
    from consumer.model.artifact import load_manifest, load_scorer  # noqa: PLC0415

    scorers = [load_scorer(d, batch_sizes) for d in model_dirs]
    sizes = {s.window_size for s in scorers}
    if len(sizes) != 1:
        raise ValueError(f"models use different window sizes {sorted(sizes)}")
    config = WindowConfig(size=sizes.pop(), hop=hop, max_gap_frames=max_gap_frames)
    data = load_evaluation_data(normal_paths, abnormal_paths, config)
    results = []
    for model_dir, scorer in zip(model_dirs, scorers, strict=True):
        manifest = load_manifest(model_dir)
        result = evaluate_scorer(scorer, data, manifest.history)
        result.summary["model_dir"] = str(model_dir)
        result.summary["threshold_method"] = manifest.threshold.method
        log.info(
            "evaluated model=%s far=%.4f detection=%.4f auc=%.4f",
            scorer.version, result.summary["false_alarm_rate"],
            result.summary["detection_rate"], result.summary["roc_auc"],
        )
        results.append(result)
    return results
