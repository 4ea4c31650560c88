"""Everything one gateway process shares, built once from the settings (fails fast).

``GatewayRuntime.build`` connects to the broker before the server listens: an unreachable
broker is ``BrokerUnavailable``, a missing topic or token key a ``ConfigError``, each a
one-line reason from the CLI. ``start``/``stop`` run the producer and event threads for the
lifetime of the ASGI app.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from kafka import KafkaConsumer
from kafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from consumer.errors import BrokerUnavailable, ConfigError
from consumer.frames import FrameLimits
from consumer.gateway.auth import TokenVerifier
from consumer.gateway.codec import FrameDecoder
from consumer.gateway.fanout import EventFeed, RoutedEvent, Subscribers, connect_event_consumer
from consumer.gateway.limits import UserLimits
from consumer.gateway.metrics import GatewayMetrics
from consumer.gateway.pipeline import ProducePipeline, Producer, connect_producer
from consumer.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_FLUSH_S = 10.0


def event_topics(settings: Settings) -> dict[str, str]:
    """Event topic -> the message type its events get on the socket."""
    topics = {settings.topics.anomalies: "anomaly"}
    if settings.gateway.forward_alerts:
        topics[settings.topics.alerts] = "alert"
    return topics


@dataclass
class GatewayRuntime:
    settings: Settings
    registry: CollectorRegistry
    metrics: GatewayMetrics
    verifier: TokenVerifier
    limits: UserLimits
    decoder: FrameDecoder
    pipeline: ProducePipeline
    feed: EventFeed
    subscribers: Subscribers = field(default_factory=Subscribers)
    draining: bool = False
    open_sessions: int = 0

    def __post_init__(self) -> None:
        self.metrics.connections.set_function(lambda: self.open_sessions)

    @classmethod
    def build(
        cls, settings: Settings, registry: CollectorRegistry | None = None,
        startup_timeout_s: float = 30.0,
    ) -> GatewayRuntime:
        TokenVerifier.from_settings(settings.gateway)  # no key: ConfigError before connecting
        options = {
            **settings.kafka.client_options(),
            "client_id": f"{settings.kafka.client_id}-gateway",
            "bootstrap_timeout_ms": int(startup_timeout_s * 1000),
        }
        try:
            consumer = connect_event_consumer(options)
        except KafkaError as exc:
            raise BrokerUnavailable(
                f"kafka at {settings.kafka.bootstrap} did not answer within "
                f"{startup_timeout_s:g} s ({exc})"
            ) from exc
        try:
            required = [settings.topics.frames, settings.topics.anomalies]
            missing = [t for t in required if not consumer.partitions_for_topic(t)]
            if missing:
                raise ConfigError(
                    f"topics {', '.join(missing)} do not exist on {settings.kafka.bootstrap} "
                    "(`barunrun dev` or the deployment's topic job creates them)"
                )
            producer = connect_producer(settings, startup_timeout_s)
        except BaseException:
            consumer.close(autocommit=False)
            raise
        return cls.assemble(settings, producer, consumer, registry)

    @classmethod
    def assemble(
        cls, settings: Settings, producer: Producer, consumer: KafkaConsumer,
        registry: CollectorRegistry | None = None,
    ) -> GatewayRuntime:
        """The runtime around clients already connected (``build``; tests pass fakes)."""
        registry = registry or CollectorRegistry()
        metrics = GatewayMetrics.create(registry)
        g = settings.gateway
        f = settings.frames
        decoder = FrameDecoder(FrameLimits(f.max_message_bytes, f.max_future_ms, f.max_age_ms))
        feed = EventFeed(consumer, event_topics(settings), g.topic_recheck_s)
        absent = feed.assign_existing()
        if absent:
            log.info("event topics not there yet, looked for again every %gs topics=%s",
                     g.topic_recheck_s, ",".join(absent))
        pipeline = ProducePipeline(
            producer, settings.topics.frames, g.max_buffered_frames, g.broker_stall_ms / 1000,
            metrics,
        )
        limits = UserLimits(g.rate_frames_per_s, g.rate_burst_frames, g.max_sessions_per_user)
        return cls(
            settings, registry, metrics, TokenVerifier.from_settings(g), limits, decoder,
            pipeline, feed,
        )

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.pipeline.start(loop)
        self.feed.start(loop, self.deliver_events)
        log.info("gateway pipeline up topic=%s buffer=%d event_topics=%s",
                 self.settings.topics.frames, self.pipeline.capacity,
                 ",".join(event_topics(self.settings)))

    def stop(self) -> None:
        """Stop taking frames, deliver the accepted ones (bounded), stop the threads."""
        self.draining = True
        self.feed.stop()
        self.pipeline.close(SHUTDOWN_FLUSH_S)

    def alive(self) -> bool:
        return self.pipeline.alive() and self.feed.alive()

    def deliver_events(self, batch: list[RoutedEvent]) -> None:
        """On the loop: queue each event for the sessions of its user that want its type."""
        for kind, user_id, payload in batch:
            reached, dropped = self.subscribers.deliver(user_id, kind, payload)
            if reached:
                self.metrics.events_delivered.labels(kind).inc(reached)
            if dropped:
                self.metrics.events_dropped.inc(dropped)
