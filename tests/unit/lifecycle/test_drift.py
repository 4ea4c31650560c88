"""The drift metric: PSI of live scores over the calibration quantile bins."""

from __future__ import annotations

import math

import numpy as np
from prometheus_client import CollectorRegistry

from consumer.lifecycle.drift import (
    DriftMonitor,
    DriftReference,
    ReferenceBook,
    ServingDrift,
    psi_of_scores,
)
from consumer.serve.metrics import ConsumerMetrics

RNG = np.random.default_rng(0)
CALIBRATION = RNG.lognormal(0.0, 0.3, 20_000)


def reference() -> DriftReference:
    q = {name: float(np.quantile(CALIBRATION, level))
         for name, level in (("p50", .5), ("p90", .9), ("p95", .95), ("p99", .99))}
    ref = DriftReference.from_threshold("v1", {"score_quantiles": q})
    assert ref is not None
    return ref


def test_bins_hold_the_calibration_shares_and_psi_is_near_zero_on_the_same_distribution():
    ref = reference()
    assert np.allclose(ref.expected, [0.5, 0.4, 0.05, 0.04, 0.01])
    same = RNG.lognormal(0.0, 0.3, 5000)
    assert psi_of_scores(ref, same) < 0.01


def test_psi_grows_with_the_shift():
    ref = reference()
    values = [psi_of_scores(ref, RNG.lognormal(shift, 0.3, 5000)) for shift in (0.0, 0.1, 0.3)]
    assert values[0] < 0.02 < values[1] < 0.25 < values[2]


def test_tied_quantiles_merge_bins_and_no_quantiles_means_no_reference():
    ref = DriftReference.from_threshold("v", {"score_quantiles": {"p50": 1, "p90": 1, "p95": 2,
                                                                  "p99": 3}})
    assert ref is not None and np.allclose(ref.expected, [0.5, 0.45, 0.04, 0.01])
    assert DriftReference.from_threshold("v", {"score_quantiles": {}}) is None


def test_monitor_rolls_over_waits_for_enough_windows_and_resets_on_a_new_model():
    ref = reference()
    monitor = DriftMonitor(window=1000, min_windows=200)
    monitor.use("v1", ref)
    monitor.observe(RNG.lognormal(0.0, 0.3, 150))
    assert math.isnan(monitor.value()) and monitor.windows == 150
    monitor.observe(RNG.lognormal(0.0, 0.3, 1700))  # wraps around the ring
    assert monitor.windows == 1000 and monitor.value() < 0.05
    monitor.observe(RNG.lognormal(0.5, 0.3, 1000))  # the whole window is now shifted
    assert monitor.value() > 0.5
    monitor.observe([float("nan")])  # unscored windows are not counted
    assert monitor.windows == 1000
    monitor.use("v2", ref)
    assert monitor.windows == 0 and math.isnan(monitor.value())


def test_serving_drift_exports_nan_then_a_number(tmp_path):
    registry = CollectorRegistry()
    metrics = ConsumerMetrics.create(registry)
    book = ReferenceBook()
    (tmp_path / "manifest.json").write_text(
        '{"version": "v1", "threshold": {"score_quantiles": '
        '{"p50": 1.0, "p90": 1.35, "p95": 1.6, "p99": 2.0}}}')
    book.note_dir("v1", tmp_path)
    book.note_dir("v2", tmp_path)  # another version's directory: not noted under v2
    assert book.get("v1") is not None and book.get("v2") is None
    drift = ServingDrift(DriftMonitor(500, 100), book)
    # Pre-initialised: the series exist before any window (alert rules see them).
    assert math.isnan(registry.get_sample_value("barunrun_score_drift"))
    assert registry.get_sample_value("barunrun_score_drift_windows") == 0
    drift.export(metrics)
    assert math.isnan(registry.get_sample_value("barunrun_score_drift"))
    drift.observe("v1", [None, *RNG.lognormal(1.0, 0.3, 300)])
    drift.export(metrics)
    assert registry.get_sample_value("barunrun_score_drift") > 1.0
    assert registry.get_sample_value("barunrun_score_drift_windows") == 300
