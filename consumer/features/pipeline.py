"""The feature pipeline: raw windows (N, T, 132) -> features (N, T, F), validity and reasons.

One code path for training, calibration, evaluation and serving. It also says which joint each
feature channel belongs to, so a reconstruction error can be attributed to joints.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from consumer.features import body, kinematic
from consumer.features.gait_channels import GAIT_CHANNEL_NAMES, GAIT_CHANNELS, gait_values
from consumer.features.gaps import fill_short_gaps, observed_mask
from consumer.features.spec import COORDINATES, FeatureSpec
from consumer.landmarks import FRAME_WIDTH, LANDMARK_INDEX, LANDMARK_NAMES, NUM_LANDMARKS

# Reasons a window is not scored (ScoreResult.invalid_reasons).
REASON_BAD_SHAPE = "bad_shape"
REASON_TOO_FEW_OBSERVED = "too_few_observed_landmarks"
REASON_GAP_TOO_LONG = "landmark_gap_too_long"
REASON_NO_BODY_SCALE = "no_body_scale"


@dataclass(frozen=True)
class FeatureBatch:
    features: np.ndarray  # (N, T, F) float32; zeros where not valid
    valid: np.ndarray  # (N,) bool
    reasons: tuple[str | None, ...]  # None where valid
    observed_fraction: np.ndarray  # (N,) float32: selected landmark cells seen before filling
    # (N,) bool: the window was mirrored with left and right swapped (body features only);
    # channels named "left_*" then hold the runner's right side: see real_joint_shares.
    mirrored: np.ndarray
    # (N,) int8: camera view index (consumer.gait.view.VIEWS) for kinematic features, which
    # are scaled and scored per view; 0 for the other normalisations.
    view: np.ndarray
    # (N, G) float64 gait metrics (spec.gait_channels; G = 0 otherwise), NaN where a window
    # does not show one and in every row that is not valid.
    gait: np.ndarray


class FeaturePipeline:
    """Computes the features a ``FeatureSpec`` describes; stateless and cheap to build."""

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self._selected = spec.joint_indices
        self._coords = tuple(COORDINATES.index(c) for c in spec.coordinates)
        self._kinematic = spec.normalization == "kinematic"
        if spec.normalization == "body":
            known = set(self._selected) | set(body.REFERENCE_JOINTS)
            self._angles = tuple(
                name for name, parts in body.JOINT_ANGLES.items()
                if spec.joint_angles and all(LANDMARK_INDEX[p] in known for p in parts)
            )
            self._segments = tuple(
                name for name, seg in body.SEGMENTS.items()
                if spec.segment_angles
                and all(LANDMARK_INDEX[p] in known for p in body.segment_landmarks(seg))
            )
            # Mirrored windows swap left and right: the counterparts must be gap-filled too.
            mirrored = {body.MIRROR[j] for j in known}
            self._checked = tuple(sorted(known | mirrored))
        else:
            self._angles, self._segments = (), ()
            self._checked = self._selected
        self._selected_in_checked = np.array([self._checked.index(j) for j in self._selected])
        self._smoothing = (
            body.smoothing_matrix(spec.window_size, spec.smoothing) if spec.smoothing > 1 else None
        )

    @cached_property
    def channel_names(self) -> tuple[str, ...]:
        if self._kinematic:
            return tuple(f"kinematic.{name}" for name in kinematic.CHANNEL_NAMES)
        names = [
            f"{LANDMARK_NAMES[j]}.{COORDINATES[c]}" for j in self._selected for c in self._coords
        ]
        names += [f"angle.{a}" for a in self._angles]
        names += [f"segment.{s}.{part}" for s in self._segments for part in ("sin", "cos")]
        return tuple(names)

    @cached_property
    def channel_joints(self) -> tuple[tuple[str, ...], ...]:
        """For each channel, the joints its reconstruction error is attributed to."""
        if self._kinematic:
            return tuple(kinematic.CHANNELS.values())
        joints: list[tuple[str, ...]] = [
            (LANDMARK_NAMES[j],) for j in self._selected for _ in self._coords
        ]
        joints += [(a,) for a in self._angles]  # joint angles are named after their vertex
        joints += [body.SEGMENTS[s].joints for s in self._segments for _ in range(2)]
        return tuple(joints)

    @cached_property
    def joint_names(self) -> tuple[str, ...]:
        """The joints errors are attributed to, in MediaPipe order (closed under mirroring)."""
        used = {name for names in self.channel_joints for name in names}
        if self.spec.normalization == "body":
            used |= {body.mirror_name(name) for name in used}
        return tuple(n for n in LANDMARK_NAMES if n in used)

    @cached_property
    def _mirror_columns(self) -> np.ndarray:
        position = {name: k for k, name in enumerate(self.joint_names)}
        return np.array([position.get(body.mirror_name(n), k)
                         for k, n in enumerate(self.joint_names)], dtype=np.int64)

    def real_joint_shares(self, shares: np.ndarray, mirrored: np.ndarray) -> np.ndarray:
        """(N, J) shares per real joint: undo the left/right swap of mirrored windows."""
        if not mirrored.any():
            return shares
        out = shares.copy()
        out[mirrored] = shares[mirrored][:, self._mirror_columns]
        return out

    @cached_property
    def attribution(self) -> np.ndarray:
        """(F, J) float32, rows summing to 1: how a channel's error splits over joints."""
        matrix = np.zeros((len(self.channel_names), len(self.joint_names)), dtype=np.float32)
        position = {name: k for k, name in enumerate(self.joint_names)}
        for c, names in enumerate(self.channel_joints):
            for name in names:
                matrix[c, position[name]] = 1.0 / len(names)
        return matrix

    @property
    def num_channels(self) -> int:
        return len(self.channel_names)

    @property
    def gait_channel_names(self) -> tuple[str, ...]:
        """The gait metrics scored beside the channels (``spec.gait_channels``)."""
        return tuple(f"gait.{n}" for n in GAIT_CHANNEL_NAMES) if self.spec.gait_channels else ()

    @property
    def runner_channels(self) -> int:
        """Channels a runner-relative model keeps levels of: the channels, then the gait
        channels (``RunnerLevels``)."""
        return self.num_channels + len(self.gait_channel_names)

    @property
    def num_scored_channels(self) -> int:
        """Channels the scoring sees: the reconstruction errors, and for runner_relative
        models each channel's level and spread change and each gait channel's change too
        (``runner_level.relative_inputs``)."""
        if not self.spec.runner_relative:
            return self.num_channels
        return 2 * self.num_channels + self.runner_channels

    @cached_property
    def gait_attribution(self) -> np.ndarray:
        """(G, J) float32, rows summing to 1: how a gait metric's change splits over joints."""
        position = {name: k for k, name in enumerate(self.joint_names)}
        names = GAIT_CHANNEL_NAMES if self.spec.gait_channels else ()
        matrix = np.zeros((len(names), len(self.joint_names)), dtype=np.float32)
        for c, name in enumerate(names):
            joints = GAIT_CHANNELS[name]
            for joint in joints:
                matrix[c, position[joint]] = 1.0 / len(joints)
        return matrix

    @property
    def view_count(self) -> int:
        """Camera views the features tell apart (scaling and scoring are fitted per view)."""
        return kinematic.VIEW_COUNT if self._kinematic else 1

    def transform_in_chunks(self, windows: np.ndarray, chunk: int = 4096) -> FeatureBatch:
        """The features of many windows (training sets), ``chunk`` windows at a time so that
        the intermediate arrays stay bounded."""
        parts = [self.transform(windows[i:i + chunk]) for i in range(0, len(windows), chunk)]
        if not parts:
            return self._all_invalid(0, REASON_BAD_SHAPE)
        return FeatureBatch(
            np.concatenate([p.features for p in parts]),
            np.concatenate([p.valid for p in parts]),
            tuple(r for p in parts for r in p.reasons),
            np.concatenate([p.observed_fraction for p in parts]),
            np.concatenate([p.mirrored for p in parts]),
            np.concatenate([p.view for p in parts]),
            np.concatenate([p.gait for p in parts]),
        )

    def transform(self, windows: np.ndarray) -> FeatureBatch:
        """Features of raw windows (N, window_size, 132); never raises on bad values."""
        windows = np.asarray(windows, dtype=np.float32)
        size = self.spec.window_size
        if windows.ndim != 3 or windows.shape[1:] != (size, FRAME_WIDTH):
            n = windows.shape[0] if windows.ndim >= 1 else 0
            return self._all_invalid(n, REASON_BAD_SHAPE)
        n = windows.shape[0]
        if n == 0:
            return self._all_invalid(0, REASON_BAD_SHAPE)
        # Landmark-major (33, 4, N, T): every step below runs over contiguous batch rows.
        landmarks = np.ascontiguousarray(windows.reshape(n, size, NUM_LANDMARKS, 4).transpose(
            2, 3, 0, 1
        ))
        checked = landmarks[list(self._checked)]
        width = 4 if self.spec.normalization == "raw" else 3
        observed = observed_mask(checked[:, :width], checked[:, 3], self.spec.visibility_threshold)
        filled = fill_short_gaps(checked[:, :width], observed, self.spec.max_gap)
        observed_fraction = observed[self._selected_in_checked].mean(axis=(0, 2))
        reasons = np.full(n, None, dtype=object)
        # Low-visibility values beyond max_gap stay as tracked (a pose tracker always
        # estimates every landmark; hidden far-side limbs are common): only values that are
        # missing outright reject a window, or too few observed cells overall.
        missing = ~np.isfinite(filled.values).all(axis=(0, 1, 3))
        reasons[missing] = REASON_GAP_TOO_LONG
        reasons[observed_fraction < self.spec.min_valid_fraction] = REASON_TOO_FEW_OBSERVED
        mirrored = np.zeros(n, dtype=bool)
        view = np.zeros(n, dtype=np.int8)
        if self._kinematic:
            channels = self._kinematic_channels(landmarks, filled.values, reasons, view)
        elif self.spec.normalization == "body":
            channels = self._body_channels(landmarks, filled.values, reasons, mirrored)
        else:
            selected = filled.values[self._selected_in_checked][:, list(self._coords)]
            channels = selected.reshape(-1, n, size)
        valid = np.equal(reasons, None).astype(bool)
        valid &= np.isfinite(channels).all(axis=(0, 2))
        reasons[~valid & np.equal(reasons, None)] = REASON_GAP_TOO_LONG
        channels = np.where(valid[:, None], channels, np.float32(0.0))
        features = np.ascontiguousarray(channels.transpose(1, 2, 0), dtype=np.float32)
        gait = np.full((n, len(self.gait_channel_names)), np.nan)
        if self.spec.gait_channels and valid.any():
            gait[valid] = gait_values(windows[valid])
        return FeatureBatch(
            features, valid, tuple(reasons.tolist()), observed_fraction.astype(np.float32),
            mirrored & valid, np.where(valid, view, 0).astype(np.int8), gait,
        )

    def _body_channels(
        self, landmarks: np.ndarray, filled: np.ndarray, reasons: np.ndarray,
        mirrored: np.ndarray,
    ) -> np.ndarray:
        """(F, N, T) body-normalised channels; ``reasons`` and ``mirrored`` set in place."""
        n, t = landmarks.shape[2:]
        # All 33 landmarks as tracked (the facing test reads the feet even when they are not
        # selected), with the checked joints replaced by their gap-filled values.
        points = landmarks[:, :3].copy()
        points[list(self._checked)] = filled[:, :3]
        frame = body.body_frame(points)
        sizes = np.stack([frame.width, frame.height])
        no_scale = ~(np.isfinite(sizes) & (sizes > body.MIN_BODY_SIZE)).all(axis=0)
        reasons[no_scale & np.equal(reasons, None)] = REASON_NO_BODY_SCALE
        mirrored[:] = frame.direction < 0
        if mirrored.any():
            points[:, :, mirrored] = points[list(body.MIRROR)][:, :, mirrored]
        normalised = body.normalise_positions(points, frame)
        parts = [normalised[list(self._selected)][:, list(self._coords)].reshape(-1, n, t)]
        if self._angles:
            parts.append(body.joint_angles(normalised, self._angles) * np.float32(1.0 / np.pi))
        if self._segments:
            parts.append(body.segment_angles(normalised, self._segments).reshape(-1, n, t))
        return body.smooth_time(np.concatenate(parts, axis=0), self._smoothing)

    def _kinematic_channels(
        self, landmarks: np.ndarray, filled: np.ndarray, reasons: np.ndarray, view: np.ndarray
    ) -> np.ndarray:
        """(F, N, T) kinematic channels; ``reasons`` and ``view`` set in place."""
        points = landmarks.copy()
        points[list(self._checked), :3] = filled[:, :3]
        with np.errstate(invalid="ignore", divide="ignore"):
            frame = kinematic.kinematic_frame(kinematic.pose_of(points))
            channels = kinematic.kinematic_channels(frame)
        no_scale = ~(np.isfinite(frame.leg) & (frame.leg > body.MIN_BODY_SIZE))
        reasons[no_scale & np.equal(reasons, None)] = REASON_NO_BODY_SCALE
        view[:] = frame.view
        return body.smooth_time(channels, self._smoothing)

    def _all_invalid(self, n: int, reason: str) -> FeatureBatch:
        return FeatureBatch(
            np.zeros((n, self.spec.window_size, self.num_channels), dtype=np.float32),
            np.zeros(n, dtype=bool),
            (reason,) * n,
            np.zeros(n, dtype=np.float32),
            np.zeros(n, dtype=bool),
            np.zeros(n, dtype=np.int8),
            np.full((n, len(self.gait_channel_names)), np.nan),
        )
