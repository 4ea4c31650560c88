"""Keep following one person: where to look next, and whether a pose is still that person.

MediaPipe's legacy Pose follows the most prominent person it detects; when its own tracking
fails it re-detects on the whole picture and may jump to someone else. The client therefore
shows it only the region around the last accepted pose (the rest of the picture blacked out),
and accepts a pose only if its torso lies in that region and its size is the tracked body's.
While the person is lost the region grows slowly (an occluded runner reappears near where they
were); it falls back to the whole ROI only after ``reacquire_after_s``, and that starts a new
track, which a publisher turns into a new session (a different person is a different session).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from barunrun_capture.geometry import Box, pose_box

TORSO = (11, 12, 23, 24)  # shoulders and hips: the steadiest points of a pose


class Verdict(StrEnum):
    TRACKED = "tracked"
    STARTED = "started"  # the first pose of a new track
    NO_POSE = "no_pose"
    OUTSIDE_REGION = "outside_region"
    SIZE_CHANGED = "size_changed"


@dataclass(frozen=True)
class TrackingRules:
    # Search region beyond the last pose's box, in body sizes: a walker moves about 0.02 body
    # sizes per frame at 30 fps and a sprinter about 0.1, and limbs swing out of the box.
    margin: float = 0.35
    # While lost, the region grows by this many body sizes per second, up to max_margin.
    lost_growth_per_s: float = 0.6
    max_margin: float = 1.0
    # A pose whose size differs from the tracked body's by more than this factor is someone
    # else (a person further back, a reflection, a partial detection at the mask's edge).
    max_size_factor: float = 1.8
    # Seconds lost after which the whole ROI is searched again (None: never).
    reacquire_after_s: float | None = None


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    track: int  # 1 for the first person tracked, 2 for the next, ...; 0 before any

    @property
    def accepted(self) -> bool:
        return self.verdict in (Verdict.TRACKED, Verdict.STARTED)


def torso_centre(points_px: np.ndarray) -> tuple[float, float]:
    centre = np.asarray(points_px)[list(TORSO), :2].mean(axis=0)
    return float(centre[0]), float(centre[1])


def body_size(box: Box) -> float:
    return max(box.width, box.height)


class PersonTracker:
    """The tracking state of one capture: fed each frame's pose (or None), in pixels."""

    def __init__(self, roi: Box, fps: float, rules: TrackingRules | None = None) -> None:
        self._roi = roi
        self._fps = fps
        self._rules = rules or TrackingRules()
        self._last_box: Box | None = None
        self._lost_frames = 0
        self._tracks = 0

    @property
    def tracking(self) -> bool:
        return self._last_box is not None

    @property
    def tracks(self) -> int:
        return self._tracks

    def search_region(self) -> Box:
        """Where the detector may look for the tracked person in the next frame (pixels)."""
        if self._last_box is None:
            return self._roi
        rules = self._rules
        margin = min(
            rules.margin + rules.lost_growth_per_s * self._lost_frames / self._fps,
            rules.max_margin,
        )
        reach = margin * body_size(self._last_box)
        return self._last_box.expand(reach, reach).intersect(self._roi)

    def update(self, points_px: np.ndarray | None) -> Decision:
        """Judge this frame's pose ((33, >=2) pixel positions, or None when none was found)."""
        if points_px is None:
            return self._lose(Verdict.NO_POSE)
        box = pose_box(np.asarray(points_px)[:, :2])
        if self._last_box is not None:
            if not self.search_region().contains(*torso_centre(points_px)):
                return self._lose(Verdict.OUTSIDE_REGION)
            factor = body_size(box) / max(body_size(self._last_box), 1.0)
            limit = self._rules.max_size_factor
            if not 1 / limit <= factor <= limit:
                return self._lose(Verdict.SIZE_CHANGED)
            verdict = Verdict.TRACKED
        else:
            self._tracks += 1
            verdict = Verdict.STARTED
        self._last_box = box
        self._lost_frames = 0
        return Decision(verdict, self._tracks)

    def _lose(self, verdict: Verdict) -> Decision:
        self._lost_frames += 1
        limit = self._rules.reacquire_after_s
        if limit is not None and self._lost_frames > limit * self._fps:
            self._last_box = None
        return Decision(verdict, self._tracks)
