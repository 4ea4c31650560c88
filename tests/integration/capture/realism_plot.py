"""docs/img/realism_traces.png: real MediaPipe landmark traces beside simulated ones."""

from __future__ import annotations

from pathlib import Path

import gait_measures as gm
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from producer_sim.session import SimulatedSession

NEAR_COLOUR, FAR_COLOUR = "tab:blue", "tab:orange"
SECONDS = 5.0


def _sides(px: np.ndarray) -> tuple[int, int]:
    """0 for left, 1 for right: (near, far)."""
    return (0, 1) if gm.near_side_is_left(px) else (1, 0)


def _panel_rows(axes: np.ndarray, px: np.ndarray, title: str) -> None:
    near, far = _sides(px)
    scale = gm.thigh_px(px)
    t = np.arange(len(px)) / gm.FPS
    hip_x = px[:, [23, 24], 0].mean(axis=1)
    direction = -1.0 if np.nanmedian(np.diff(hip_x)) < 0 else 1.0
    residual = gm.sg_residual(px[..., :2]) / scale
    for side, colour, label in ((near, NEAR_COLOUR, "near"), (far, FAR_COLOUR, "far")):
        axes[0].plot(t, direction * (px[:, 27 + side, 0] - hip_x) / scale, colour, label=label)
        axes[1].plot(t, 100 * residual[:, 25 + side, 0], colour, lw=1, label=f"{label} knee")
        axes[1].plot(t, 100 * residual[:, 15 + side, 0], colour, lw=1, ls=":",
                     label=f"{label} wrist")
        axes[2].plot(t, px[:, 13 + side, 3], colour, ls=":", label=f"{label} elbow")
        axes[2].plot(t, px[:, 25 + side, 3], colour, label=f"{label} knee")
    swapped = gm.leg_swaps(px, scale)
    for row in axes:
        for k in np.flatnonzero(swapped):
            row.axvspan(t[k] - 0.5 / gm.FPS, t[k] + 0.5 / gm.FPS, color="0.85", lw=0)
    axes[0].set_title(title, fontsize=10)
    axes[0].set_ylabel("ankle ahead of hip\n(thigh lengths)")
    axes[1].set_ylabel("x residual from\n5-frame fit (% thigh)")
    axes[1].set_ylim(-8, 8)
    axes[2].set_ylabel("visibility")
    axes[2].set_ylim(-0.02, 1.05)
    axes[2].set_xlabel("seconds")
    for row in axes:
        row.grid(alpha=0.3)
        row.legend(fontsize=7, loc="lower left", ncol=2)


def draw_traces(real_px: np.ndarray, session: SimulatedSession, path: Path) -> None:
    """Real walk (tracked frames) on the left, a simulated side-view runner on the right."""
    rows = np.flatnonzero(gm.tracked(real_px))
    real = real_px[rows[0]:rows[-1] + 1]
    camera = session.runner.camera
    frames = int(SECONDS * gm.FPS)
    sim = gm.pixels(session.landmarks[:frames], camera.image_width, camera.image_height)
    fig, axes = plt.subplots(3, 2, figsize=(13, 8), sharex=True, sharey="row")
    _panel_rows(axes[:, 0], real, "real: MediaPipe 0.10.14, woman walking side-on (demo.mp4)")
    _panel_rows(axes[:, 1], sim, f"simulated: side-view runner, {session.runner.cadence_spm:.0f}"
                " steps/min, nominal tracker")
    fig.suptitle("Landmark traces, real vs simulated (grey: frames with leg labels swapped)",
                 fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
