"""The alert metrics: series exist from the start, transitions are counted once each."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from consumer.alerts.config import EpisodeConfig
from consumer.alerts.episodes import advance
from consumer.alerts.state import EpisodeState
from consumer.serve.metrics import ConsumerMetrics
from consumer.serve.processor import BatchResult

from .helpers import windows

CONFIG = EpisodeConfig(3, 5, 3, 1000, 2000, 5000)


def test_series_exist_before_any_episode() -> None:
    registry = CollectorRegistry()
    ConsumerMetrics.create(registry)
    assert registry.get_sample_value("barunrun_alert_episodes_open") == 0
    assert registry.get_sample_value("barunrun_alert_episodes_opened_total") == 0
    for reason in ("clean", "idle", "expired"):
        assert registry.get_sample_value(
            "barunrun_alert_episodes_resolved_total", {"reason": reason}) == 0
    for kind in ("opened", "update", "resolved"):
        assert registry.get_sample_value("barunrun_alert_messages_total", {"type": kind}) == 0
    assert registry.get_sample_value(
        "barunrun_alert_episode_duration_seconds_count") == 0


def test_a_batch_counts_its_transitions() -> None:
    registry = CollectorRegistry()
    metrics = ConsumerMetrics.create(registry)
    _, transitions = advance(EpisodeState(), windows("XXXXXX..."), CONFIG)
    metrics.record_batch(BatchResult(alert_transitions=transitions), acked_ms=0, seconds=0.01)
    assert registry.get_sample_value("barunrun_alert_episodes_opened_total") == 1
    assert registry.get_sample_value(
        "barunrun_alert_episodes_resolved_total", {"reason": "clean"}) == 1
    assert registry.get_sample_value("barunrun_alert_messages_total", {"type": "update"}) == 1
    # The span: windows 0-5, first frame 0 to frame 79 (2.6 s of window time).
    assert registry.get_sample_value("barunrun_alert_episode_duration_seconds_sum") == 2.633
    assert registry.get_sample_value(
        "barunrun_alert_episode_duration_seconds_bucket", {"le": "5.0"}) == 1
