"""PNG plots of a classifier evaluation: confusion matrices, ROC and PR curves, training.

Figures are built without pyplot (as ``consumer.training.report``): no global backend, no
display, nothing to close.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from consumer.classifier.evaluate import Evaluation
from consumer.classifier.metrics import pr_curve
from consumer.training.metrics import roc_curve

log = logging.getLogger(__name__)


def write_report(
    evaluation: Evaluation, history: dict[str, list[float]], out_dir: str | Path
) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        _confusion(evaluation, out_dir / "confusion_matrix.png"),
        _curves(evaluation, out_dir / "roc_pr.png"),
        _training(history, out_dir / "training_curves.png"),
    ]
    if evaluation.fault_confusion is not None:
        written.append(_fault_confusion(evaluation.fault_confusion,
                                        out_dir / "fault_confusion.png"))
    log.info("classifier report written dir=%s files=%d", out_dir, len(written))
    return written


def _matrix(ax, matrix: np.ndarray, names: list[str], title: str) -> None:
    ax.imshow(matrix, cmap="Blues")
    top = matrix.max() if matrix.size else 0
    for (row, col), value in np.ndenumerate(matrix):
        ax.text(col, row, str(int(value)), ha="center", va="center", fontsize=8,
                color="white" if value > top / 2 else "black")
    ax.set_xticks(range(len(names)), names, rotation=60 if len(names) > 2 else 0, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)


def _confusion(evaluation: Evaluation, path: Path) -> Path:
    models = [m for m in ("classifier", "autoencoder") if m in evaluation.summary]
    fig = Figure(figsize=(4 * len(models), 3.6))
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    for ax, name in zip(axes, models, strict=True):
        c = evaluation.summary[name]["confusion_matrix"]
        matrix = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
        _matrix(ax, matrix, ["normal", "bad form"],
                f"{name} {evaluation.summary[name]['model_version']}\n"
                f"threshold {evaluation.summary[name]['threshold']:.4g}")
    return _save(fig, path)


def _fault_confusion(confusion: dict, path: Path) -> Path:
    names = list(confusion["classes"])
    fig = Figure(figsize=(max(5, 0.5 * len(names) + 2), max(4, 0.45 * len(names) + 1.5)))
    _matrix(fig.subplots(), np.array(confusion["matrix"]), names,
            f"fault head on faulty windows (accuracy {confusion['accuracy']:.3f})")
    return _save(fig, path)


def _curves(evaluation: Evaluation, path: Path) -> Path:
    fig = Figure(figsize=(9, 4))
    roc_ax, pr_ax = fig.subplots(1, 2)
    y = evaluation.y
    scored = [("classifier", evaluation.probability)]
    if evaluation.autoencoder_scores is not None:
        scored.append(("autoencoder", evaluation.autoencoder_scores))
    for name, scores in scored:
        summary = evaluation.summary[name]
        fpr, tpr = roc_curve(scores[~y], scores[y])
        roc_ax.plot(fpr, tpr, label=f"{name} AUC {summary['roc_auc']:.3f}")
        recall, precision = pr_curve(y, scores)
        pr_ax.plot(recall, precision, label=f"{name} AP {summary['pr_auc']:.3f}")
    roc_ax.plot([0, 1], [0, 1], ":", color="grey")
    roc_ax.set(xlabel="false alarm rate", ylabel="detection rate", title="ROC, held-out users")
    pr_ax.axhline(float(y.mean()) if y.size else 0.0, linestyle=":", color="grey")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, held-out users")
    for ax in (roc_ax, pr_ax):
        ax.legend(fontsize=7)
    return _save(fig, path)


def _training(history: dict[str, list[float]], path: Path) -> Path:
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for key in ("loss", "val_loss"):
        values = history.get(key)
        if values:
            ax.plot(range(1, len(values) + 1), values, "-" if key == "loss" else "--", label=key)
    ax.set(xlabel="epoch", ylabel="class-weighted loss", title="Training curves")
    if ax.lines:
        ax.legend(fontsize=7)
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
