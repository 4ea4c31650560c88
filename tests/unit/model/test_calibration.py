"""Threshold calibration, error attribution and detection metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from consumer.model.calibration import Threshold, calibrate_threshold, joint_shares, top_joints
from consumer.training.metrics import rate_above, roc_auc, roc_curve


def test_mean_std_threshold_is_mean_plus_k_std():
    scores = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    threshold = calibrate_threshold(scores, "mean_std", k=2.0, source="test")
    assert threshold.value == pytest.approx(3.0 + 2.0 * np.sqrt(2.0))
    assert threshold.method == "mean_std" and threshold.k == 2.0 and threshold.quantile is None
    assert threshold.n_windows == 5 and threshold.score_mean == pytest.approx(3.0)
    assert threshold.source == "test"


def test_quantile_threshold_gives_the_target_false_alarm_rate():
    scores = np.random.default_rng(0).lognormal(size=20000)
    threshold = calibrate_threshold(scores, "quantile", quantile=0.95)
    assert rate_above(scores, threshold.value) == pytest.approx(0.05, abs=0.002)
    fresh = np.random.default_rng(1).lognormal(size=20000)
    assert rate_above(fresh, threshold.value) == pytest.approx(0.05, abs=0.01)


def test_non_finite_scores_are_ignored():
    threshold = calibrate_threshold(np.array([1.0, np.nan, 1.0, np.inf, 3.0]), k=1.0)
    assert threshold.n_windows == 3


@pytest.mark.parametrize(
    "kwargs",
    [{"scores": np.array([1.0])}, {"scores": np.ones(5), "k": 0.0},
     {"scores": np.ones(5), "method": "quantile", "quantile": 1.0},
     {"scores": np.ones(5), "method": "median"}],
)
def test_bad_calibration_input_raises(kwargs):
    with pytest.raises(ValueError):
        calibrate_threshold(**kwargs)


def test_threshold_round_trips_and_rejects_bad_entries():
    threshold = calibrate_threshold(np.arange(1.0, 50.0), "quantile", quantile=0.9)
    assert Threshold.from_dict(json.loads(json.dumps(threshold.to_dict()))) == threshold
    for broken in ({"value": -1.0}, {"method": "magic"}, {"value": "high"}):
        with pytest.raises(ValueError):
            Threshold.from_dict({**threshold.to_dict(), **broken})
    entry = threshold.to_dict()
    del entry["score_std"]
    with pytest.raises(ValueError):
        Threshold.from_dict(entry)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 8)),
              elements=st.floats(0, 1e3, width=32)))
def test_joint_shares_sum_to_one(errors):
    channels = errors.shape[1]
    rng = np.random.default_rng(channels)
    attribution = rng.uniform(size=(channels, 3)).astype(np.float32)
    attribution /= attribution.sum(axis=1, keepdims=True)
    shares = joint_shares(errors, attribution)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=1e-5)
    assert (shares >= 0).all()


def test_joint_shares_follow_the_error():
    attribution = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0.5, 0.5]], np.float32)
    errors = np.array([[1.0, 1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    shares = joint_shares(errors, attribution)
    np.testing.assert_allclose(shares[0], [0.5, 0.25, 0.25])
    np.testing.assert_allclose(shares[1], [1 / 3] * 3)  # no error: no joint to blame
    top = top_joints(shares, ["knee", "hip", "ankle"], count=2)
    assert top[0] == (("knee", 0.5), ("hip", 0.25))
    assert len(top[1]) == 2


def test_roc_auc_matches_pairwise_definition():
    rng = np.random.default_rng(3)
    normal = np.round(rng.normal(0, 1, 200), 1)  # rounding makes ties
    abnormal = np.round(rng.normal(1, 1, 150), 1)
    pairs = (abnormal[:, None] > normal[None, :]) + 0.5 * (abnormal[:, None] == normal[None, :])
    assert roc_auc(normal, abnormal) == pytest.approx(pairs.mean())


def test_roc_auc_extremes_and_empty_sides():
    assert roc_auc(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 1.0
    assert roc_auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 0.0
    assert roc_auc(np.array([1.0, 1.0]), np.array([1.0])) == 0.5
    assert np.isnan(roc_auc(np.array([]), np.array([1.0])))


def test_roc_curve_runs_from_origin_to_one():
    fpr, tpr = roc_curve(np.array([0.1, 0.4, 0.35]), np.array([0.8, 0.3]))
    assert (fpr[0], tpr[0]) == (0.0, 0.0)
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all()


def test_detection_at_false_alarm_reads_the_roc():
    from consumer.training.metrics import detection_at_false_alarm

    normal = np.arange(100.0)  # 10% of them are above 89.1
    abnormal = np.array([50.0, 95.0, 99.5, 120.0])
    assert detection_at_false_alarm(normal, abnormal, 0.1) == 0.75
    assert detection_at_false_alarm(normal, abnormal, 0.5) == 1.0
