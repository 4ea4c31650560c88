"""The consumer put together from settings: model, Redis, Kafka, loop, HTTP and reloader.

``ConsumerService.build`` fails fast with a one-line reason: ``ModelArtifactError`` for a
missing or invalid model, ``RedisUnavailable`` / ``BrokerUnavailable`` when a service does not
answer within ``startup_timeout_s``, ``ConfigError`` for refused credentials or a missing topic.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import redis
from prometheus_client import CollectorRegistry

from consumer.alerts.sweep import IdleSweeper
from consumer.alerts.wiring import Alerting, build_alerting
from consumer.errors import ConfigError, RedisUnavailable
from consumer.gait.serving import CLASSIFIER, GaitStage, enabled_detectors
from consumer.lifecycle.drift import DriftMonitor, ReferenceBook, ServingDrift
from consumer.lifecycle.personal import PersonalConfig, PersonalStage, PersonalStore
from consumer.model.base import Scorer
from consumer.serve.detectors import serves_autoencoder
from consumer.serve.health import Health
from consumer.serve.http import OpsServer
from consumer.serve.kafka_io import KafkaFrameSource, KafkaRecordSink
from consumer.serve.loop import ServeLoop
from consumer.serve.metrics import ConsumerMetrics
from consumer.serve.model_source import DetectorModels, load_classifier_checked
from consumer.serve.processor import BatchProcessor, OutputTopics, window_config
from consumer.serve.recency import Recency
from consumer.serve.reload import ModelReloader, ScorerLoader, default_loader, load_checked
from consumer.settings import Settings
from consumer.windows.redis_store import RedisWindowStore, connect_redis
from consumer.windows.store import WindowStore

log = logging.getLogger(__name__)

# "Active" users for barunrun_active_users: a frame within the last minute.
ACTIVE_HORIZON_S = 60.0
_CREDENTIAL_ERRORS = ("NOAUTH", "WRONGPASS", "NOPERM", "invalid username-password")


def wait_for_redis(store: RedisWindowStore, timeout_s: float) -> None:
    """PING until Redis answers (bounded); refused credentials are a config error at once."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            store.ping()
            return
        except RedisUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, redis.AuthenticationError) or any(
                marker in str(cause) for marker in _CREDENTIAL_ERRORS
            ):
                raise ConfigError(f"redis refused our credentials: {cause}") from None
            if time.monotonic() >= deadline:
                raise RedisUnavailable(
                    f"redis did not answer within {timeout_s:g} s ({cause})"
                ) from None
        time.sleep(0.25)


def _bind_ops(settings: Settings, registry: CollectorRegistry, health: Health) -> OpsServer:
    host, port = settings.metrics.host, settings.metrics.port
    try:
        return OpsServer(host, port, registry, health)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from exc


class ConsumerService:
    """Everything ``barunrun serve`` runs, built and wired once."""

    def __init__(
        self,
        settings: Settings,
        loop: ServeLoop,
        reloader: ModelReloader | DetectorModels,
        ops: OpsServer,
        registry: CollectorRegistry,
        metrics: ConsumerMetrics,
        health: Health,
        closers: Sequence[Callable[[], object]] = (),
        sweeper: IdleSweeper | None = None,
    ) -> None:
        self.settings = settings
        self.loop = loop
        self.reloader = reloader
        self.ops = ops
        self.registry = registry
        self.metrics = metrics
        self.health = health
        self._closers = list(closers)  # what the loop does not close itself (Redis)
        self.sweeper = sweeper  # resolves alert episodes gone idle (consumer/alerts/sweep.py)

    @property
    def port(self) -> int:
        return self.ops.port

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        registry: CollectorRegistry | None = None,
        loader: ScorerLoader | None = None,
        scorer: Scorer | None = None,
        classifier: Scorer | None = None,
        classifier_loader: ScorerLoader | None = None,
        startup_timeout_s: float = 30.0,
        wrap_store: Callable[[WindowStore], WindowStore] | None = None,
    ) -> ConsumerService:
        """Connect everything; ``scorer`` (and ``classifier``) skip the first load (tests share
        one model)."""
        registry = registry or CollectorRegistry()
        metrics = ConsumerMetrics.create(registry)
        health = Health(metrics)
        model_dir = Path(settings.model.dir)
        config = window_config(settings)
        # Every model loaded (first and hot reloads) leaves its calibration quantiles here:
        # the drift monitor's reference for that version.
        references = ReferenceBook()
        # The configured batch shapes: each is traced once at load, and a batch is padded up
        # to the nearest, so they trade load time for less padding.
        shapes = settings.model.batch_sizes
        inner_loader = loader or functools.partial(default_loader, batch_sizes=shapes)
        classifier_loader = classifier_loader or functools.partial(
            load_classifier_checked, batch_sizes=shapes)

        def loader(path: Path) -> Scorer:
            loaded = inner_loader(path)
            references.note_dir(loaded.version, path)
            return loaded

        detectors = enabled_detectors(settings)
        if not serves_autoencoder(detectors):
            scorer = None  # the classifier alone: no autoencoder is loaded
        elif scorer is None:
            scorer = load_checked(model_dir, loader, config.size)
        else:
            references.note_dir(scorer.version, model_dir)
        classifier_dir = Path(settings.model.classifier_dir)

        def noted_classifier_loader(path: Path) -> Scorer:
            loaded = classifier_loader(path)
            references.note_dir(loaded.version, path)
            return loaded

        if CLASSIFIER not in detectors:
            classifier = None
        elif classifier is None:
            classifier = load_checked(classifier_dir, noted_classifier_loader, config.size)
        else:
            references.note_dir(classifier.version, classifier_dir)
        health.set("model", True)
        for served, where in ((scorer, model_dir), (classifier, classifier_dir)):
            if served is not None:
                log.info("model ready version=%s threshold=%.6g dir=%s",
                         served.version, served.threshold, where)
        opened: list[Callable[[], object]] = []  # closed again if a later step fails
        try:
            ops = _bind_ops(settings, registry, health)
            opened.append(ops.close)
            redis_client = connect_redis(settings.redis)
            opened.append(redis_client.close)
            redis_store = RedisWindowStore(
                redis_client, settings.redis.key_prefix, settings.window.idle_ttl_s
            )
            wait_for_redis(redis_store, startup_timeout_s)
            health.set("redis", True)
            source = KafkaFrameSource.connect(settings, startup_timeout_s)
            opened.append(source.close)
            sink = KafkaRecordSink.connect(settings, startup_timeout_s)
            health.set("kafka", True)
            alerting: Alerting | None = None
            if settings.alerts.enabled:
                alerting = build_alerting(
                    settings, redis_client, redis_store, metrics, startup_timeout_s
                )
                opened.append(alerting.close)
        except BaseException:
            for close in reversed(opened):
                close()
            raise
        # With alerts, saves also keep the open-episode index in step (consumer/alerts/index.py).
        base: WindowStore = alerting.store if alerting else redis_store
        personal: PersonalStage | None = None
        if settings.personal.enabled:
            p = settings.personal
            personal = PersonalStage(PersonalConfig(p.min_windows, p.half_life_windows))
            base = PersonalStore(base, redis_client, settings.redis.key_prefix, p.user_ttl_s)
        store: WindowStore = wrap_store(base) if wrap_store else base
        ttl = settings.window.idle_ttl_s
        # A little under the TTL: a state expiring on time is never mistaken for a lost one.
        written = Recency(max(ttl * 0.5, ttl - 1.0))
        processor = BatchProcessor(
            store, config, OutputTopics.from_settings(settings), written,
            gait=GaitStage(), detectors=enabled_detectors(settings),
            alerts=alerting.stage if alerting else None, personal=personal,
        )
        reloader: ModelReloader | DetectorModels
        if classifier is None and scorer is not None:
            reloader = ModelReloader(
                model_dir, scorer, config.size, settings.model.reload_interval_s, metrics, loader
            )
        else:  # a classifier is served: one reloader per model (consumer/serve/model_source.py)
            reloader = DetectorModels.build(
                (model_dir, scorer, loader) if scorer is not None else None,
                (classifier_dir, classifier, noted_classifier_loader) if classifier else None,
                config.size, settings.model.reload_interval_s, metrics,
            )
        loop = ServeLoop(
            settings=settings, source=source, sink=sink, store=store, processor=processor,
            models=reloader, metrics=metrics, health=health,
            active_users=Recency(ACTIVE_HORIZON_S),
            drift=ServingDrift(
                DriftMonitor(settings.lifecycle.drift_window, settings.lifecycle.drift_min_windows),
                references,
            ),
        )
        closers: list[Callable[[], object]] = [redis_client.close]
        if alerting is not None:
            closers.insert(0, alerting.close)
        return cls(
            settings, loop, reloader, ops, registry, metrics, health, closers,
            sweeper=alerting.sweeper if alerting else None,
        )

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set; HTTP and the model watcher live as long as the loop."""
        self.ops.start()
        self.reloader.start()
        if self.sweeper is not None:
            self.sweeper.start(caught_up=self.loop.caught_up)
        try:
            self.loop.run(stop)  # closes the Kafka clients
        finally:
            if self.sweeper is not None:
                self.sweeper.stop()
            self.reloader.stop()
            self.ops.stop()
            for close in self._closers:
                close()
