"""A contact sheet of the capture: stick figures drawn over a few frames (``--preview FILE.png``).

To see at a glance whether the right person was followed: each tile is a whole frame with the
ROI (grey), the region the tracker searched (yellow) and the pose (left side blue, right side
orange, as in BarunRun's plots). Thumbnails are kept at a stride that doubles whenever the
store fills, so memory stays bounded for any video length.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from barunrun_capture.geometry import Box
from barunrun_capture.landmarks import BONES
from barunrun_capture.sinks import CapturedFrame

THUMB_WIDTH = 400
MAX_STORED = 48
LEFT_BGR, RIGHT_BGR, MID_BGR = (180, 119, 31), (14, 127, 255), (40, 40, 40)
ROI_BGR, REGION_BGR = (160, 160, 160), (0, 215, 255)


def bone_colour(a: int, b: int) -> tuple[int, int, int]:
    if a >= 11 and b >= 11 and a % 2 == b % 2:
        return LEFT_BGR if a % 2 == 1 else RIGHT_BGR
    return MID_BGR


@dataclass(frozen=True)
class Thumb:
    index: int
    image: np.ndarray


class PreviewSheet:
    """Collects overlaid thumbnails during a capture; ``save`` writes ``tiles`` of them."""

    def __init__(self, path: Path, width: int, height: int, roi: Box, tiles: int = 6) -> None:
        import cv2  # noqa: PLC0415 - OpenCV loads only when a preview is asked for

        self._cv2 = cv2
        self._path = path
        self._scale = THUMB_WIDTH / width
        self._size = (THUMB_WIDTH, round(height * self._scale))
        self._roi = roi
        self._tiles = tiles
        self._stride = 1
        self._thumbs: list[Thumb] = []

    def _px(self, x: float, y: float) -> tuple[int, int]:
        return round(x * self._scale), round(y * self._scale)

    def add(self, bgr: np.ndarray, frame: CapturedFrame, region: Box) -> None:
        if frame.landmarks is None or frame.index % self._stride:
            return
        cv2 = self._cv2
        thumb = cv2.resize(bgr, self._size, interpolation=cv2.INTER_AREA)
        for box, colour in ((self._roi, ROI_BGR), (region, REGION_BGR)):
            cv2.rectangle(thumb, self._px(box.x0, box.y0), self._px(box.x1 - 1, box.y1 - 1),
                          colour, 1)
        points = frame.landmarks[:, :2] * np.array(self._size)
        for a, b in BONES:
            cv2.line(thumb, tuple(np.round(points[a]).astype(int)),
                     tuple(np.round(points[b]).astype(int)), bone_colour(a, b), 2, cv2.LINE_AA)
        cv2.rectangle(thumb, (0, 0), (118, 28), (0, 0, 0), -1)
        cv2.putText(thumb, f"frame {frame.index}", (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (255, 255, 255), 1, cv2.LINE_AA)
        self._thumbs.append(Thumb(frame.index, thumb))
        if len(self._thumbs) >= MAX_STORED:
            self._stride *= 2
            self._thumbs = [t for t in self._thumbs if t.index % self._stride == 0]

    def save(self) -> bool:
        """Write the sheet (tiles spread over the tracked frames); False if nothing was tracked."""
        if not self._thumbs:
            return False
        picks = np.unique(np.linspace(0, len(self._thumbs) - 1, self._tiles).round().astype(int))
        images = [self._thumbs[i].image for i in picks]
        columns = min(3, len(images))
        blank = np.zeros_like(images[0])
        images += [blank] * (-len(images) % columns)
        rows = [np.hstack(images[r:r + columns]) for r in range(0, len(images), columns)]
        self._path.parent.mkdir(parents=True, exist_ok=True)
        return bool(self._cv2.imwrite(str(self._path), np.vstack(rows),
                                      [self._cv2.IMWRITE_PNG_COMPRESSION, 9]))
