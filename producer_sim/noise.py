"""What a pose tracker does to a clean pose: jitter, visibility, dropouts, left/right swaps.

Every number of the tracker model lives in ``TrackerNoise``, calibrated (issue 11) on
MediaPipe Pose output for a real side-on phone video; docs/realism.md has the measurements
beside the simulator's, how they were taken, and what one short clip cannot tell. Jitter
differs by body part (face < torso < elbows/knees/wrists/ankles < hands and feet) and is
larger along the picture's x than y; it grows as visibility falls. Visibility stays near 1
for the face, shoulders and hips on either side, as MediaPipe reports them, and falls for
limbs behind the torso (the far arm most). Far-side leg labels swap for a frame or two
several times a minute in side views.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from producer_sim.occlusion import Occlusion
from producer_sim.signals import block_events, smoothed_normals

# Random stream ids (with the session seed) for each kind of noise.
STREAM_JITTER, STREAM_VISIBILITY, STREAM_DROPOUT, STREAM_SWAP = 11, 12, 13, 14

LEG_PAIRS = ((23, 24), (25, 26), (27, 28), (29, 30), (31, 32))
VISIBILITY_TAPS = 16  # long enough a filter for visibility_correlation's slow drift


# Landmark groups whose tracker noise differs (MediaPipe order, running-form.md).
FACE = tuple(range(11))
CORE = (*FACE, 11, 12, 23, 24)  # face, shoulders, hips: MediaPipe rates them visible always
ARMS = tuple(range(13, 23))  # elbows, wrists, hands
LEGS = tuple(range(25, 33))  # knees, ankles, heels, toes
EXTREMITIES = (*range(17, 23), *range(29, 33))  # hands and feet


@dataclass(frozen=True)
class TrackerNoise:
    """The tracker model's numbers; where each comes from is in docs/realism.md.

    Measured (issue 11) on MediaPipe Pose 0.10.14 (model complexity 1, smoothing on) tracking
    one person walking side-on in a 30 fps phone video (sports2d demo.mp4, 154 tracked
    frames): jitter as the robust spread of the residual from a 5-frame quadratic fit, in
    thigh lengths, matched by the same measure on simulated side views; visibility as the
    near- and far-side percentiles; swaps counted from the legs' labels. Not measured there
    (kept as first estimates): the jitter's frame-to-frame correlation, dropouts (none in that
    clip), and everything about front and oblique views and running speeds.
    """

    # x sd of the shoulders and hips, share of the body's height in the picture. Measured:
    # 0.5-1.1 % of the thigh length as a 5-frame fit residual; this value gives 0.8 % in
    # simulated side views (the fit residual is ~0.4 of the raw sd at correlation 0.5).
    jitter: float = 0.0046
    jitter_face_gain: float = 0.42  # measured: face 0.35 % of thigh vs torso 0.85 %
    jitter_limb_gain: float = 0.85  # elbows, wrists, knees, ankles: 0.7-0.9 %
    jitter_extremity_gain: float = 1.6  # hands, heels, toes: 1.1-1.9 % (toes most)
    jitter_y_ratio: float = 0.4  # measured y/x 0.3-0.85 side-on (x is along the motion)
    jitter_hidden_gain: float = 1.3  # sd x (1 + gain) at visibility 0: far arm 1.7x the near
    jitter_z_gain: float = 3.0  # z is the tracker's weakest output (not calibrated)
    jitter_correlation: float = 0.5  # frame to frame (not separable from motion in one clip)
    # Visibility = logistic(logit - slope x how far the limb's side is turned away - ...).
    # Measured side-on: near side 0.97-1.0 everywhere; far side: face, shoulders and hips
    # still 1.0; far elbow/wrist/hand 0.41-0.52 median (10th-90th 0.17-0.67), far knee 0.78,
    # far ankle/heel/toe 0.91-0.93 (logit spread ~0.5-0.8 within each).
    visibility_logit: float = 4.6  # a clearly visible landmark: 0.99
    # Per unit of ``behind`` of the limb's root (shoulder or hip), i.e. of how far that side
    # of the body is turned away: MediaPipe marks a far arm uncertain wherever it swings.
    visibility_arm_slope: float = 3.3
    visibility_knee_slope: float = 3.0
    visibility_foot_slope: float = 2.3  # ankles, heels, toes
    visibility_covered_slope: float = 1.0  # limbs: fully on a nearer limb or the torso
    visibility_outside_slope: float = 40.0  # per share of the image outside the picture
    visibility_noise: float = 0.6  # logit sd
    # MediaPipe's visibility drifts slowly (measured autocorrelation 0.97 at 1 frame, 0.4-0.7
    # at 5 frames), unlike its positions' jitter.
    visibility_correlation: float = 0.9
    dropouts_per_min: float = 2.0  # not measured: no dropout in the 5 s clip
    dropout_mean_frames: float = 4.0
    dropout_max_frames: int = 20
    # Measured: 3 leg-label swaps of 1-2 frames detected in 4.8 s of walking side-on, 37 per
    # minute (Poisson 95 % interval 8-110). The detector sees ~60 % of swaps (checked on
    # simulated ones), so 40 true per minute shows as 26 detected.
    swaps_per_min: float = 40.0  # far-side leg swaps, side and oblique views only
    swap_mean_frames: float = 2.0
    swap_max_frames: int = 8

    def scaled(self, level: float) -> TrackerNoise:
        """A tracker ``level`` times as noisy (lighting, clothes, phone): jitter and events."""
        return replace(
            self, jitter=self.jitter * level, dropouts_per_min=self.dropouts_per_min * level,
            swaps_per_min=self.swaps_per_min * level,
        )

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 5) for k, v in asdict(self).items()}

    def jitter_gains(self) -> np.ndarray:
        """(33,) each landmark's x jitter relative to the torso's."""
        gains = np.ones(33)
        gains[list(FACE)] = self.jitter_face_gain
        gains[[13, 14, 15, 16, 25, 26, 27, 28]] = self.jitter_limb_gain
        gains[list(EXTREMITIES)] = self.jitter_extremity_gain
        return gains

    def behind_slopes(self) -> np.ndarray:
        """(33,) visibility logit lost per unit of the limb root's ``behind``; core: none."""
        slopes = np.zeros(33)
        slopes[list(ARMS)] = self.visibility_arm_slope
        slopes[[25, 26]] = self.visibility_knee_slope
        slopes[list(range(27, 33))] = self.visibility_foot_slope
        return slopes


@dataclass(frozen=True)
class TrackedFrames:
    landmarks: np.ndarray  # (T, 33, 4) x, y, z, visibility; NaN rows where the person is lost
    tracked: np.ndarray  # (T,) bool
    swapped: np.ndarray  # (T,) bool


def _event_mask(events: list[tuple[int, int]], start: int, count: int) -> np.ndarray:
    mask = np.zeros(count, dtype=bool)
    for first, length in events:
        mask[max(first - start, 0):max(first + length - start, 0)] = True
    return mask


# Each limb landmark's root on its own side (shoulder for arms, hip for legs); core: itself.
LIMB_ROOT: tuple[int, ...] = (*range(13), *(11 + (i + 1) % 2 for i in range(13, 23)), 23, 24,
                              *(23 + (i + 1) % 2 for i in range(25, 33)))


def visibility_of(
    hidden: Occlusion, noise: TrackerNoise, wobble: np.ndarray | float = 0.0
) -> np.ndarray:
    """(T, 33) visibility: a logistic of how hidden each landmark is (plus tracker wobble).

    MediaPipe rates the face, shoulders and hips visible even on the far side (measured: 1.0)
    and a far limb uncertain wherever it swings, so limbs lose visibility by how far their
    side is turned away (their root's depth behind the torso), and a little more where a
    nearer limb or the torso covers them.
    """
    limbs = np.ones(33)
    limbs[list(CORE)] = 0.0
    turned_away = np.minimum(hidden.behind[:, list(LIMB_ROOT)], 2.5)
    logit = (
        noise.visibility_logit - noise.behind_slopes() * turned_away
        - noise.visibility_covered_slope * hidden.covered * limbs
        - noise.visibility_outside_slope * hidden.outside + wobble
    )
    return 1 / (1 + np.exp(-logit))


def track(
    xy: np.ndarray, z: np.ndarray, hidden: Occlusion, image_size: tuple[int, int],
    noise: TrackerNoise, seed: int, start: int, fps: float, swaps_possible: bool,
) -> TrackedFrames:
    """The tracker's output for clean projected landmarks of frames [start, start+T)."""
    count = xy.shape[0]
    width, height = image_size
    wobble = noise.visibility_noise * smoothed_normals(
        seed, STREAM_VISIBILITY, start, count, 33, noise.visibility_correlation,
        taps=VISIBILITY_TAPS)
    visibility = visibility_of(hidden, noise, wobble)

    body_px = (np.nanmax(xy[..., 1], axis=1) - np.nanmin(xy[..., 1], axis=1)) * height
    sd_px = (noise.jitter * body_px[:, None] * noise.jitter_gains()
             * (1 + noise.jitter_hidden_gain * (1 - visibility)))
    shaken = smoothed_normals(seed, STREAM_JITTER, start, count, 99, noise.jitter_correlation)
    shaken = shaken.reshape(count, 33, 3)
    out = np.empty((count, 33, 4))
    out[..., 0] = xy[..., 0] + shaken[..., 0] * sd_px / width
    out[..., 1] = xy[..., 1] + shaken[..., 1] * noise.jitter_y_ratio * sd_px / height
    out[..., 2] = z + shaken[..., 2] * noise.jitter_z_gain * sd_px / width
    out[..., 3] = visibility

    per_frame = 1.0 / (60.0 * fps)
    swapped = np.zeros(count, dtype=bool)
    if swaps_possible:
        swapped = _event_mask(block_events(
            seed, STREAM_SWAP, start, count, noise.swaps_per_min * per_frame,
            noise.swap_mean_frames, noise.swap_max_frames), start, count)
        # Only the positions trade places: MediaPipe's z and visibility stay with the label
        # (measured: the far ankle's z and visibility run on smoothly through a swap).
        for left, right in LEG_PAIRS[1:]:
            out[swapped, left, :2], out[swapped, right, :2] = (
                out[swapped, right, :2].copy(), out[swapped, left, :2].copy())
    lost = _event_mask(block_events(
        seed, STREAM_DROPOUT, start, count, noise.dropouts_per_min * per_frame,
        noise.dropout_mean_frames, noise.dropout_max_frames), start, count)
    out[lost] = np.nan
    return TrackedFrames(landmarks=out, tracked=~lost, swapped=swapped)
