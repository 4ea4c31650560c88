"""A phone on a tripod: pinhole projection to MediaPipe's image coordinates, and occlusion.

World frame: the runner's mean position on the belt at the origin, X forward, Y up, Z to the
runner's right. The camera stands ``distance_m`` away at ``azimuth_deg`` around the runner
(0: in front, the runner facing it; +90: at the runner's left; -90: at its right), aims at a
point ``target_height_m`` above the belt, and may be rolled slightly. Phone main cameras have
a horizontal field of view of about 65-78 deg along the long side of the picture.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from producer_sim.body import Body
from producer_sim.faults import check_views

VIEW_AZIMUTHS = {"side": (90.0, -90.0), "front": (0.0,), "oblique": (45.0, -45.0)}
AZIMUTH_JITTER_DEG = 12.0
DISTANCE_RANGE_M = (2.5, 6.0)
MAX_DISTANCE_M = 9.0
RESOLUTIONS = ((1920, 1080), (1280, 720), (1440, 1080))  # long x short side
FRAME_MARGIN = 0.04  # the runner is kept this far inside the picture (share of each side)


@dataclass(frozen=True)
class Projection:
    xy: np.ndarray  # (T, 33, 2) normalised to image width and height, y down
    z: np.ndarray  # (T, 33) MediaPipe-style depth: relative to the hip midpoint, x's scale
    depth_m: np.ndarray  # (T, 33) distance along the optical axis
    hip_depth_m: np.ndarray  # (T,) depth of the hip midpoint
    pixels_per_m: np.ndarray  # (T,) image scale at the hip midpoint (pixels per metre)


@dataclass(frozen=True)
class Camera:
    view: str
    azimuth_deg: float
    distance_m: float
    height_m: float
    target_height_m: float
    roll_deg: float
    image_width: int
    image_height: int
    focal_px: float

    @property
    def position(self) -> np.ndarray:
        az = np.radians(self.azimuth_deg)
        return np.array([
            self.distance_m * np.cos(az), self.height_m, -self.distance_m * np.sin(az)
        ])

    def axes(self) -> np.ndarray:
        """(3, 3) rows: image right, image down, optical axis (world frame)."""
        ahead = np.array([0.0, self.target_height_m, 0.0]) - self.position
        ahead /= np.linalg.norm(ahead)
        right = np.cross(ahead, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        down = np.cross(ahead, right)
        roll = np.radians(self.roll_deg)
        right, down = (np.cos(roll) * right + np.sin(roll) * down,
                       -np.sin(roll) * right + np.cos(roll) * down)
        return np.stack([right, down, ahead])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points in camera coordinates (right, down, depth)."""
        return (points - self.position) @ self.axes().T

    def project(self, points: np.ndarray, hip_mid: np.ndarray) -> Projection:
        """Project (T, 33, 3) world points; ``hip_mid`` (T, 3) anchors MediaPipe's z."""
        cam = self.to_camera(points)
        depth = cam[..., 2]
        u = self.image_width / 2 + self.focal_px * cam[..., 0] / depth
        v = self.image_height / 2 + self.focal_px * cam[..., 1] / depth
        xy = np.stack([u / self.image_width, v / self.image_height], axis=-1)
        hip_depth = self.to_camera(hip_mid)[:, 2]
        z = (depth - hip_depth[:, None]) * self.focal_px / (hip_depth[:, None] * self.image_width)
        return Projection(xy=xy, z=z, depth_m=depth, hip_depth_m=hip_depth,
                          pixels_per_m=self.focal_px / hip_depth)

    def fits(self, points: np.ndarray) -> bool:
        """Whether world points (N, 3) all land inside the picture, margin kept."""
        cam = self.to_camera(points)
        if np.any(cam[:, 2] <= 0.1):
            return False
        u = 0.5 + self.focal_px * cam[:, 0] / cam[:, 2] / self.image_width
        v = 0.5 + self.focal_px * cam[:, 1] / cam[:, 2] / self.image_height
        inside = (u > FRAME_MARGIN) & (u < 1 - FRAME_MARGIN)
        inside &= (v > FRAME_MARGIN) & (v < 1 - FRAME_MARGIN)
        return bool(inside.all())

    @classmethod
    def random(cls, rng: np.random.Generator, view: str, body: Body) -> Camera:
        """A tripod set-up for ``view``, moved back until the whole runner stays in frame."""
        check_views([view])
        base = VIEW_AZIMUTHS[view][int(rng.integers(len(VIEW_AZIMUTHS[view])))]
        long_side, short_side = RESOLUTIONS[int(rng.integers(len(RESOLUTIONS)))]
        portrait = bool(rng.random() < 0.5)
        width, height = (short_side, long_side) if portrait else (long_side, short_side)
        fov_long = np.radians(rng.uniform(65.0, 78.0))
        camera = cls(
            view=view,
            azimuth_deg=float(base + rng.uniform(-AZIMUTH_JITTER_DEG, AZIMUTH_JITTER_DEG)),
            distance_m=float(rng.uniform(*DISTANCE_RANGE_M)),
            height_m=float(rng.uniform(0.5, 1.5)),
            target_height_m=float(rng.uniform(0.45, 0.6) * body.height_m),
            roll_deg=float(np.clip(rng.normal(0.0, 1.5), -4.0, 4.0)),
            image_width=width,
            image_height=height,
            focal_px=float(long_side / 2 / np.tan(fov_long / 2)),
        )
        extremes = _body_extremes(body)
        while not camera.fits(extremes) and camera.distance_m < MAX_DISTANCE_M:
            camera = cls(**{**asdict(camera), "distance_m": camera.distance_m * 1.08})
        return camera

    def to_dict(self) -> dict[str, object]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _body_extremes(body: Body) -> np.ndarray:
    """Corners of a box holding the runner through a stride, with the treadmill drift."""
    leg, height = body.leg_m, body.height_m
    xs = (-0.75 * leg - 0.2, 0.6 * leg + 0.2)
    ys = (0.0, 1.02 * height + 0.1)
    zs = (-0.2 * height - 0.08, 0.2 * height + 0.08)
    return np.array([[x, y, z] for x in xs for y in ys for z in zs])

