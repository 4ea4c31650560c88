"""Metrics from a fresh registry: the contract's names, types and labels; batch accounting."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry

from consumer.serve.events import ScoredWindow
from consumer.serve.metrics import ConsumerMetrics
from consumer.serve.processor import BatchResult

CONTRACT = {
    "barunrun_frames_consumed": ("counter", set()),
    "barunrun_frames_rejected": ("counter", {"reason"}),
    "barunrun_windows_scored": ("counter", set()),
    "barunrun_anomalies": ("counter", set()),
    "barunrun_score_batch_seconds": ("histogram", set()),
    "barunrun_frame_to_event_seconds": ("histogram", set()),
    "barunrun_window_score_ratio": ("histogram", set()),
    "barunrun_model_info": ("gauge", {"version"}),
    "barunrun_consumer_lag_messages": ("gauge", {"partition"}),
    "barunrun_active_users": ("gauge", set()),
}


def fresh() -> tuple[CollectorRegistry, ConsumerMetrics]:
    registry = CollectorRegistry()
    return registry, ConsumerMetrics.create(registry)


def test_contract_metrics_exist_with_their_types_and_labels() -> None:
    registry, metrics = fresh()
    metrics.frames_rejected.labels("invalid_json").inc()
    metrics.set_model("ae-1")
    metrics.set_lag({0: 3})
    families = {family.name: family for family in registry.collect()}
    for name, (kind, labels) in CONTRACT.items():
        assert name in families, name
        family = families[name]
        assert family.type == kind, name
        sample_labels = set().union(*(set(s.labels) for s in family.samples)) - {"le"}
        assert sample_labels <= labels, name
    for family in families.values():
        for sample in family.samples:
            assert "user_id" not in sample.labels and "user" not in sample.labels


def window(end: int, score: float | None, anomaly: bool, end_ts_ms: int) -> ScoredWindow:
    return ScoredWindow("u", "s", end - 3, end, end_ts_ms - 99, end_ts_ms, score, 0.5, "v",
                        anomaly)


def test_a_batch_is_counted_once_with_latency_and_ratio() -> None:
    registry, metrics = fresh()
    result = BatchResult(
        windows=[window(4, 1.0, True, 10_000), window(6, 0.25, False, 10_100),
                 window(8, None, False, 10_200)],
        consumed=12, rejected=Counter(too_large=2), ignored=Counter(duplicate=1),
        restarts=Counter(gap=1), not_scored=Counter(low_visibility=1), score_seconds=0.004,
    )
    metrics.record_batch(result, acked_ms=10_150, seconds=0.02)
    value = registry.get_sample_value
    assert value("barunrun_frames_consumed_total") == 12
    assert value("barunrun_frames_rejected_total", {"reason": "too_large"}) == 2
    assert value("barunrun_frames_ignored_total", {"reason": "duplicate"}) == 1
    assert value("barunrun_window_restarts_total", {"reason": "gap"}) == 1
    assert value("barunrun_windows_not_scored_total", {"reason": "low_visibility"}) == 1
    assert value("barunrun_windows_scored_total") == 2
    assert value("barunrun_anomalies_total") == 1
    assert value("barunrun_score_batch_seconds_count") == 1
    # Latency per scored window: 150 ms and 50 ms after their last frame.
    assert value("barunrun_frame_to_event_seconds_count") == 2
    assert value("barunrun_frame_to_event_seconds_bucket", {"le": "0.05"}) == 1
    assert value("barunrun_frame_to_event_seconds_bucket", {"le": "0.15"}) == 2
    # Ratios 2.0 and 0.5.
    assert value("barunrun_window_score_ratio_bucket", {"le": "0.5"}) == 1
    assert value("barunrun_window_score_ratio_bucket", {"le": "2.0"}) == 2
    assert value("barunrun_batch_records_sum") == 12


def test_model_info_switches_its_label() -> None:
    registry, metrics = fresh()
    metrics.set_model("ae-1")
    metrics.set_model("ae-2", previous="ae-1")
    assert registry.get_sample_value("barunrun_model_info", {"version": "ae-2"}) == 1
    assert registry.get_sample_value("barunrun_model_info", {"version": "ae-1"}) is None


def test_lag_of_partitions_no_longer_assigned_disappears() -> None:
    registry, metrics = fresh()
    metrics.set_lag({0: 5, 1: 7})
    metrics.set_lag({1: 2}, previous={0, 1})
    assert registry.get_sample_value("barunrun_consumer_lag_messages", {"partition": "0"}) is None
    assert registry.get_sample_value("barunrun_consumer_lag_messages", {"partition": "1"}) == 2


def test_dependencies_start_down_and_no_refused_reload() -> None:
    registry, _ = fresh()
    for dependency in ("kafka", "redis", "model"):
        assert registry.get_sample_value("barunrun_dependency_up", {"dependency": dependency}) == 0
    assert registry.get_sample_value("barunrun_model_reload_refused") == 0
