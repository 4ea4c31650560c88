"""PNG figures of a runner report: metrics over time against their normal bands, and stick
figures of the worst moments (drawn from the landmarks; no simulator needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from consumer.gait.body import FPS, HIP_WIDTH_OVER_LEG
from consumer.gait.cues import CueRule
from consumer.gait.pose import pose_from_windows
from consumer.gait.recording import RecordingMetrics
from consumer.gait.specs import METRICS
from consumer.gait.view import view_geometry
from consumer.landmarks import SKELETON

LEFT, RIGHT, MID = "tab:blue", "tab:orange", "0.25"
FLAG_COLOUR = "tab:red"


@dataclass(frozen=True)
class Band:
    normal: tuple[float, float]
    threshold: float


def bands(rules: Sequence[CueRule]) -> dict[str, Band]:
    """Per metric, the normal range and threshold of the first cue condition on it."""
    out: dict[str, Band] = {}
    for rule in rules:
        for cond in rule.conditions:
            out.setdefault(cond.metric, Band(cond.normal, cond.threshold))
    return out


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def timeline_png(
    rec: RecordingMetrics, rules: Sequence[CueRule], scores: np.ndarray | None = None,
    threshold: float | None = None, truth: Sequence[tuple[float, float, str]] = (),
) -> bytes:
    """Metrics (those with a cue, valid in the view) over time; flagged windows shaded."""
    limits = bands(rules)
    names = [n for n in METRICS if n in limits and np.isfinite(rec.values[n]).any()]
    rows = len(names) + (scores is not None)
    fig, axes = plt.subplots(rows, 1, figsize=(11, 1.45 * rows + 0.6), sharex=True,
                             squeeze=False)
    t = rec.window_frames[:, -1] / FPS
    flagged = rec.flags.flagged
    for ax, name in zip(axes[:, 0], names, strict=False):
        band = limits[name]
        ax.axhspan(*band.normal, color="tab:green", alpha=0.15, lw=0)
        ax.axhline(band.threshold, color=FLAG_COLOUR, lw=0.8, ls="--")
        ax.plot(t, rec.values[name], color="0.15", lw=1.2)
        raised = np.zeros(len(t), dtype=bool)
        for c, rule in enumerate(rec.flags.rules):
            if any(cond.metric == name for cond in rule.conditions):
                raised |= rec.flags.fired[:, c]
        ax.scatter(t[raised], rec.values[name][raised], s=10, color=FLAG_COLOUR, zorder=3)
        ax.set_ylabel(name.replace("_", " "), fontsize=7, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
    if scores is not None:
        ax = axes[-1, 0]
        ax.plot(t, scores, color="tab:purple", lw=1.2)
        if threshold is not None:
            ax.axhline(threshold, color=FLAG_COLOUR, lw=0.8, ls="--")
        ax.set_ylabel("autoencoder\nscore", fontsize=7, rotation=0, ha="right", va="center")
    for ax in axes[:, 0]:
        for start, end, _ in truth:
            ax.axvspan(start, end, color="0.5", alpha=0.08, lw=0)
        for i in np.flatnonzero(flagged):
            ax.axvspan(t[i] - 10 / FPS, t[i], color=FLAG_COLOUR, alpha=0.06, lw=0)
    axes[-1, 0].set_xlabel("time (s, window end)")
    fig.suptitle("Metrics per window (green: normal range, dashed: cue threshold, red: cue "
                 "raised" + ("; grey: labelled fault" if truth else "") + ")", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return _png(fig)


def _bone_colour(a: int, b: int) -> str:
    if a >= 11 and b >= 11 and a % 2 == b % 2:
        return LEFT if a % 2 == 1 else RIGHT
    return MID


def stick_figures_png(windows: np.ndarray, frames: np.ndarray, titles: Sequence[str]) -> bytes:
    """Each window (K, T, 132): five frames side by side, one row per window."""
    pose = pose_from_windows(windows, frames)
    geometry = view_geometry(pose)
    fig, axes = plt.subplots(len(windows), 1, figsize=(11, 2.6 * len(windows)), squeeze=False)
    for row, ax in enumerate(axes[:, 0]):
        # x into y's units: the sagittal scale, or from the front the hips' width.
        scale = geometry.sagittal_scale[row]
        if not np.isfinite(scale):
            hips = np.median(np.abs(pose.x[row, :, 24] - pose.x[row, :, 23]))
            scale = HIP_WIDTH_OVER_LEG * geometry.leg[row] / max(hips, 1e-4)
        size = 2.2 * geometry.leg[row]
        for slot, i in enumerate(np.linspace(0, pose.frames - 1, 5).astype(int)):
            xs = (pose.x[row, i] - pose.x[row, i, [23, 24]].mean()) * scale / size + slot * 0.8
            ys = -pose.y[row, i] / size
            for a, b in SKELETON:
                ax.plot([xs[a], xs[b]], [ys[a], ys[b]], lw=1.6, color=_bone_colour(a, b),
                        solid_capstyle="round")
            ax.scatter(xs[:11], ys[:11], s=4, color=MID)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(titles[row], fontsize=9)
    fig.tight_layout()
    return _png(fig)
