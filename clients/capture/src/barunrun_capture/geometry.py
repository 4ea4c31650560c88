"""Pixel boxes, the region of interest, and mapping landmarks between crop and full image.

Landmarks leave the client in full-image normalised coordinates (the contract's): x, y as
shares of the picture's width and height, z on x's scale. MediaPipe gives them normalised to
the image it was shown, which is the ROI crop, so they are mapped back here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from barunrun_capture.errors import BadArgument


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels: x0 <= x < x1, y0 <= y < y1."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    @property
    def is_empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1

    def intersect(self, other: Box) -> Box:
        return Box(max(self.x0, other.x0), max(self.y0, other.y0),
                   min(self.x1, other.x1), min(self.y1, other.y1))

    def expand(self, dx: float, dy: float) -> Box:
        return Box(self.x0 - dx, self.y0 - dy, self.x1 + dx, self.y1 + dy)

    def shift(self, dx: float, dy: float) -> Box:
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def to_pixels(self) -> tuple[int, int, int, int]:
        """Integer bounds covering the box (for array slicing)."""
        return (int(np.floor(self.x0)), int(np.floor(self.y0)),
                int(np.ceil(self.x1)), int(np.ceil(self.y1)))


def full_image(width: int, height: int) -> Box:
    return Box(0.0, 0.0, float(width), float(height))


def parse_roi(text: str, width: int, height: int) -> Box:
    """``X0,Y0,X1,Y1`` in pixels, clipped to the picture; BadArgument if it leaves nothing."""
    parts = text.split(",")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise BadArgument(f"--roi {text!r}: expected four numbers X0,Y0,X1,Y1 (pixels)") from None
    if x1 <= x0 or y1 <= y0:
        raise BadArgument(f"--roi {text!r}: X1 must exceed X0 and Y1 must exceed Y0")
    roi = Box(x0, y0, x1, y1).intersect(full_image(width, height))
    if roi.width < 32 or roi.height < 32:
        raise BadArgument(
            f"--roi {text!r} leaves {max(roi.width, 0):.0f}x{max(roi.height, 0):.0f} px of the "
            f"{width}x{height} picture; it needs at least 32x32"
        )
    return roi


def crop_to_image(landmarks: np.ndarray, crop: Box, width: int, height: int) -> np.ndarray:
    """(33, 4) landmarks normalised to ``crop`` -> normalised to the full ``width`` x ``height``.

    z is on the scale of x in the image MediaPipe saw, so it scales with the crop's width.
    """
    out = np.array(landmarks, dtype=np.float64, copy=True)
    out[:, 0] = (crop.x0 + out[:, 0] * crop.width) / width
    out[:, 1] = (crop.y0 + out[:, 1] * crop.height) / height
    out[:, 2] = out[:, 2] * crop.width / width
    return out


def to_pixels(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """(33, 2) pixel positions of full-image normalised landmarks."""
    return np.asarray(landmarks)[:, :2] * np.array([width, height], dtype=np.float64)


def pose_box(points_px: np.ndarray) -> Box:
    """The bounding box of a pose's landmarks (pixels)."""
    return Box(float(points_px[:, 0].min()), float(points_px[:, 1].min()),
               float(points_px[:, 0].max()), float(points_px[:, 1].max()))


def mask_outside(image: np.ndarray, keep: Box) -> np.ndarray:
    """A copy of ``image`` black outside ``keep`` (pixel box in the image's own coordinates).

    The detector then cannot see anyone outside the tracking region, while the coordinates
    stay those of the whole image: MediaPipe's own frame-to-frame tracking and smoothing are
    undisturbed, as they would not be by a crop that moves every frame.
    """
    height, width = image.shape[:2]
    x0, y0, x1, y1 = keep.intersect(full_image(width, height)).to_pixels()
    masked = np.zeros_like(image)
    if x1 > x0 and y1 > y0:
        masked[y0:y1, x0:x1] = image[y0:y1, x0:x1]
    return masked
