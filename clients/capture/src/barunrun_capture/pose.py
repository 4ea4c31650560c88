"""MediaPipe Pose (the legacy ``solutions.pose`` API of mediapipe 0.10.14), one image at a time.

mediapipe 0.10.14 ships the detector and the "full" landmark model (complexity 1) in its
wheel; for complexity 0 ("lite") and 2 ("heavy") it downloads the model on first use. The
client never lets it download (a phone app ships its models): a model that is not installed
is a clear error instead.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from barunrun_capture.errors import ModelMissing
from barunrun_capture.landmarks import NUM_LANDMARKS

log = logging.getLogger(__name__)

LANDMARK_MODELS = {
    0: "modules/pose_landmark/pose_landmark_lite.tflite",
    1: "modules/pose_landmark/pose_landmark_full.tflite",
    2: "modules/pose_landmark/pose_landmark_heavy.tflite",
}
DETECTOR_MODEL = "modules/pose_detection/pose_detection.tflite"


def mediapipe_root() -> Path:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or spec.origin is None:
        raise ModelMissing(
            "mediapipe is not installed in this environment: run scripts/setup-capture"
        )
    return Path(spec.origin).parent


def check_models(complexity: int) -> Path:
    """The landmark model's path; ModelMissing (one line) if it or the detector is absent."""
    if complexity not in LANDMARK_MODELS:
        raise ModelMissing(f"model complexity {complexity}: MediaPipe Pose has 0, 1 and 2")
    root = mediapipe_root()
    for relative in (DETECTOR_MODEL, LANDMARK_MODELS[complexity]):
        path = root / relative
        if not path.is_file():
            hint = (
                "mediapipe 0.10.14 ships only complexity 1; use --model-complexity 1 or put "
                "the file there" if relative != DETECTOR_MODEL
                else "reinstall mediapipe==0.10.14 (scripts/setup-capture)"
            )
            raise ModelMissing(f"MediaPipe model {path.name} is missing at {path}: {hint}")
    return root / LANDMARK_MODELS[complexity]


class PoseEstimator:
    """One person's 33 landmarks per image (normalised to that image), or None.

    In video mode MediaPipe tracks between frames (and smooths), so feed the frames of one
    video in order, to one estimator.
    """

    def __init__(
        self, complexity: int = 1, min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        check_models(complexity)
        # mediapipe logs through absl/glog to stderr on import; that is its business.
        from mediapipe.python.solutions import pose as mp_pose  # noqa: PLC0415 - slow import

        self._pose: Any = mp_pose.Pose(
            static_image_mode=False,
            model_complexity=complexity,
            smooth_landmarks=True,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def estimate(self, rgb: np.ndarray) -> np.ndarray | None:
        """(33, 4) x, y, z, visibility for an RGB uint8 image, or None if nobody is found."""
        result = self._pose.process(rgb)
        if result.pose_landmarks is None:
            return None
        found = result.pose_landmarks.landmark
        out = np.array([[p.x, p.y, p.z, p.visibility] for p in found], dtype=np.float64)
        if out.shape != (NUM_LANDMARKS, 4) or not np.isfinite(out).all():
            log.warning("MediaPipe returned %s landmarks with non-finite values; skipped",
                        out.shape[0])
            return None
        return out

    def close(self) -> None:
        self._pose.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
