"""A tiny parametric stick-figure runner for unit tests (not a simulator: no camera model).

Positions are built in body units (torso length 1, y up, facing +x) and placed in the image
with a scale, an offset and a facing sign, so tests can check what the features ignore.
"""

from __future__ import annotations

import numpy as np
import pytest

from consumer.landmarks import LANDMARK_INDEX, NUM_LANDMARKS


def _polar(angle: np.ndarray, length: float) -> np.ndarray:
    """Vector of ``length`` at ``angle`` from straight down, positive forward (body frame)."""
    return np.stack([np.sin(angle) * length, -np.cos(angle) * length], axis=-1)


def runner_frames(
    frames: int = 120,
    cadence: float = 170.0,
    scale: float = 0.25,
    offset: tuple[float, float] = (0.5, 0.45),
    facing: float = 1.0,
    lean: float = 0.1,
    stride: float = 0.5,
    start_phase: float = 0.0,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """(frames, 132) landmarks of a running stick figure seen from the side."""
    t = np.arange(frames) / 30.0
    phase = start_phase + 2 * np.pi * (cadence / 120.0) * t
    body = np.zeros((frames, NUM_LANDMARKS, 2))
    idx = LANDMARK_INDEX
    hip = np.stack([np.zeros_like(t), 0.05 * np.cos(2 * phase)], axis=-1)
    shoulder = hip + np.array([np.sin(lean), np.cos(lean)])
    for side, sign in (("left", 0.0), ("right", np.pi)):
        thigh = stride * np.sin(phase + sign)
        knee_bend = 0.3 + 0.6 * np.clip(np.sin(phase + sign - 1.0), 0, None)
        knee = hip + _polar(thigh, 0.9)
        ankle = knee + _polar(thigh - knee_bend, 0.9)
        body[:, idx[f"{side}_hip"]] = hip
        body[:, idx[f"{side}_knee"]] = knee
        body[:, idx[f"{side}_ankle"]] = ankle
        body[:, idx[f"{side}_heel"]] = ankle + np.array([-0.1, -0.06])
        body[:, idx[f"{side}_foot_index"]] = ankle + np.array([0.22, -0.08])
        upper = -0.5 * np.sin(phase + sign)
        elbow = shoulder + _polar(upper, 0.6)
        wrist = elbow + _polar(upper + 1.5, 0.5)
        body[:, idx[f"{side}_shoulder"]] = shoulder
        body[:, idx[f"{side}_elbow"]] = elbow
        body[:, idx[f"{side}_wrist"]] = wrist
        for finger in ("pinky", "index", "thumb"):
            body[:, idx[f"{side}_{finger}"]] = wrist + np.array([0.05, -0.05])
    head = shoulder + np.array([0.15, 0.4])
    for name in ("nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
                 "right_eye", "right_eye_outer", "mouth_left", "mouth_right"):
        body[:, idx[name]] = head
    body[:, idx["left_ear"]] = head - np.array([0.12, 0.0])
    body[:, idx["right_ear"]] = head - np.array([0.12, 0.0])
    rng = np.random.default_rng(seed)
    body += rng.normal(0.0, noise, body.shape)
    landmarks = np.zeros((frames, NUM_LANDMARKS, 4))
    landmarks[..., 0] = offset[0] + facing * scale * body[..., 0]
    landmarks[..., 1] = offset[1] - scale * body[..., 1]
    # Depth (on x's scale, as MediaPipe's z): the left side nearer the camera than the right.
    lateral = np.array([0.25 if n.startswith("left") else -0.25 if n.startswith("right") else 0.0
                        for n in LANDMARK_INDEX])
    landmarks[..., 2] = scale * lateral
    landmarks[..., 3] = 0.95
    return landmarks.reshape(frames, -1).astype(np.float32)


def windows_of(frames: np.ndarray, size: int = 30, hop: int = 5) -> np.ndarray:
    starts = range(0, len(frames) - size + 1, hop)
    return np.stack([frames[s : s + size] for s in starts]).astype(np.float32)


@pytest.fixture(scope="session")
def runner():
    """The stick-figure generator: ``runner(frames=120, **params) -> (frames, 132)``."""
    return runner_frames


@pytest.fixture
def side_windows() -> np.ndarray:
    """Twelve 30-frame windows of one normal side-view runner."""
    return windows_of(runner_frames(90, noise=0.002), hop=5)


@pytest.fixture(scope="session")
def cut():
    """``cut(frames, size=30, hop=5) -> (N, size, 132)`` windows of a frame array."""
    return windows_of
