"""Stick figures of simulated runners, to see that the motion is plausible (PNG, Agg backend).

``save_normal_figure``: one normal runner seen from the side, the front and obliquely, a few
frames across one stride, plus the tracker's noisy output. ``save_fault_figure``: each fault
at its default severity (black) over the same runner without it (grey), in a view where the
fault shows.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from consumer.landmarks import SKELETON
from producer_sim.faults import FAULT_NAMES, FAULTS, FaultPlan
from producer_sim.profile import RunnerProfile
from producer_sim.session import SimulatedSession, simulate_session

STRIDE_SAMPLES = 8
LEFT_COLOUR, RIGHT_COLOUR, MID_COLOUR = "tab:blue", "tab:orange", "0.2"


def _bone_colour(a: int, b: int) -> str:
    if a >= 11 and b >= 11 and a % 2 == b % 2:
        return LEFT_COLOUR if a % 2 == 1 else RIGHT_COLOUR
    return MID_COLOUR


def stride_frames(session: SimulatedSession, samples: int = STRIDE_SAMPLES) -> np.ndarray:
    """Indices of ``samples`` frames spread over one stride starting at a left contact."""
    contacts = np.flatnonzero(session.truth["contact_left"])
    first = contacts[1] if len(contacts) > 2 else 0
    strides = session.truth["stride_phase"]
    targets = strides[first] + np.arange(samples) / samples
    return np.array([int(np.argmin(np.abs(strides - t))) for t in targets])


def draw_strip(
    ax: Axes, session: SimulatedSession, indices: np.ndarray, *, clean: bool = True,
    colour: str | None = None, alpha: float = 1.0,
) -> None:
    """Stick figures of frames ``indices`` side by side, in image pixels (y up on the page)."""
    camera = session.runner.camera
    source = session.truth["clean_landmarks"] if clean else session.landmarks
    points = source.reshape(len(session), 33, 4)
    size = np.array([camera.image_width, camera.image_height])
    body_px = session.runner.body.height_m * np.median(
        camera.focal_px / session.truth["hip_depth_m"])
    for slot, i in enumerate(indices):
        frame = points[i]
        if np.isnan(frame).any():
            continue
        xy = frame[:, :2] * size
        hip_x = xy[[23, 24], 0].mean()
        xs = (xy[:, 0] - hip_x) / body_px + slot * 0.75
        ys = -xy[:, 1] / body_px
        for a, b in SKELETON:
            ax.plot([xs[a], xs[b]], [ys[a], ys[b]], lw=1.6, alpha=alpha,
                    color=colour or _bone_colour(a, b), solid_capstyle="round")
        ax.scatter(xs[:11], ys[:11], s=4, color=colour or MID_COLOUR, alpha=alpha)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _title(session: SimulatedSession, extra: str = "") -> str:
    r = session.runner
    return (f"{r.view} view (azimuth {r.camera.azimuth_deg:+.0f} deg, {r.camera.distance_m:.1f} m)"
            f" - {r.body.height_m:.2f} m, {r.gait.cadence_spm:.0f} steps/min{extra}")


def save_normal_figure(path: str | Path, seed: int = 0, frames: int = 240) -> Path:
    rng = np.random.default_rng([seed, 101])
    runner = RunnerProfile.random(rng, f"plot-{seed}", view="side")
    sessions = [simulate_session(runner.with_view(rng, v) if v != "side" else runner, frames,
                                 seed=seed) for v in ("side", "front", "oblique")]
    fig, axes = plt.subplots(4, 1, figsize=(13, 12))
    for ax, session in zip(axes[:3], sessions, strict=True):
        draw_strip(ax, session, stride_frames(session))
        ax.set_title(_title(session, ", one stride, clean"), fontsize=9)
    draw_strip(axes[3], sessions[0], stride_frames(sessions[0]), clean=False)
    axes[3].set_title(_title(sessions[0], ", tracker output (jitter, swaps, dropouts)"),
                      fontsize=9)
    fig.suptitle("Normal runner (blue: left side, orange: right side)")
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return _save(fig, path)


def save_fault_figure(
    path: str | Path, seed: int = 0, faults: tuple[str, ...] = FAULT_NAMES, frames: int = 240
) -> Path:
    rng = np.random.default_rng([seed, 202])
    base = RunnerProfile.random(rng, f"plot-{seed}", view="side")
    views = {v: base.with_view(rng, v) for v in ("side", "front")}
    columns = 2 if len(faults) > 3 else 1
    rows = -(-len(faults) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(10 * columns, 2.9 * rows), squeeze=False)
    for ax, fault in zip(axes.T.ravel(), faults, strict=False):
        spec = FAULTS[fault]
        runner = views["side" if "side" in spec.visible_views else "front"]
        normal = simulate_session(runner, frames, seed=seed)
        faulty = simulate_session(runner, frames, [FaultPlan.default(fault)], seed=seed)
        draw_strip(ax, normal, stride_frames(normal, 6), colour="0.75")
        draw_strip(ax, faulty, stride_frames(faulty, 6), colour="black", alpha=0.9)
        ax.set_title(f"{fault} ({spec.default_severity}, {runner.view} view): "
                     f"{spec.description}", fontsize=9)
    for ax in axes.T.ravel()[len(faults):]:
        ax.set_visible(False)
    fig.suptitle("Faults at default severity (black) over the same runner without them (grey)")
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return _save(fig, path)


def _save(fig: plt.Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
