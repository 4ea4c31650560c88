"""Measurements on simulated landmarks, as a gait analyst would take them from the picture.

They read only what a client would send (x, y, z, visibility) plus, where a test says so, the
camera intrinsics or the ground-truth contact frames; they do not read the simulator's
parameters, so a test built on them checks the simulated motion, not its own inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from producer_sim.camera import Camera

FPS = 30.0


class Measures:
    @staticmethod
    def pixels(landmarks: np.ndarray, camera: Camera) -> np.ndarray:
        """(T, 33, 4): x, y in pixels, z on x's pixel scale, visibility."""
        p = landmarks.reshape(len(landmarks), 33, 4).astype(np.float64).copy()
        p[..., 0] *= camera.image_width
        p[..., 1] *= camera.image_height
        p[..., 2] *= camera.image_width
        return p

    @staticmethod
    def unproject(landmarks: np.ndarray, camera: Camera, hip_depth: np.ndarray) -> np.ndarray:
        """(T, 33, 3) camera-frame metres from x, y, z, the intrinsics and the hip's depth."""
        p = landmarks.reshape(len(landmarks), 33, 4).astype(np.float64)
        w, h, f = camera.image_width, camera.image_height, camera.focal_px
        depth = hip_depth[:, None] * (1 + p[..., 2] * w / f)
        x = (p[..., 0] * w - w / 2) * depth / f
        y = (p[..., 1] * h - h / 2) * depth / f
        return np.stack([x, y, depth], axis=-1)

    @staticmethod
    def fill_gaps(values: np.ndarray) -> np.ndarray:
        """Linear interpolation over NaN (tracker dropouts)."""
        values = values.astype(np.float64).copy()
        bad = np.isnan(values)
        if bad.any() and (~bad).sum() >= 2:
            idx = np.arange(len(values))
            values[bad] = np.interp(idx[bad], idx[~bad], values[~bad])
        return values

    @staticmethod
    def median_filter(values: np.ndarray, width: int = 5) -> np.ndarray:
        pad = width // 2
        padded = np.pad(values, pad, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, width)
        return np.median(windows, axis=1)

    @classmethod
    def foot_contacts(cls, ankle_y: np.ndarray, min_gap_s: float = 0.5) -> np.ndarray:
        """Frames where a foot comes down: image y crosses from the upper third of its range
        into the lower third (hysteresis), at most once per ``min_gap_s``."""
        y = cls.median_filter(cls.fill_gaps(ankle_y))
        low, high = np.percentile(y, [5, 95])
        level = (y - low) / max(high - low, 1e-9)
        contacts: list[int] = []
        armed = False
        for i, v in enumerate(level):
            if v < 0.35:
                armed = True
            elif v > 0.65 and armed:
                if not contacts or i - contacts[-1] >= min_gap_s * FPS:
                    contacts.append(i)
                armed = False
        return np.array(contacts, dtype=int)

    @classmethod
    def cadence_from_ankles(cls, landmarks: np.ndarray) -> float:
        """Steps per minute from the ankles' vertical motion in the picture (both feet).

        Stride time is the mean interval between a foot's contacts, leaving out intervals far
        from the median (a contact lost in a tracker dropout doubles one interval).
        """
        p = landmarks.reshape(len(landmarks), 33, 4)
        intervals = []
        for ankle in (27, 28):
            gaps = np.diff(cls.foot_contacts(p[:, ankle, 1]))
            typical = np.median(gaps)
            intervals.append(gaps[(gaps > 0.7 * typical) & (gaps < 1.3 * typical)])
        stride_s = float(np.mean(np.concatenate(intervals))) / FPS
        return 120.0 / stride_s

    @staticmethod
    def run_direction(px: np.ndarray) -> float:
        """+1 if the runner faces +x in the picture (toes ahead of heels), else -1."""
        toe_ahead = np.concatenate([px[:, 31, 0] - px[:, 29, 0], px[:, 32, 0] - px[:, 30, 0]])
        return float(np.sign(np.nanmedian(toe_ahead)))

    @staticmethod
    def leg_px(px: np.ndarray) -> float:
        """Leg length in pixels: median thigh + shank in the picture, both legs."""
        lengths = []
        for hip, knee, ankle in ((23, 25, 27), (24, 26, 28)):
            thigh = np.linalg.norm(px[:, hip, :2] - px[:, knee, :2], axis=1)
            shank = np.linalg.norm(px[:, knee, :2] - px[:, ankle, :2], axis=1)
            lengths.append(np.nanmedian(thigh + shank))
        return float(np.mean(lengths))

    @staticmethod
    def angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Angle at b (degrees) between b->a and b->c, in the picture."""
        u, v = a[:, :2] - b[:, :2], c[:, :2] - b[:, :2]
        cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1))
        return np.degrees(np.arccos(np.clip(cos, -1, 1)))


@pytest.fixture(scope="session")
def measures() -> type[Measures]:
    return Measures
