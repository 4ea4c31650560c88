"""Measures on landmark tracks, taken the same way on real tracker output and on the simulator's.

Everything reads only what a client sends (x, y, z, visibility per frame, NaN rows where no
person was found) plus the picture's size, so a measure means the same on a MediaPipe
recording and on a simulated one. Lengths are in units of the median thigh length in the
picture (a body-size scale that needs no camera calibration).

Jitter is the robust spread (1.4826 x median absolute value) of the residual of each
coordinate from a 5-frame quadratic Savitzky-Golay fit: the fit follows motion up to ~6 Hz at
30 fps, and the median ignores the rare large errors (swaps, glitches), which are counted
apart. Smooth motion leaves a floor in the residual (measured on the simulator's clean
landmarks, reported beside it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FPS = 30.0
LEGS = {"thigh": (23, 25), "shank": (25, 27)}  # left side; +1 gives the right side
# Landmark groups (left ids, right ids) for the per-part measures.
PARTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "face": ((1, 2, 3, 7, 9), (4, 5, 6, 8, 10)),
    "shoulder": ((11,), (12,)),
    "elbow": ((13,), (14,)),
    "wrist": ((15,), (16,)),
    "hand": ((17, 19, 21), (18, 20, 22)),
    "hip": ((23,), (24,)),
    "knee": ((25,), (26,)),
    "ankle": ((27,), (28,)),
    "heel": ((29,), (30,)),
    "toe": ((31,), (32,)),
}
LEG_CHAIN = ((25, 26), (27, 28), (29, 30), (31, 32))  # knee, ankle, heel, toe (left, right)
_SG5 = np.array([-3.0, 12.0, 17.0, 12.0, -3.0]) / 35.0  # Savitzky-Golay, 5 frames, quadratic
_MAD_TO_SD = 1.4826


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Frame numbers and (T, 33, 4) landmarks of a recording CSV, NaN rows kept."""
    table = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.float64, ndmin=2)
    return table[:, 0].astype(np.int64), table[:, 1:].reshape(len(table), 33, 4)


def pixels(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """(T, 33, 4): x, y in pixels, z on x's pixel scale, visibility."""
    px = np.array(landmarks, dtype=np.float64).reshape(-1, 33, 4)
    px[..., 0] *= width
    px[..., 1] *= height
    px[..., 2] *= width
    return px


def tracked(px: np.ndarray) -> np.ndarray:
    return np.isfinite(px).all(axis=(1, 2))


def segment_length(px: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.hypot(*(px[:, a, :2] - px[:, b, :2]).T)


def leg_lengths(px: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame 2D lengths of thighs and shanks, e.g. ``thigh_left``."""
    return {f"{name}_{side}": segment_length(px, a + offset, b + offset)
            for name, (a, b) in LEGS.items()
            for offset, side in ((0, "left"), (1, "right"))}


def thigh_px(px: np.ndarray) -> float:
    lengths = leg_lengths(px)
    return float(np.nanmedian(np.concatenate([lengths["thigh_left"], lengths["thigh_right"]])))


def share_within(lengths: np.ndarray, tolerance: float = 0.15) -> float:
    """Share of the (tracked) frames whose length is within ``tolerance`` of the median."""
    values = lengths[np.isfinite(lengths)]
    return float(np.mean(np.abs(values / np.median(values) - 1) <= tolerance))


def sg_residual(values: np.ndarray) -> np.ndarray:
    """Residual from the 5-frame quadratic fit along axis 0; NaN where any input is NaN."""
    out = np.full(values.shape, np.nan)
    window = sum(_SG5[j] * values[j:len(values) - 4 + j] for j in range(5))
    out[2:-2] = values[2:-2] - window
    return out


def near_side_is_left(px: np.ndarray) -> bool:
    """MediaPipe's z is smaller towards the camera: the side whose shoulder and hip are nearer."""
    ok = tracked(px)
    left = np.median(px[ok][:, [11, 23], 2])
    right = np.median(px[ok][:, [12, 24], 2])
    return bool(left < right)


def robust_sd(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(_MAD_TO_SD * np.median(np.abs(values))) if values.size else float("nan")


def jitter_by_part(px: np.ndarray, scale: float | None = None) -> dict[str, dict[str, float]]:
    """Robust x and y jitter (share of the thigh length) of each part, near and far side."""
    scale = scale or thigh_px(px)
    residual = sg_residual(px[..., :2]) / scale
    near_left = near_side_is_left(px)
    out: dict[str, dict[str, float]] = {}
    for part, (left, right) in PARTS.items():
        near, far = (left, right) if near_left else (right, left)
        for side, ids in (("near", near), ("far", far)):
            chosen = residual[:, list(ids)]
            out[f"{part}_{side}"] = {"x": robust_sd(chosen[..., 0]),
                                     "y": robust_sd(chosen[..., 1])}
    return out


def visibility_by_part(px: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """10th, 50th and 90th percentiles of visibility per part, near and far side."""
    ok = tracked(px)
    near_left = near_side_is_left(px)
    out = {}
    for part, (left, right) in PARTS.items():
        near, far = (left, right) if near_left else (right, left)
        for side, ids in (("near", near), ("far", far)):
            values = px[ok][:, list(ids), 3].ravel()
            p10, p50, p90 = np.percentile(values, [10, 50, 90])
            out[f"{part}_{side}"] = (float(p10), float(p50), float(p90))
    return out


def runs(mask: np.ndarray) -> list[int]:
    """Lengths of the runs of True in a boolean array."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return (np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).tolist()


def dropouts(px: np.ndarray) -> list[int]:
    """Lengths of the gaps (frames without a pose) between the first and last tracked frame."""
    ok = tracked(px)
    found = np.flatnonzero(ok)
    if found.size == 0:
        return []
    return runs(~ok[found[0]:found[-1] + 1])


def leg_swaps(px: np.ndarray, scale: float | None = None, window: int = 9) -> np.ndarray:
    """Frames whose leg labels look swapped, as a boolean mask.

    Each leg's recent path is the running median of its labelled positions over ``window``
    frames, which a swap of a few frames does not move. A frame is swapped when assigning
    each label to the other leg's path fits much better than to its own, while the legs are
    apart (where they overlap, labels are moot).
    """
    scale = scale or thigh_px(px)
    left = px[:, [a for a, _ in LEG_CHAIN], :2]
    right = px[:, [b for _, b in LEG_CHAIN], :2]
    half = window // 2
    swapped = np.zeros(len(px), dtype=bool)
    for t in range(len(px)):
        if not (np.isfinite(left[t]).all() and np.isfinite(right[t]).all()):
            continue
        span = slice(max(t - half, 0), t + half + 1)
        path_left = np.nanmedian(left[span], axis=0)
        path_right = np.nanmedian(right[span], axis=0)
        if np.linalg.norm(path_left - path_right, axis=1).mean() < 0.3 * scale:
            continue
        same = (np.linalg.norm(left[t] - path_left, axis=1)
                + np.linalg.norm(right[t] - path_right, axis=1)).sum()
        cross = (np.linalg.norm(left[t] - path_right, axis=1)
                 + np.linalg.norm(right[t] - path_left, axis=1)).sum()
        swapped[t] = cross < 0.5 * same
    return swapped


def swap_events(swapped: np.ndarray) -> list[int]:
    return runs(swapped)


def foot_contacts(px: np.ndarray, fps: float = FPS, scale: float | None = None) -> np.ndarray:
    """Row indices of foot contacts: the peaks of the heels' distance along the direction of
    travel (the step is longest when the leading heel lands; Zeni et al. 2008 used the heel's
    lead on the pelvis). The distance ignores which label each heel carries, so leg swaps do
    not add or remove contacts.
    """
    scale = scale or thigh_px(px)
    ok = tracked(px)
    rows = np.flatnonzero(ok)
    spread = np.full(len(px), np.nan)
    spread[rows] = np.abs(px[rows, 29, 0] - px[rows, 30, 0]) / scale
    filled = np.interp(np.arange(len(px)), rows, spread[rows])
    smooth = np.convolve(filled, np.ones(3) / 3, mode="same")
    min_gap = round(0.3 * fps)  # no one steps faster than 200 steps per minute
    peaks = [t for t in range(1, len(px) - 1)
             if ok[t] and smooth[t] >= smooth[t - 1] and smooth[t] > smooth[t + 1]
             and smooth[t] > 0.6]
    kept: list[int] = []
    for t in sorted(peaks, key=lambda i: -smooth[i]):
        if all(abs(t - k) >= min_gap for k in kept):
            kept.append(t)
    return np.array(sorted(kept), dtype=np.int64)


def cadence_spm(contacts: np.ndarray, fps: float = FPS) -> float:
    """Steps per minute from the median interval between successive contacts."""
    if len(contacts) < 2:
        return float("nan")
    return float(60.0 * fps / np.median(np.diff(contacts)))
