"""Video sources (a file or a camera) and the timestamps a phone would put on their frames."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from barunrun_capture.errors import VideoUnreadable

DEFAULT_FPS = 30.0  # what a camera that does not report its rate most likely delivers


@dataclass(frozen=True)
class VideoInfo:
    name: str
    width: int
    height: int
    fps: float
    frame_count: int | None  # None for a camera
    live: bool

    @property
    def duration_ms(self) -> float:
        return 1000.0 * (self.frame_count or 0) / self.fps


@dataclass(frozen=True)
class VideoFrame:
    index: int  # frame number in the video (a camera: counted from 0)
    position_ms: float  # index / fps: where the frame lies on the video's own timeline
    bgr: np.ndarray


class VideoSource:
    """Frames of a video file, or of a camera when ``source`` is a number (``0``)."""

    def __init__(self, source: str) -> None:
        import cv2  # noqa: PLC0415 - the pure parts of the client load without OpenCV

        self._cv2 = cv2
        live = source.isdigit()
        if not live and not Path(source).is_file():
            raise VideoUnreadable(f"{source}: no such video file")
        self._capture = cv2.VideoCapture(int(source) if live else source)
        if not self._capture.isOpened():
            what = "camera" if live else "video (not a format OpenCV can decode?)"
            raise VideoUnreadable(f"{source}: cannot open the {what}")
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.info = VideoInfo(
            name=Path(source).name if not live else f"camera {source}",
            width=int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=fps if 1.0 <= fps <= 1000.0 else DEFAULT_FPS,
            frame_count=None if live or count <= 0 else count,
            live=live,
        )
        if self.info.width <= 0 or self.info.height <= 0:
            self.close()
            raise VideoUnreadable(f"{source}: the video reports no picture size")

    def frames(self) -> Iterator[VideoFrame]:
        """Decoded frames in order; VideoUnreadable if not even the first can be decoded."""
        index = 0
        while True:
            ok, bgr = self._capture.read()
            if not ok:
                break
            yield VideoFrame(index, 1000.0 * index / self.info.fps, bgr)
            index += 1
        if index == 0:
            raise VideoUnreadable(f"{self.info.name}: no frame could be decoded")

    def close(self) -> None:
        self._capture.release()


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class FrameClock:
    """The ``ts_ms`` of each frame, and the pace at which frames are sent.

    A camera frame is stamped when it is read, as a phone stamps it. A file's frames are
    stamped on the video's own timeline, anchored so that the stamps read as a live capture:
    with ``realtime`` the video starts now and frames are sent at its frame rate; without, it
    is sent as fast as possible and its timeline ends now (so no stamp is in the future,
    which the server would reject past a minute).
    """

    def __init__(
        self, info: VideoInfo, realtime: bool, now_ms: Callable[[], int] = wall_clock_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._live = info.live
        self._realtime = realtime and not info.live
        self._now_ms = now_ms
        self._sleep = sleep
        start = now_ms()
        self._anchor_ms = start if realtime else start - info.duration_ms

    def stamp(self, frame: VideoFrame) -> int:
        if self._live:
            return self._now_ms()
        return round(self._anchor_ms + frame.position_ms)

    def wait_for(self, frame: VideoFrame) -> None:
        """With ``realtime``, sleep until this frame's moment on the video's timeline."""
        if not self._realtime:
            return
        delay_ms = self._anchor_ms + frame.position_ms - self._now_ms()
        if delay_ms > 0:
            self._sleep(delay_ms / 1000.0)
