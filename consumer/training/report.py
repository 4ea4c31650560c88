"""PNG plots of an evaluation: training curves, score histograms, ROC curves, joint heatmap."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Figures built directly, without pyplot: no global backend switch, no display, nothing to close.
from matplotlib.figure import Figure

from consumer.recording import NORMAL
from consumer.training.data import AMBIGUOUS
from consumer.training.evaluate import ModelEvaluation
from consumer.training.metrics import roc_curve

log = logging.getLogger(__name__)


def _name(result: ModelEvaluation) -> str:
    return f"{result.summary['model_kind']} {result.summary['model_version']}"


def write_report(results: Sequence[ModelEvaluation], out_dir: str | Path) -> list[Path]:
    """Write the plots for the evaluated models; returns the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        _training_curves(results, out_dir / "training_curves.png"),
        _score_histograms(results, out_dir / "score_histogram.png"),
        _roc_curves(results, out_dir / "roc.png"),
        _joint_heatmap(results[0], out_dir / "joint_heatmap.png"),
    ]
    log.info("report written dir=%s files=%d", out_dir, len(written))
    return written


def _training_curves(results: Sequence[ModelEvaluation], path: Path) -> Path:
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for result in results:
        for key, style in (("loss", "-"), ("val_loss", "--")):
            values = result.history.get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, style, label=f"{_name(result)} {key}")
    if not ax.lines:
        ax.text(0.5, 0.5, "no training curves (PCA fits in one step)", ha="center")
    else:
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE")
    ax.set_title("Training curves")
    return _save(fig, path)


def _score_histograms(results: Sequence[ModelEvaluation], path: Path) -> Path:
    fig = Figure(figsize=(7, 2.6 * len(results)))
    axes = fig.subplots(len(results), 1, squeeze=False)
    for ax, result in zip(axes[:, 0], results, strict=True):
        finite = np.isfinite(result.scores) & (result.scores > 0)
        normal = result.scores[finite & (result.labels == NORMAL)]
        abnormal = result.scores[finite & (result.labels != NORMAL) & (result.labels != AMBIGUOUS)]
        both = np.concatenate([normal, abnormal])
        if both.size:
            bins = np.logspace(np.log10(both.min()), np.log10(both.max()), 60)
            ax.hist(normal, bins=bins, alpha=0.6, density=True, label=f"normal ({normal.size})")
            ax.hist(abnormal, bins=bins, alpha=0.6, density=True,
                    label=f"abnormal ({abnormal.size})")
            ax.set_xscale("log")
        ax.axvline(result.summary["threshold"], color="k", linestyle="--", label="threshold")
        ax.set_title(_name(result), fontsize=9)
        ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel("window score (reconstruction MSE, log scale)")
    return _save(fig, path)


def _roc_curves(results: Sequence[ModelEvaluation], path: Path) -> Path:
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    for result in results:
        normal = result.scores[result.labels == NORMAL]
        abnormal = result.scores[(result.labels != NORMAL) & (result.labels != AMBIGUOUS)]
        fpr, tpr = roc_curve(normal, abnormal)
        ax.plot(fpr, tpr, label=f"{_name(result)} AUC {result.summary['roc_auc']:.3f}")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("false alarm rate")
    ax.set_ylabel("detection rate")
    ax.set_title("ROC, window level")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)


def _joint_heatmap(result: ModelEvaluation, path: Path) -> Path:
    labels = sorted(result.fault_joint_shares, key=lambda x: (x != NORMAL, x))
    joints = list(next(iter(result.fault_joint_shares.values()), {}).keys())
    matrix = np.array([[result.fault_joint_shares[lab][j] for j in joints] for lab in labels])
    fig = Figure(figsize=(max(6, 0.45 * len(joints)), max(3, 0.4 * len(labels) + 1.5)))
    ax = fig.subplots()
    if matrix.size:
        image = ax.imshow(matrix, aspect="auto", cmap="viridis")
        fig.colorbar(image, ax=ax, label="mean share of the window's error")
    ax.set_xticks(range(len(joints)), joints, rotation=70, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_title(f"Where the error is, per window label: {_name(result)}", fontsize=9)
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
