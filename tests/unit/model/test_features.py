"""The feature pipeline: invariances, missing-data rules, channel bookkeeping."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from consumer.features import (
    REASON_BAD_SHAPE,
    REASON_GAP_TOO_LONG,
    REASON_TOO_FEW_OBSERVED,
    FeaturePipeline,
    FeatureSpec,
)
from consumer.features.body import MIRROR
from consumer.landmarks import LANDMARK_INDEX, LANDMARK_NAMES

BODY = FeatureSpec.body()
KINEMATIC = FeatureSpec(normalization="kinematic")
# The rules every scored normalisation must keep (raw has its own tests below).
NORMALISED = pytest.mark.parametrize("spec", [BODY, KINEMATIC], ids=["body", "kinematic"])


def _move(windows: np.ndarray, dx: float = 0.0, dy: float = 0.0, scale: float = 1.0,
          mirror: bool = False, aspect: float = 1.0,
          about: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """Move the camera: shift, zoom, mirror, or change the picture's width/height ratio."""
    out = windows.reshape(*windows.shape[:2], 33, 4).copy()
    out[..., 0] = about[0] + (out[..., 0] - about[0]) / aspect
    out[..., 2] /= aspect  # x and z are both in units of the image width
    out[..., 0] = about[0] + scale * (out[..., 0] - about[0]) + dx
    out[..., 1] = about[1] + scale * (out[..., 1] - about[1]) + dy
    out[..., 2] *= scale  # MediaPipe's z is on x's scale
    if mirror:
        # The same runner running the other way, filmed from their other side: the scene's
        # mirror image, in which the left limbs play the right ones' part.
        out[..., 0] = 1.0 - out[..., 0]
        out = out[:, :, list(MIRROR), :]
    return out.reshape(windows.shape)


@pytest.mark.parametrize(
    "change",
    [
        {"dx": 0.2, "dy": -0.1},
        {"scale": 0.5},
        {"scale": 1.7, "dx": -0.05},
        {"mirror": True},
        {"mirror": True, "scale": 0.6, "dy": 0.1},
        {"aspect": 0.5625},
        {"aspect": 1.78, "mirror": True},
    ],
)
@NORMALISED
def test_features_ignore_camera_position_scale_aspect_and_direction(side_windows, change, spec):
    pipeline = FeaturePipeline(spec)
    before = pipeline.transform(side_windows)
    after = pipeline.transform(_move(side_windows, **change))
    assert before.valid.all() and after.valid.all()
    np.testing.assert_allclose(after.features, before.features, atol=2e-4)


def test_body_features_change_with_posture(runner, cut):
    pipeline = FeaturePipeline(BODY)
    upright = pipeline.transform(cut(runner(60, lean=0.1))).features
    leaning = pipeline.transform(cut(runner(60, lean=0.5))).features
    assert np.abs(upright - leaning).mean() > 0.05


def test_kinematic_trunk_lean_is_the_sine_of_the_lean(runner, cut):
    """Kinematic channels are the fault's own measure: leaning more moves the trunk channel by
    the change in sin(lean), and leaves the knees alone."""
    pipeline = FeaturePipeline(KINEMATIC)
    upright = pipeline.transform(cut(runner(60, lean=0.1))).features
    leaning = pipeline.transform(cut(runner(60, lean=0.5))).features
    trunk = pipeline.channel_names.index("kinematic.trunk_lean")
    knee = pipeline.channel_names.index("kinematic.knee_flexion_more")
    change = (leaning - upright).mean(axis=(0, 1))
    assert change[trunk] == pytest.approx(np.sin(0.5) - np.sin(0.1), abs=0.03)
    assert abs(change[knee]) < 0.01


def test_vertical_oscillation_is_kept_relative_to_the_window(runner, cut):
    """The hip's bounce survives centring: a per-frame hip origin would erase it."""
    pipeline = FeaturePipeline(FeatureSpec(joints=("left_hip", "right_hip"), smoothing=1,
                                           normalization="body"))
    features = pipeline.transform(cut(runner(60))).features
    hip_y = features[:, :, pipeline.channel_names.index("left_hip.y")]
    assert hip_y.std(axis=1).mean() > 0.01
    kinematic = FeaturePipeline(FeatureSpec(smoothing=1))
    pelvis = kinematic.transform(cut(runner(60))).features
    height = pelvis[:, :, kinematic.channel_names.index("kinematic.pelvis_height")]
    assert height.std(axis=1).mean() > 0.01


def test_raw_features_are_the_values_as_they_come(side_windows):
    pipeline = FeaturePipeline(FeatureSpec.raw())
    batch = pipeline.transform(side_windows)
    assert batch.valid.all()
    np.testing.assert_array_equal(batch.features, side_windows)


def test_raw_joint_selection_keeps_all_four_values(side_windows):
    pipeline = FeaturePipeline(FeatureSpec.raw(joints="lower_body"))
    batch = pipeline.transform(side_windows)
    knee = LANDMARK_INDEX["left_knee"]
    column = pipeline.channel_names.index("left_knee.visibility")
    np.testing.assert_array_equal(batch.features[..., column], side_windows[..., 4 * knee + 3])
    assert batch.features.shape[-1] == 6 * 4


def test_short_gap_is_linearly_interpolated(side_windows):
    spec = FeatureSpec(joints=("left_knee",), normalization="body", max_gap=4, smoothing=1)
    pipeline = FeaturePipeline(spec)
    clean = pipeline.transform(side_windows).features
    damaged = side_windows.copy().reshape(-1, 30, 33, 4)
    knee = LANDMARK_INDEX["left_knee"]
    damaged[:, 10:13, knee, 3] = 0.1  # low visibility: not trusted
    damaged[:, 10:13, knee, :2] = 5.0  # and garbage values that must not leak through
    batch = pipeline.transform(damaged.reshape(side_windows.shape))
    assert batch.valid.all()
    x = pipeline.channel_names.index("left_knee.x")
    expected = np.linspace(clean[:, 9, x], clean[:, 13, x], 5, axis=1)[:, 1:4]
    np.testing.assert_allclose(batch.features[:, 10:13, x], expected, atol=1e-5)
    np.testing.assert_allclose(batch.features[:, :10], clean[:, :10], atol=1e-6)
    assert np.all(batch.observed_fraction < 1.0)


def test_gap_at_the_window_edge_is_held(side_windows):
    spec = FeatureSpec(joints=("left_wrist",), normalization="raw", joint_angles=False,
                       segment_angles=False, visibility_threshold=0.5, smoothing=1)
    pipeline = FeaturePipeline(spec)
    damaged = side_windows.copy().reshape(-1, 30, 33, 4)
    damaged[:, :3, LANDMARK_INDEX["left_wrist"], 3] = 0.0
    damaged[:, :3, LANDMARK_INDEX["left_wrist"], :2] = -1.0
    batch = pipeline.transform(damaged.reshape(side_windows.shape))
    assert batch.valid.all()
    np.testing.assert_array_equal(batch.features[:, 0], batch.features[:, 3])


@NORMALISED
def test_long_low_visibility_run_keeps_the_tracked_values(side_windows, spec):
    """A hidden far-side limb for a whole window is common: its estimates are still used."""
    pipeline = FeaturePipeline(replace(spec, max_gap=5))
    damaged = side_windows.copy().reshape(-1, 30, 33, 4)
    damaged[0, 5:12, LANDMARK_INDEX["right_ankle"], 3] = 0.2
    batch = pipeline.transform(damaged.reshape(side_windows.shape))
    assert batch.valid.all()
    # Kinematic geometry weighs landmarks by visibility (the gait code's view and scale
    # estimates), so the values move a little; they must not be dropped or interpolated.
    np.testing.assert_allclose(batch.features, pipeline.transform(side_windows).features,
                               atol=1e-3 if spec.normalization == "kinematic" else 1e-7)


@NORMALISED
def test_long_run_of_missing_values_rejects_the_window(side_windows, spec):
    pipeline = FeaturePipeline(replace(spec, max_gap=5))
    damaged = side_windows.copy().reshape(-1, 30, 33, 4)
    damaged[0, 5:12, LANDMARK_INDEX["right_ankle"], :] = np.nan
    damaged[1, 5:10, LANDMARK_INDEX["right_ankle"], :] = np.nan  # 5 frames: filled
    batch = pipeline.transform(damaged.reshape(side_windows.shape))
    assert batch.reasons[0] == REASON_GAP_TOO_LONG and not batch.valid[0]
    assert batch.valid[1:].all()
    assert np.all(batch.features[0] == 0.0)


def test_missing_reference_joint_rejects_even_when_not_selected(side_windows):
    spec = FeatureSpec(joints="lower_body", normalization="body")
    damaged = side_windows.copy().reshape(-1, 30, 33, 4)
    damaged[2, :, LANDMARK_INDEX["left_shoulder"], :] = np.nan  # defines the body scale
    batch = FeaturePipeline(spec).transform(damaged.reshape(side_windows.shape))
    assert not batch.valid[2] and batch.valid[[0, 1, 3]].all()


@NORMALISED
def test_too_few_observed_landmarks_rejects(side_windows, spec):
    spec = replace(spec, min_valid_fraction=0.95, max_gap=30)
    damaged = side_windows.copy().reshape(-1, 30, 33, 4)
    for name in ("left_wrist", "right_wrist", "left_elbow"):
        damaged[3, ::2, LANDMARK_INDEX[name], 3] = 0.0  # every other frame: fillable gaps
    batch = FeaturePipeline(spec).transform(damaged.reshape(side_windows.shape))
    assert batch.reasons[3] == REASON_TOO_FEW_OBSERVED
    assert batch.valid.sum() == len(side_windows) - 1


@NORMALISED
def test_non_finite_values_are_never_scored(side_windows, spec):
    damaged = side_windows.copy()
    damaged[4, 7, :] = np.nan
    damaged[5, :, :8] = np.inf
    batch = FeaturePipeline(spec).transform(damaged)
    assert not batch.valid[4] or np.isfinite(batch.features[4]).all()
    assert not batch.valid[5]
    assert np.isfinite(batch.features).all()


@pytest.mark.parametrize("shape", [(3, 29, 132), (3, 30, 131), (30, 132)])
@NORMALISED
def test_wrong_shape_is_rejected_not_raised(shape, spec):
    batch = FeaturePipeline(spec).transform(np.zeros(shape, np.float32))
    assert not batch.valid.any()
    assert set(batch.reasons) <= {REASON_BAD_SHAPE}


@NORMALISED
def test_empty_batch(spec):
    batch = FeaturePipeline(spec).transform(np.zeros((0, 30, 132), np.float32))
    assert batch.features.shape == (0, 30, FeaturePipeline(spec).num_channels)


@pytest.mark.parametrize(
    "spec",
    [FeatureSpec(), BODY, FeatureSpec.raw(), FeatureSpec.body(joints="lower_body"),
     FeatureSpec(joints=("left_knee", "nose"), normalization="body",
                 coordinates=("x", "y", "z"))],
)
def test_attribution_maps_every_channel_to_joints(spec):
    pipeline = FeaturePipeline(spec)
    matrix = pipeline.attribution
    assert matrix.shape == (pipeline.num_channels, len(pipeline.joint_names))
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    assert set(pipeline.joint_names) <= set(LANDMARK_NAMES)
    totals = matrix.sum(axis=0)
    carrying = {n for n, total in zip(pipeline.joint_names, totals, strict=True) if total > 0}
    assert carrying == {n for names in pipeline.channel_joints for n in names}


def test_spec_round_trips_through_json():
    for spec in (FeatureSpec(),
                 FeatureSpec.body(("left_knee", "right_knee"), max_gap=3, segment_angles=False)):
        again = FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
        assert again == spec
    assert FeatureSpec.from_dict(FeatureSpec.raw().to_dict()) == FeatureSpec.raw()


@pytest.mark.parametrize(
    "bad",
    [{"joints": "arms"}, {"joints": ["left_knee", "tail"]}, {"normalization": "pixels"},
     {"coordinates": ["w"]}, {"max_gap": -1}, {"colour": "red"},
     {"normalization": "raw", "joint_angles": True},
     # kinematic channels read the whole running set and carry their own angles
     {"normalization": "kinematic", "joints": "legs"},
     {"normalization": "kinematic", "joint_angles": True},
     # gait channels are read against the runner, from the kinematic pipeline's windows
     {"gait_channels": True},
     {"normalization": "body", "runner_relative": True, "gait_channels": True}],
)
def test_bad_spec_values_raise_value_error(bad):
    with pytest.raises(ValueError):
        FeatureSpec.from_dict({**FeatureSpec().to_dict(), **bad})


def test_gait_channels_are_each_windows_gait_metrics_nan_where_not_valid(side_windows):
    spec = FeatureSpec(runner_relative=True, gait_channels=True)
    pipeline = FeaturePipeline(spec)
    windows = side_windows.copy()
    windows[1] = np.nan  # rejected: its gait values are NaN too
    batch = pipeline.transform(windows)
    assert batch.gait.shape == (len(windows), len(pipeline.gait_channel_names))
    assert np.isnan(batch.gait[1]).all() and not batch.valid[1]
    cadence = pipeline.gait_channel_names.index("gait.cadence_spm")
    assert np.isfinite(batch.gait[batch.valid, cadence]).all()
    assert pipeline.gait_attribution.shape == (len(pipeline.gait_channel_names),
                                               len(pipeline.joint_names))
    assert FeaturePipeline(FeatureSpec()).transform(side_windows).gait.shape[1] == 0


def test_mirrored_windows_attribute_errors_to_the_real_side(side_windows):
    pipeline = FeaturePipeline(BODY)
    mirrored = pipeline.transform(_move(side_windows, mirror=True))
    assert mirrored.mirrored.all() and not pipeline.transform(side_windows).mirrored.any()
    names = pipeline.joint_names
    shares = np.zeros((len(side_windows), len(names)), np.float32)
    shares[:, names.index("left_knee")] = 1.0  # the canonical left knee carries the error
    real = pipeline.real_joint_shares(shares, mirrored.mirrored)
    assert (real[:, names.index("right_knee")] == 1.0).all()
