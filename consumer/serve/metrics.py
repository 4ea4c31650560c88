"""The consumer's Prometheus metrics, built from an injected registry.

The contract's metrics keep their exact names, types and labels; the others are ours. No
metric carries a user_id label: label sets must stay bounded whatever the number of runners.
``ConsumerMetrics.create(CollectorRegistry())`` gives a fresh set for each test or for each
consumer running in one process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from consumer.alerts.episodes import RESOLVE_REASONS, Transition
from consumer.alerts.messages import duration_s
from consumer.frames import RejectReason
from consumer.serve.processor import BatchResult

# Frame ts_ms to the window's records acked by the broker. A runner should hear about bad
# form within a stride or two (~0.3-0.7 s); the benchmark's p99 target is 200 ms. Buckets from
# 5 ms (same-box best case) to 30 s (a consumer catching up on a backlog), dense around 0.1-1 s.
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0, 30.0,
)
# Score / threshold, log-spaced and densest around 1 (the decision boundary), so that both
# "how many windows are near the threshold" and "how far out are the anomalies" are readable;
# a drift of the normal distribution shows as mass moving from 0.1-0.5 towards 1.
SCORE_RATIO_BUCKETS = (
    0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0, 100.0,
)
# One batched model call: ~1 ms for a few windows on a warm compiled model, up to seconds
# for a first call that traces or a batch of hundreds of windows on a busy CPU.
SCORE_BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
# A whole poll batch, decode to commit: the same range plus Redis and broker round trips.
BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Records per poll: 1 (trickle) up to max_poll_records (a backlog; default 2000).
BATCH_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 20000)

# An alert episode's length, first window start to last anomalous window end (window time).
# The shortest possible is k windows (~1.3-2 s at hop 10); a form fault lasts from a few
# seconds (a stumble, a hill) to a whole run (fatigue: tens of minutes); past an hour it
# is one bucket.
EPISODE_DURATION_BUCKETS = (
    2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0,
)
ALERT_TYPES = ("opened", "update", "resolved")

DEPENDENCIES = ("kafka", "redis", "model")
WINDOW_RESTART_REASONS = ("gap", "state_lost", "corrupt_state")


@dataclass(frozen=True)
class ConsumerMetrics:
    frames_consumed: Counter
    frames_rejected: Counter
    windows_scored: Counter
    anomalies: Counter
    score_batch_seconds: Histogram
    frame_to_event_seconds: Histogram
    window_score_ratio: Histogram
    model_info: Gauge
    consumer_lag: Gauge
    active_users: Gauge
    frames_ignored: Counter
    window_restarts: Counter
    windows_not_scored: Counter
    state_conflicts: Counter
    model_reloads: Counter
    model_reload_refused: Gauge
    dependency_up: Gauge
    dependency_failures: Counter
    batch_seconds: Histogram
    batch_records: Histogram
    alert_episodes_open: Gauge
    alert_episodes_opened: Counter
    alert_episodes_resolved: Counter
    alert_episode_seconds: Histogram
    alert_messages: Counter
    score_drift: Gauge
    score_drift_windows: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ConsumerMetrics:
        def counter(name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
            return Counter(name, doc, list(labels), registry=registry)

        def gauge(name: str, doc: str, labels: Iterable[str] = ()) -> Gauge:
            return Gauge(name, doc, list(labels), registry=registry)

        def histogram(name: str, doc: str, buckets: tuple[float, ...]) -> Histogram:
            return Histogram(name, doc, buckets=buckets, registry=registry)

        metrics = cls(
            frames_consumed=counter(
                "barunrun_frames_consumed", "Frame messages consumed (valid or not)."
            ),
            frames_rejected=counter(
                "barunrun_frames_rejected", "Frames sent to the dead-letter topic.", ["reason"]
            ),
            windows_scored=counter("barunrun_windows_scored", "Windows scored by the model."),
            anomalies=counter("barunrun_anomalies", "Anomaly events published."),
            score_batch_seconds=histogram(
                "barunrun_score_batch_seconds", "Seconds per batched model call.",
                SCORE_BATCH_BUCKETS,
            ),
            frame_to_event_seconds=histogram(
                "barunrun_frame_to_event_seconds",
                "Seconds from a window's last frame ts_ms to its records acked by the broker.",
                LATENCY_BUCKETS,
            ),
            window_score_ratio=histogram(
                "barunrun_window_score_ratio", "Window score / model threshold.",
                SCORE_RATIO_BUCKETS,
            ),
            model_info=gauge("barunrun_model_info", "The model version serving (1).", ["version"]),
            consumer_lag=gauge(
                "barunrun_consumer_lag_messages",
                "Broker high watermark minus this consumer's position.", ["partition"],
            ),
            active_users=gauge(
                "barunrun_active_users", "Users with a frame in the last minute (this process)."
            ),
            frames_ignored=counter(
                "barunrun_frames_ignored",
                "Valid frames not added to a window (duplicate or older frame number).",
                ["reason"],
            ),
            window_restarts=counter(
                "barunrun_window_restarts",
                "Windows started over: gap (frames or ms), state_lost (Redis lost a state this "
                "process wrote), corrupt_state.", ["reason"],
            ),
            windows_not_scored=counter(
                "barunrun_windows_not_scored",
                "Completed windows the model refused (e.g. too few visible landmarks).",
                ["reason"],
            ),
            state_conflicts=counter(
                "barunrun_window_state_conflicts",
                "Window-state saves refused because another consumer wrote the key first.",
            ),
            model_reloads=counter(
                "barunrun_model_reloads", "Hot model reload attempts by result.", ["result"]
            ),
            model_reload_refused=gauge(
                "barunrun_model_reload_refused",
                "1 while the newest model on disk was refused and an older one serves.",
            ),
            dependency_up=gauge(
                "barunrun_dependency_up", "1 when the dependency answered last time.",
                ["dependency"],
            ),
            dependency_failures=counter(
                "barunrun_dependency_failures",
                "Batch steps that failed on an unreachable dependency and were retried.",
                ["dependency"],
            ),
            batch_seconds=histogram(
                "barunrun_batch_seconds", "Seconds per poll batch, decode to commit.",
                BATCH_BUCKETS,
            ),
            batch_records=histogram(
                "barunrun_batch_records", "Records per poll batch.", BATCH_SIZE_BUCKETS
            ),
            alert_episodes_open=gauge(
                "barunrun_alert_episodes_open",
                "Alert episodes open in Redis, all consumers together (every replica reports "
                "the same number: aggregate with max).",
            ),
            alert_episodes_opened=counter(
                "barunrun_alert_episodes_opened", "Alert episodes opened (`opened` published)."
            ),
            alert_episodes_resolved=counter(
                "barunrun_alert_episodes_resolved",
                "Alert episodes resolved, by reason: clean, idle, expired.", ["reason"],
            ),
            alert_episode_seconds=histogram(
                "barunrun_alert_episode_duration_seconds",
                "Resolved episodes' length in window time, first window to last anomalous one.",
                EPISODE_DURATION_BUCKETS,
            ),
            alert_messages=counter(
                "barunrun_alert_messages", "Alert messages published, by type.", ["type"]
            ),
            score_drift=gauge(
                "barunrun_score_drift",
                "PSI of this consumer's recent window scores against the serving model's "
                "calibration scores (consumer/lifecycle/drift.py); NaN until enough windows.",
            ),
            score_drift_windows=gauge(
                "barunrun_score_drift_windows",
                "Scored windows in the drift monitor's rolling window (this consumer).",
            ),
        )
        # Series for every known label value exist from the start (at 0), so that rate() and
        # alert rules see an increase from zero instead of a series appearing from nowhere.
        for dependency in DEPENDENCIES:
            metrics.dependency_up.labels(dependency).set(0)
            metrics.dependency_failures.labels(dependency)
        for reason in RejectReason:
            metrics.frames_rejected.labels(reason.value)
        metrics.frames_ignored.labels("duplicate")
        for reason in WINDOW_RESTART_REASONS:
            metrics.window_restarts.labels(reason)
        for result in ("loaded", "refused"):
            metrics.model_reloads.labels(result)
        metrics.model_reload_refused.set(0)
        metrics.alert_episodes_open.set(0)
        for reason in RESOLVE_REASONS:
            metrics.alert_episodes_resolved.labels(reason)
        for kind in ALERT_TYPES:
            metrics.alert_messages.labels(kind)
        # NaN, not 0: "no verdict yet" must not read as "no drift" (comparisons with NaN are
        # false, so the drift alert stays quiet until there is a number).
        metrics.score_drift.set(float("nan"))
        metrics.score_drift_windows.set(0)
        return metrics

    def set_model(self, version: str, previous: str | None = None) -> None:
        if previous is not None and previous != version:
            self.model_info.remove(previous)
        self.model_info.labels(version).set(1)

    def set_lag(self, lag: Mapping[int, int], previous: Iterable[int] = ()) -> None:
        """Lag per assigned partition; partitions no longer assigned lose their series."""
        for partition in set(previous) - set(lag):
            self.consumer_lag.remove(str(partition))
        for partition, messages in lag.items():
            self.consumer_lag.labels(str(partition)).set(messages)

    def record_batch(self, result: BatchResult, acked_ms: int, seconds: float) -> None:
        """Count a finished batch (once: retried steps are not counted again)."""
        self.frames_consumed.inc(result.consumed)
        for reason, n in result.rejected.items():
            self.frames_rejected.labels(reason).inc(n)
        for reason, n in result.ignored.items():
            self.frames_ignored.labels(reason).inc(n)
        for reason, n in result.restarts.items():
            self.window_restarts.labels(reason).inc(n)
        for reason, n in result.not_scored.items():
            self.windows_not_scored.labels(reason).inc(n)
        self.windows_scored.inc(result.scored)
        self.anomalies.inc(result.anomalies)
        if result.score_seconds is not None:
            self.score_batch_seconds.observe(result.score_seconds)
        for window in result.windows:
            ratio = window.score_ratio
            if ratio is not None:
                self.window_score_ratio.observe(ratio)
                self.frame_to_event_seconds.observe((acked_ms - window.end_ts_ms) / 1000)
        self.batch_seconds.observe(seconds)
        self.batch_records.observe(result.consumed)
        self.record_alerts(result.alert_transitions)

    def record_alerts(self, transitions: Iterable[Transition]) -> None:
        """Count published alert messages (the loop's batches and the idle sweep's)."""
        for transition in transitions:
            self.alert_messages.labels(transition.kind).inc()
            if transition.kind == "opened":
                self.alert_episodes_opened.inc()
            elif transition.kind == "resolved":
                self.alert_episodes_resolved.labels(transition.reason or "clean").inc()
                self.alert_episode_seconds.observe(duration_s(transition))
