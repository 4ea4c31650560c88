"""The capture loop: frame -> ROI crop -> tracking mask -> MediaPipe -> landmarks -> sinks.

The ROI is a fixed crop, so MediaPipe sees one steady image geometry for the whole video (its
tracking and smoothing assume that) and a small person in a large picture fills more of the
detector's input. Inside the crop, everything outside the tracker's search region is blacked
out (``tracking.py`` says why). Landmarks come back normalised to the crop and are mapped to
the full picture before anything is sent.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from barunrun_capture.geometry import Box, crop_to_image, mask_outside, to_pixels
from barunrun_capture.sinks import CapturedFrame, FrameSink
from barunrun_capture.tracking import PersonTracker
from barunrun_capture.video import FrameClock, VideoFrame, VideoInfo

log = logging.getLogger(__name__)


# Called after each frame with the picture, what was sent, and the region that was searched.
FrameObserver = Callable[[VideoFrame, CapturedFrame, Box], None]


class Estimator(Protocol):
    def estimate(self, rgb: np.ndarray) -> np.ndarray | None: ...


@dataclass
class CaptureSummary:
    """What happened, printed as one JSON line by the CLI."""

    source: str
    width: int
    height: int
    fps: float
    roi: list[float]
    frames: int = 0
    with_pose: int = 0
    tracks: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    first_tracked_frame: int | None = None
    last_tracked_frame: int | None = None


def _bgr_to_rgb(bgr: np.ndarray) -> np.ndarray:
    # MediaPipe wants contiguous RGB; a reversed-channel view is not contiguous.
    return np.ascontiguousarray(bgr[..., ::-1])


def estimate_in_region(
    estimator: Estimator, frame: VideoFrame, roi: Box, region: Box, info: VideoInfo,
) -> np.ndarray | None:
    """The pose in ``region`` (pixels, inside ``roi``) as full-image normalised landmarks."""
    x0, y0, x1, y1 = roi.to_pixels()
    crop = frame.bgr[y0:y1, x0:x1]
    crop_box = Box(float(x0), float(y0), float(x0 + crop.shape[1]), float(y0 + crop.shape[0]))
    region_in_crop = region.shift(-crop_box.x0, -crop_box.y0)
    shown = mask_outside(crop, region_in_crop)
    found = estimator.estimate(_bgr_to_rgb(shown))
    if found is None:
        return None
    return crop_to_image(found, crop_box, info.width, info.height)


def run_capture(
    frames: Iterable[VideoFrame], info: VideoInfo, estimator: Estimator,
    tracker: PersonTracker, roi: Box, sinks: Sequence[FrameSink], clock: FrameClock,
    on_frame: FrameObserver | None = None, max_frames: int | None = None,
) -> CaptureSummary:
    """Run the pose on every frame into every sink; frames are read lazily, in order."""
    summary = CaptureSummary(source=info.name, width=info.width, height=info.height,
                             fps=info.fps, roi=[roi.x0, roi.y0, roi.x1, roi.y1])
    verdicts: Counter[str] = Counter()
    for frame in frames:
        if max_frames is not None and summary.frames >= max_frames:
            break
        region = tracker.search_region()
        landmarks = estimate_in_region(estimator, frame, roi, region, info)
        points = None if landmarks is None else to_pixels(landmarks, info.width, info.height)
        decision = tracker.update(points)
        verdicts[decision.verdict.value] += 1
        kept = landmarks if decision.accepted else None
        if kept is not None:
            summary.with_pose += 1
            if summary.first_tracked_frame is None:
                summary.first_tracked_frame = frame.index
            summary.last_tracked_frame = frame.index
        clock.wait_for(frame)
        captured = CapturedFrame(frame.index, clock.stamp(frame), kept, decision.track)
        for sink in sinks:
            sink.send(captured)
        summary.frames += 1
        if on_frame is not None:
            on_frame(frame, captured, region)
    summary.tracks = tracker.tracks
    summary.verdicts = dict(verdicts)
    log.info("capture done frames=%d with_pose=%d tracks=%d", summary.frames,
             summary.with_pose, summary.tracks)
    return summary
