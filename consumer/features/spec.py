"""``FeatureSpec``: what the feature pipeline computes, as plain JSON-serialisable data.

The spec is written into every model's manifest, so a model is always served with exactly the
features it was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from consumer.gait.pose import MIN_FRAMES as GAIT_MIN_FRAMES
from consumer.landmarks import JOINT_SETS, LANDMARK_NAMES, resolve_joints

Normalization = Literal["raw", "body", "kinematic"]
NORMALIZATIONS: tuple[str, ...] = ("raw", "body", "kinematic")
COORDINATES: tuple[str, ...] = ("x", "y", "z", "visibility")


@dataclass(frozen=True)
class FeatureSpec:
    """How raw windows (N, size, 132) become model features (N, size, F).

    ``normalization``:
      * ``kinematic`` (default): the quantities running-form faults are defined by, per frame,
        in the runner's frame of reference (``consumer.features.kinematic``): trunk, neck,
        knee, thigh, arm and foot angles, heel and wrist positions, pelvis height, knee,
        foot and wrist offsets from the midline and pelvic obliquity, in leg lengths, each
        pair of sides entering symmetrically. The camera view is detected per window and
        conditions the scaling and scoring. ``joints`` must include the ``running`` set
        (the landmarks the channels read); ``coordinates`` and the angle flags do not apply.
      * ``body``: body-centred positions: relative to a per-window linear fit of the hip
        midpoint (camera position and drift removed; vertical oscillation kept relative to the
        window), divided by the window's torso length (body size and camera distance removed),
        mirrored so the runner always faces +x (running direction removed), with optional
        joint and segment angles.
      * ``raw``: the seed recipe: the selected landmarks' values as they come (image
        coordinates, depth and visibility), no centring or scaling.
    """

    joints: str | tuple[str, ...] = "running"
    normalization: Normalization = "kinematic"
    # Values per joint (body and raw): body mode uses image-plane x, y by default (MediaPipe's
    # z is noisy and visibility describes the camera, not the runner).
    coordinates: tuple[str, ...] = ("x", "y")
    joint_angles: bool = False  # body mode: knee, hip, elbow, ankle angles
    segment_angles: bool = False  # body mode: segments' sine and cosine from vertical
    # A landmark value counts as observed when visibility >= this (0 disables the check).
    visibility_threshold: float = 0.5
    # Runs of unobserved frames up to this long are linearly interpolated; longer runs keep
    # the tracker's estimates when they are finite, and reject the window when they are not.
    max_gap: int = 6
    # Reject a window when fewer than this fraction of its selected landmark cells are observed.
    min_valid_fraction: float = 0.5
    # Centred moving average over this many frames (odd; 1 = off) on body channels: tracker
    # jitter is per-runner noise, not form, and would otherwise dominate the error.
    smoothing: int = 5
    window_size: int = 30
    # Read each window against the runner's own usual channel levels (runner_level.py): the
    # model needs the runner's earlier windows, which the consumer keeps per session.
    runner_relative: bool = False
    # runner_relative kinematic models: also score each gait metric's change against the
    # runner's usual value (gait_channels.py).
    gait_channels: bool = False

    def __post_init__(self) -> None:
        joints = self.joints if isinstance(self.joints, str) else tuple(self.joints)
        object.__setattr__(self, "joints", joints)
        object.__setattr__(self, "coordinates", tuple(self.coordinates))
        resolve_joints(joints)  # raises ValueError naming the unknown set or landmarks
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {', '.join(NORMALIZATIONS)}, "
                f"got {self.normalization!r}"
            )
        bad = [c for c in self.coordinates if c not in COORDINATES]
        if bad or not self.coordinates:
            raise ValueError(f"coordinates must be a non-empty subset of {COORDINATES}, got {bad}")
        if self.normalization == "body" and "visibility" in self.coordinates:
            raise ValueError("body normalisation does not take visibility as a coordinate")
        if not 0.0 <= self.visibility_threshold <= 1.0:
            raise ValueError("visibility_threshold must be in 0..1")
        if self.max_gap < 0:
            raise ValueError("max_gap must be >= 0")
        if not 0.0 <= self.min_valid_fraction <= 1.0:
            raise ValueError("min_valid_fraction must be in 0..1")
        if self.window_size < 2:
            raise ValueError("window_size must be >= 2")
        if self.smoothing < 1 or self.smoothing % 2 == 0 or self.smoothing > self.window_size:
            raise ValueError("smoothing must be an odd number of frames, 1 up to window_size")
        if self.normalization == "raw" and self.smoothing != 1:
            raise ValueError("smoothing applies to body features only")
        if self.normalization != "body" and (self.joint_angles or self.segment_angles):
            raise ValueError("angle flags apply to body normalisation (normalization='body'); "
                             "kinematic features have their own angles")
        if self.runner_relative and self.normalization == "raw":
            raise ValueError("runner_relative applies to kinematic and body features")
        if self.gait_channels and not (self.runner_relative
                                       and self.normalization == "kinematic"):
            raise ValueError("gait_channels apply to runner_relative kinematic features")
        if self.gait_channels and self.window_size < GAIT_MIN_FRAMES:
            raise ValueError(f"gait_channels need windows of >= {GAIT_MIN_FRAMES} frames")
        if self.normalization == "kinematic":
            missing = set(resolve_joints("running")) - set(resolve_joints(joints))
            if missing:
                raise ValueError("kinematic features read every landmark of the 'running' set; "
                                 "choose joints that include it")

    @classmethod
    def body(cls, joints: str | tuple[str, ...] = "running", **overrides: Any) -> FeatureSpec:
        """Body-centred positions with joint and segment angles (the default before the
        kinematic channels)."""
        values: dict[str, Any] = {"joints": joints, "normalization": "body",
                                  "joint_angles": True, "segment_angles": True}
        return cls(**{**values, **overrides})

    @classmethod
    def raw(cls, joints: str | tuple[str, ...] = "all", window_size: int = 30) -> FeatureSpec:
        """The seed notebook's features: every value of the selected landmarks, as they come."""
        return cls(
            joints=joints,
            normalization="raw",
            coordinates=COORDINATES,
            joint_angles=False,
            segment_angles=False,
            visibility_threshold=0.0,
            max_gap=0,
            min_valid_fraction=0.0,
            smoothing=1,
            window_size=window_size,
        )

    @property
    def joint_indices(self) -> tuple[int, ...]:
        return resolve_joints(self.joints)

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(LANDMARK_NAMES[i] for i in self.joint_indices)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["joints"] = self.joints if isinstance(self.joints, str) else list(self.joints)
        data["coordinates"] = list(self.coordinates)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Build from ``to_dict`` output; raises ValueError on unknown keys or bad values."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown feature spec keys: {', '.join(unknown)}")
        values = dict(data)
        if isinstance(values.get("joints"), list):
            values["joints"] = tuple(values["joints"])
        if "coordinates" in values:
            values["coordinates"] = tuple(values["coordinates"])
        return cls(**values)


def parse_joints(text: str) -> str | tuple[str, ...]:
    """A ``--joints`` argument: a set name (``lower_body``) or comma-separated landmark names."""
    text = text.strip()
    if text in JOINT_SETS:
        return text
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    resolve_joints(names)
    return names
