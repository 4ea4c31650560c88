"""Figures of docs/metrics.md: measured against true values, and the fault-to-cue matrix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from consumer.gait.evaluate.collect import Evaluated
from consumer.gait.evaluate.confusion import Confusion
from consumer.gait.evaluate.sessions import RAMP
from consumer.gait.evaluate.truth import TRUTH
from consumer.recording import NORMAL
from producer_sim.faults import FAULT_NAMES, FAULTS, VIEWS

SCATTER_METRICS = ("cadence_spm", "trunk_lean_deg", "vertical_oscillation_rel",
                   "overstride_rel", "knee_valgus_rel", "pelvic_drop_deg")
VIEW_COLOURS = {"side": "tab:blue", "front": "tab:orange", "oblique": "tab:green"}


def accuracy_figure(evaluated: Sequence[Evaluated], path: Path) -> Path:
    fig, axes = plt.subplots(2, 3, figsize=(13, 8))
    for ax, name in zip(axes.ravel(), SCATTER_METRICS, strict=True):
        for view in VIEWS:
            pairs = []
            for ev in evaluated:
                ws = ev.windowed
                if ws.view != view:
                    continue
                for w in np.flatnonzero(ws.labels != RAMP)[::3]:
                    true = TRUTH[name](ws.session.truth, ws.leg_m, ws.rows[w])
                    pairs.append((true, ev.values[name][w]))
            data = np.asarray(pairs, dtype=float).reshape(-1, 2)
            data = data[np.isfinite(data).all(axis=1)]
            if len(data):
                ax.scatter(data[:, 0], data[:, 1], s=4, alpha=0.35, color=VIEW_COLOURS[view],
                           label=view)
        lo, hi = ax.get_xlim()
        ax.plot([lo, hi], [lo, hi], color="0.3", lw=0.8)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("simulator truth")
        ax.set_ylabel("measured")
    axes[0, 0].legend(markerscale=3)
    fig.suptitle("Gait metrics against the simulator's ground truth (held-out runners, "
                 "every third window)")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return _save(fig, path)


def confusion_figure(conf: Confusion, path: Path) -> Path:
    labels, matrix = [], []
    for label in (NORMAL, *FAULT_NAMES):
        cells = conf.cells.get(label, {})
        views = [v for v in VIEWS if v in cells and (label == NORMAL
                                                      or v in FAULTS[label].visible_views)]
        total = sum(cells[v][0] for v in views)
        if total:
            labels.append(label)
            matrix.append(sum(cells[v][0] * cells[v][1] for v in views) / total)
    data = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(11, 7.5))
    ax.imshow(data, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(conf.cue_ids)), conf.cue_ids, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            if data[i, j] >= 0.005:
                ax.text(j, i, f"{data[i, j]:.0%}", ha="center", va="center", fontsize=7,
                        color="white" if data[i, j] > 0.6 else "black")
    ax.set_xlabel("cue raised")
    ax.set_ylabel("windows of (visible views pooled)")
    ax.set_title("Fault-to-cue confusion on held-out simulated runners")
    fig.tight_layout()
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
