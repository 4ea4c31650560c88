"""Camera view and image scale of each window, from the landmarks alone.

*View.* A runner moves the feet forwards and back by about 0.9 leg lengths per stride and is
about 0.12-0.20 of their height wide at the hips and shoulders. Seen from the side the feet
travel across the picture and the body has no width; from the front the feet travel in depth
and the width is all there is. The ratio of the two in the picture (both in x, so the image's
aspect ratio cancels) grows like tan(azimuth): below ``FRONT_BELOW`` it is a front view,
above ``SIDE_ABOVE`` a side view, between them oblique. On simulated runners (+-12 deg of
camera azimuth around each view) front views read 0.2-0.9, oblique 2.0-4.9 and side 7-50
(a window of a side view 10 deg off, with the thorax turning, can dip to 7): the thresholds
sit near the geometric middles, the side one lower, as side windows vary most.

*Sagittal scale.* x is a share of the image width and y of its height, and in an oblique view
forward motion is also foreshortened. Segments keep their length while they swing, so for
each window the scale k with length^2 = (k dx)^2 + dy^2 as constant as possible over the
thigh, shank, upper-arm and forearm of both sides is a linear least-squares fit (one number
per window, closed form); x * k is then a sagittal distance in y's units. It is exact for
motion in the image plane (side view) and about 10-20 % short in oblique views, where limbs
also move in depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consumer.gait.body import LEG_OVER_THIGH_SHANK, TRUNK_OVER_LEG
from consumer.gait.pose import Pose
from consumer.gait.reduce import masked_percentile

VIEWS: tuple[str, ...] = ("side", "front", "oblique")
SIDE, FRONT, OBLIQUE = 0, 1, 2
FRONT_BELOW = 1.3
SIDE_ABOVE = 6.5

# (proximal, distal) landmarks of the segments used for the scale fit, left then right.
THIGHS = ((23, 25), (24, 26))
SHANKS = ((25, 27), (26, 28))
ARM_SEGMENTS = ((11, 13), (13, 15), (12, 14), (14, 16))


@dataclass(frozen=True)
class ViewGeometry:
    view: np.ndarray  # (N,) int: SIDE, FRONT or OBLIQUE
    ratio: np.ndarray  # (N,) foot travel over body width, both in x
    facing: np.ndarray  # (N,) +1: the runner faces +x in the picture, -1: -x
    sagittal_scale: np.ndarray  # (N,) k: x * k is a sagittal distance in y units (NaN: front)
    leg: np.ndarray  # (N,) leg length (standing hip height) in y units
    confidence: np.ndarray  # (N,) 0..1, how clearly the ratio falls inside its view's band

    def names(self) -> list[str]:
        return [VIEWS[int(v)] for v in self.view]


def _weighted_median_abs(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-window median of |values| over frames with weight > 0 (all frames if none)."""
    med = masked_percentile(np.abs(values), weights > 0, 50)
    return np.where(np.isfinite(med), med, np.median(np.abs(values), axis=1))


def view_ratio(pose: Pose) -> np.ndarray:
    """(N,) the feet's forward-back travel over the hips' + shoulders' width, both in x."""
    hip_x, _ = pose.mid(23, 24)
    travel = np.zeros(pose.windows)
    for ankle in (27, 28):
        rel = pose.x[..., ankle] - hip_x
        travel += np.percentile(rel, 90, axis=1) - np.percentile(rel, 10, axis=1)
    width = (
        _weighted_median_abs(pose.x[..., 23] - pose.x[..., 24], pose.weight(23, 24))
        + _weighted_median_abs(pose.x[..., 11] - pose.x[..., 12], pose.weight(11, 12))
    )
    return travel / np.maximum(width, 1e-4)


def facing(pose: Pose) -> np.ndarray:
    """(N,) +1 when the runner faces +x: toes ahead of heels, nose ahead of the ears."""
    feet = np.zeros(pose.windows)
    for heel, toe in ((29, 31), (30, 32)):
        feet += np.sum(pose.weight(heel, toe) * (pose.x[..., toe] - pose.x[..., heel]), axis=1)
    ears_x, _ = pose.mid(7, 8)
    head = np.sum(pose.weight(0, 7, 8) * (pose.x[..., 0] - ears_x), axis=1)
    vote = np.sign(feet) + np.sign(head) + 0.5 * np.sign(feet + head)
    return np.where(vote >= 0, 1.0, -1.0)


def _segment_terms(pose: Pose, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dx2 = (pose.x[..., b] - pose.x[..., a]) ** 2
    dy2 = (pose.y[..., b] - pose.y[..., a]) ** 2
    return dx2, dy2, pose.weight(a, b) + 1e-6


def _centred(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    mean = np.sum(values * weights, axis=1, keepdims=True) / np.sum(weights, axis=1, keepdims=True)
    return values - mean


def sagittal_scale(pose: Pose) -> np.ndarray:
    """(N,) k minimising the spread of segment lengths (see the module docstring)."""
    num = np.zeros(pose.windows)
    den = np.zeros(pose.windows)
    for a, b in THIGHS + SHANKS + ARM_SEGMENTS:
        dx2, dy2, w = _segment_terms(pose, a, b)
        xc, yc = _centred(dx2, w), _centred(dy2, w)
        num -= np.sum(w * xc * yc, axis=1)
        den += np.sum(w * xc * xc, axis=1)
    k2 = num / np.maximum(den, 1e-18)
    return np.sqrt(np.clip(k2, 0.0, None))


def segment_length(pose: Pose, a: int, b: int, scale: np.ndarray) -> np.ndarray:
    """(N,) visibility-weighted RMS length of segment a-b in y units, x scaled by ``scale``."""
    dx2, dy2, w = _segment_terms(pose, a, b)
    k2 = (scale**2)[:, None]
    return np.sqrt(np.sum(w * (k2 * dx2 + dy2), axis=1) / np.sum(w, axis=1))


def trunk_height(pose: Pose) -> np.ndarray:
    """(N,) median vertical distance from the hip midpoint to the shoulder midpoint, y units."""
    _, hip_y = pose.mid(23, 24)
    _, shoulder_y = pose.mid(11, 12)
    return np.median(hip_y - shoulder_y, axis=1)


def _band_confidence(ratio: np.ndarray, view: np.ndarray) -> np.ndarray:
    """1 deep inside a view's band, falling to 0.5 at its edge (log distance)."""
    log_r = np.log(np.maximum(ratio, 1e-6))
    lo, hi = np.log(FRONT_BELOW), np.log(SIDE_ABOVE)
    margin = np.where(view == FRONT, lo - log_r,
                      np.where(view == SIDE, log_r - hi, np.minimum(log_r - lo, hi - log_r)))
    return np.clip(0.5 + margin / 1.0, 0.0, 1.0)


def view_geometry(pose: Pose) -> ViewGeometry:
    ratio = view_ratio(pose)
    view = np.where(ratio < FRONT_BELOW, FRONT, np.where(ratio > SIDE_ABOVE, SIDE, OBLIQUE))
    k = sagittal_scale(pose)
    sagittal = view != FRONT
    k = np.where(sagittal & (k > 0), k, np.nan)
    leg_fit = np.zeros(pose.windows)
    for (a, b), (c, d) in zip(THIGHS, SHANKS, strict=True):
        leg_fit += segment_length(pose, a, b, np.nan_to_num(k)) + segment_length(
            pose, c, d, np.nan_to_num(k))
    leg_fit *= LEG_OVER_THIGH_SHANK / 2
    leg_trunk = trunk_height(pose) / TRUNK_OVER_LEG
    # Seen from the front the legs bend in depth, so their picture lengths shrink; the trunk
    # stays upright and gives the scale instead.
    leg = np.where(sagittal, leg_fit, leg_trunk)
    return ViewGeometry(
        view=view.astype(np.int8), ratio=ratio, facing=facing(pose), sagittal_scale=k,
        leg=leg, confidence=_band_confidence(ratio, view),
    )
