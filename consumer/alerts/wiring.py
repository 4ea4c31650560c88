"""The alert episode parts a consumer needs, built from settings (used by serve/app.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis

from consumer.alerts.config import check_alert_settings
from consumer.alerts.index import IndexingStore, OpenEpisodeIndex
from consumer.alerts.messages import CueTexts
from consumer.alerts.stage import AlertStage
from consumer.alerts.sweep import IdleSweeper
from consumer.gait.cues import load_table
from consumer.serve.kafka_io import KafkaRecordSink
from consumer.serve.metrics import ConsumerMetrics
from consumer.settings import Settings
from consumer.windows.store import WindowStore


def cue_texts() -> CueTexts:
    """Cue id -> language -> text, from the gait stage's cue table."""
    return {rule.id: dict(rule.text) for rule in load_table()}


@dataclass
class Alerting:
    stage: AlertStage
    store: WindowStore  # the window store, keeping the open-episode index in step
    sweeper: IdleSweeper
    close: Callable[[], None]


def build_alerting(
    settings: Settings, client: redis.Redis, store: WindowStore, metrics: ConsumerMetrics,
    startup_timeout_s: float,
) -> Alerting:
    """The stage for the batch processor, the indexing store and the idle sweeper (with its
    own producer: it publishes from its own thread)."""
    config = check_alert_settings(settings)
    texts = cue_texts()
    topic = settings.topics.alerts
    index = OpenEpisodeIndex(client, settings.redis.key_prefix)
    sink = KafkaRecordSink.connect(settings, startup_timeout_s)
    sweeper = IdleSweeper(
        store=store, index=index, sink=sink, topic=topic, config=config, cue_texts=texts,
        metrics=metrics, interval_s=settings.alerts.sweep_interval_s,
    )
    return Alerting(
        stage=AlertStage(config, topic, texts),
        store=IndexingStore(store, index, config.idle_after_ms),
        sweeper=sweeper,
        close=sink.close,
    )
