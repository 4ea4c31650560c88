"""The gateway's Prometheus metrics, built from an injected registry (one set per app).

No metric carries a user_id label; ``reason``, ``transport``, ``type`` and ``status`` take a
few fixed values each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Accepted to acknowledged by the broker: ~linger (5 ms) plus a round trip on a healthy
# cluster; seconds to a minute while a broker is stalled and the producer retries.
PRODUCE_BUCKETS = (
    0.002, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0,
)
TRANSPORTS = ("ws_json", "ws_binary", "http")


TRANSPORTS = ("ws_json", "ws_binary", "http")
EVENT_TYPES = ("anomaly", "alert")
CONNECTION_REFUSALS = (
    "missing_token", "expired_token", "bad_signature", "malformed_token", "too_many_sessions",
    "forbidden_user", "rate_limited", "draining",
)
FRAME_REFUSALS = ("rate_limited", "buffer_full", "broker_unavailable", "forbidden_user")


@dataclass(frozen=True)
class GatewayMetrics:
    connections: Gauge
    connections_refused: Counter
    frames_received: Counter
    frames_accepted: Counter
    frames_refused: Counter
    frames_acked: Counter
    delivery_failures: Counter
    produce_seconds: Histogram
    buffer_frames: Gauge
    buffer_limit: Gauge
    broker_up: Gauge
    events_delivered: Counter
    events_dropped: Counter
    http_batches: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> GatewayMetrics:
        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, list(labels), registry=registry)

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, registry=registry)

        metrics = cls(
            connections=gauge("barunrun_gateway_connections", "Open WebSocket sessions."),
            connections_refused=counter(
                "barunrun_gateway_connections_refused",
                "WebSocket sessions closed by policy: token reasons, too_many_sessions, "
                "forbidden_user, rate_limited, draining.", ("reason",),
            ),
            frames_received=counter(
                "barunrun_gateway_frames_received", "Frames received.", ("transport",)
            ),
            frames_accepted=counter(
                "barunrun_gateway_frames_accepted",
                "Frames accepted into the produce buffer.", ("transport",),
            ),
            frames_refused=counter(
                "barunrun_gateway_frames_refused",
                "Frames not accepted: a validator reason, forbidden_user, bad_binary, "
                "rate_limited, buffer_full, broker_unavailable, session_in_flight, "
                "not_delivered.", ("reason",),
            ),
            frames_acked=counter(
                "barunrun_gateway_frames_acked", "Frames acknowledged by the broker."
            ),
            delivery_failures=counter(
                "barunrun_gateway_delivery_failures",
                "Accepted frames the producer gave up on (handed back to the client).",
            ),
            produce_seconds=Histogram(
                "barunrun_gateway_produce_seconds",
                "Seconds from a frame accepted to its broker acknowledgement.",
                buckets=PRODUCE_BUCKETS, registry=registry,
            ),
            buffer_frames=gauge(
                "barunrun_gateway_buffer_frames", "Frames accepted and not yet acknowledged."
            ),
            buffer_limit=gauge(
                "barunrun_gateway_buffer_limit_frames", "Capacity of the produce buffer."
            ),
            broker_up=gauge(
                "barunrun_gateway_broker_up",
                "0 while the broker leaves the oldest buffered frame unacknowledged too long.",
            ),
            events_delivered=counter(
                "barunrun_gateway_events_delivered",
                "Events written to a connected session's socket queue.", ("type",),
            ),
            events_dropped=counter(
                "barunrun_gateway_events_dropped",
                "Events dropped (oldest first) for sessions that read too slowly.",
            ),
            http_batches=counter(
                "barunrun_gateway_http_batches", "HTTP frame batches by status.", ("status",)
            ),
        )
        metrics.broker_up.set(1)
        # Series for the known label values exist from the start (at 0), so that dashboards
        # and alert rules see rates from zero rather than series appearing from nowhere.
        for transport in TRANSPORTS:
            metrics.frames_received.labels(transport)
            metrics.frames_accepted.labels(transport)
        for kind in EVENT_TYPES:
            metrics.events_delivered.labels(kind)
        for reason in CONNECTION_REFUSALS:
            metrics.connections_refused.labels(reason)
        for reason in FRAME_REFUSALS:
            metrics.frames_refused.labels(reason)
        return metrics

    def watch_buffer(self, fill: Callable[[], float], limit: int) -> None:
        self.buffer_frames.set_function(fill)
        self.buffer_limit.set(limit)
