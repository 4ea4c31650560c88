"""The serving loop: poll -> decode -> windows + scores -> publish -> save state -> commit.

Delivery invariant (at least once; a duplicate is always the same id)
---------------------------------------------------------------------
Every poll batch goes through these steps, strictly in this order::

    1 read window states      one store.load for every (user, session) of the batch
    2 compute windows, score  pure: rules + one scorer.score call
    3 publish                 dead letters, score records, anomaly events
    4 flush                   every record acknowledged by the broker (acks=all)
    5 save window states      compare-and-set, one round trip
    6 commit offsets          the batch's own offsets, explicitly

* A crash (or a failed step) before 5 leaves the stored states as they were: the frames are
  consumed again, meet the same states, complete the same windows, and publish records with
  the same ``event_id`` / ``window_id`` (duplicates allowed, never a lost window).
* A crash after 5 and before 6 replays frames the states already hold: they are duplicates
  (frame number <= the last one kept), complete no window, and publish nothing new; their
  windows' records were acknowledged in step 4.
* Offsets are committed only after 4 and 5, so no crash loses a frame's effect.
* A dependency that fails (Redis in 1/5, the broker in 3-4) pauses the assigned partitions
  (the backlog is this one batch), backs off with jitter, keeps the group membership alive by
  polling, and retries from the failed step. If the partitions are revoked meanwhile, the
  batch is dropped uncommitted: their new owner replays it from the last commit.
* A state save that another consumer's write refused (compare-and-set) leaves the batch
  uncommitted and rewound: it is replayed against the states as they now are (a zombie's
  stale state must not become ours).
* Commits happen at the end of every batch, before the next poll, which is where rebalances
  run: so at a revocation every finished batch is already committed ("commit on revocation").
  A commit the broker could not take is retried before the next poll.
* On SIGTERM/SIGINT (the ``stop`` event) the current batch is finished, its records flushed
  and its offsets committed before the clients close; a batch still waiting for a
  dependency is dropped uncommitted.
Tests: tests/unit/serve/test_loop.py (a failure injected between every pair of steps, then
a replay) and tests/integration/serve/test_delivery.py (on a real broker and Redis).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from consumer.errors import CommitRefused, ServiceUnavailable
from consumer.frames import FrameLimits
from consumer.lifecycle.drift import ServingDrift
from consumer.model.base import Scorer
from consumer.serve.batch import DecodedBatch, decode_batch
from consumer.serve.health import Health
from consumer.serve.metrics import ConsumerMetrics
from consumer.serve.ports import FrameSource, ModelSource, Offsets, RecordSink
from consumer.serve.processor import BatchProcessor, BatchResult
from consumer.serve.recency import Recency
from consumer.settings import Settings
from consumer.windows.store import WindowStore

log = logging.getLogger(__name__)

# While idle, how often to look at Redis (readiness); how often to refresh the gauges.
IDLE_PING_S = 5.0
GAUGES_EVERY_S = 1.0
# Longest single wait inside a backoff, so stop and rebalances are noticed promptly.
WAIT_SLICE_S = 0.2


class Step(IntEnum):
    PROCESS = 1  # steps 1-2 of the invariant
    PUBLISH = 3  # 3-4
    SAVE = 5
    COMMIT = 6


_DEPENDENCY = {Step.PROCESS: "redis", Step.PUBLISH: "kafka", Step.SAVE: "redis"}


@dataclass
class _Batch:
    decoded: DecodedBatch
    scorer: Scorer
    step: Step = Step.PROCESS
    result: BatchResult | None = None
    acked_ms: int = 0


class ServeLoop:
    """Runs the steps above for every poll batch until ``stop`` is set."""

    def __init__(
        self,
        *,
        settings: Settings,
        source: FrameSource,
        sink: RecordSink,
        store: WindowStore,
        processor: BatchProcessor,
        models: ModelSource,
        metrics: ConsumerMetrics,
        health: Health,
        active_users: Recency,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        drift: ServingDrift | None = None,
    ) -> None:
        self._settings = settings
        self._source = source
        self._sink = sink
        self._store = store
        self._processor = processor
        self._models = models
        self._metrics = metrics
        self._health = health
        self._active = active_users
        self._clock_ms = clock_ms
        self._monotonic = monotonic
        self._rng = rng or random.Random()
        # Live scores against the serving model's calibration (consumer/lifecycle/drift.py).
        self._drift = drift
        # Set once the backlog is drained: the lag of the assigned partitions is known and
        # under one poll batch. Not an empty poll: before the group assigns partitions (a
        # killed member's session still holding them) every poll is empty. The idle sweep of
        # alert episodes waits for it (consumer/alerts/sweep.py).
        self.caught_up = threading.Event()
        f = settings.frames
        self._limits = FrameLimits(f.max_message_bytes, f.max_future_ms, f.max_age_ms)
        self._uncommitted: Offsets = {}
        self._lag_partitions: set[int] = set()
        self._last_ping = self._last_gauges = monotonic()

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set, then commit what is finished and close the clients."""
        log.info("consumer loop started group=%s", self._settings.serve.group_id)
        try:
            while not stop.is_set():
                self.turn(stop)
            self._commit_leftovers()
        finally:
            self._source.close()
            self._sink.close()
            log.info("consumer loop stopped")

    def turn(self, stop: threading.Event) -> None:
        """One poll and, if it returned records, that batch through every step."""
        self._commit_leftovers()
        scorer = self._models.swap()
        records = self._source.poll(
            self._settings.serve.poll_timeout_ms, self._settings.kafka.max_poll_records
        )
        self._health.turned()
        if self._source.rebalanced() and self._uncommitted:
            # Offsets a failed commit left behind may belong to partitions another consumer
            # owns now: committing them late could move its progress back.
            log.warning("dropping uncommitted offsets after a rebalance partitions=%d",
                        len(self._uncommitted))
            self._uncommitted = {}
        if not records:
            self._idle_checks()
            return
        started = self._monotonic()
        batch = _Batch(decode_batch(records, self._clock_ms(), self._limits), scorer)
        if self._complete(batch, stop):
            self._record(batch, self._monotonic() - started)

    def _complete(self, batch: _Batch, stop: threading.Event) -> bool:
        """Advance the batch to its last step, retrying failed ones; False if dropped."""
        failures = 0
        try:
            while True:
                try:
                    self._advance(batch)
                    if failures:
                        log.info("dependencies back, batch completed after %d retries", failures)
                    return True
                except ServiceUnavailable as exc:
                    failures += 1
                    dependency = getattr(exc, "dependency", _DEPENDENCY.get(batch.step, "?"))
                    self._health.set(dependency, False, str(exc))
                    self._metrics.dependency_failures.labels(dependency).inc()
                    if failures == 1:
                        self._source.pause_all()
                    delay = self._backoff(failures)
                    log.warning(
                        "dependency unavailable, partitions paused dependency=%s step=%s "
                        "attempt=%d retry_in_s=%.2f error=%s",
                        dependency, batch.step.name.lower(), failures, delay, exc,
                    )
                    why = self._wait(delay, stop)
                    if why:
                        self._source.rewind(batch.decoded.first_offsets)
                        log.warning(
                            "batch dropped uncommitted reason=%s records=%d (replayed later)",
                            why, batch.decoded.records,
                        )
                        return False
        finally:
            if failures:
                self._source.resume_all()

    def _advance(self, batch: _Batch) -> None:
        if batch.step == Step.PROCESS:
            batch.result = self._processor.process(batch.decoded, batch.scorer)
            if batch.decoded.groups:
                self._health.set("redis", True)
            batch.step = Step.PUBLISH
        result = batch.result
        if result is None:  # unreachable: PROCESS always sets it
            raise RuntimeError("batch result missing after the process step")
        if batch.step == Step.PUBLISH:
            self._sink.publish(result.records)
            batch.acked_ms = self._clock_ms()
            self._health.set("kafka", True)
            batch.step = Step.SAVE
        if batch.step == Step.SAVE:
            conflicts = self._store.save(result.updates)
            self._processor.saved(result.updates, conflicts)
            if result.updates:
                self._health.set("redis", True)
            batch.step = Step.COMMIT
            if conflicts:
                self._replay_after_conflict(batch, len(conflicts))
                return
        self._uncommitted.update(batch.decoded.next_offsets)
        self._commit_leftovers()

    def _replay_after_conflict(self, batch: _Batch, conflicts: int) -> None:
        """Another consumer saved some of this batch's keys since our load: replay the batch.

        The other writer may be a zombie (evicted mid-batch, its partitions now ours) whose
        state is *behind* the frames this batch consumed. Committing would leave that state in
        Redis with a hole after it, and our next batch would restart the window (windows
        lost). So the batch is not committed: its partitions are rewound and it is replayed
        against the states as they are now. Frames a state already holds are duplicates;
        windows come again with the same ids (published, acknowledged: at least once).
        """
        self._metrics.state_conflicts.inc(conflicts)
        self._source.rewind(batch.decoded.first_offsets)
        log.warning("window states written by another consumer since our load, batch replayed "
                    "keys=%d records=%d", conflicts, batch.decoded.records)

    def _commit_leftovers(self) -> None:
        if not self._uncommitted:
            return
        offsets, self._uncommitted = self._uncommitted, {}
        try:
            self._source.commit(offsets)
        except CommitRefused as exc:
            log.warning("offsets not committed, partitions moved on error=%s", exc)
        except ServiceUnavailable as exc:
            # Later offsets supersede these; keep them for the next attempt.
            self._uncommitted = {**offsets, **self._uncommitted}
            self._health.set("kafka", False, str(exc))
            log.warning("offset commit failed, retrying before the next poll error=%s", exc)
        else:
            self._health.set("kafka", True)

    def _backoff(self, failures: int) -> float:
        s = self._settings.serve
        delay = min(s.backoff_max_s, s.backoff_initial_s * 2 ** (failures - 1))
        return delay * (0.5 + 0.5 * self._rng.random())

    def _wait(self, delay_s: float, stop: threading.Event) -> str | None:
        """Back off while polling the (paused) partitions; the reason to drop, if any."""
        deadline = self._monotonic() + delay_s
        while True:
            if stop.is_set():
                return "stopping"
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                return None
            records = self._source.poll(max(1, int(min(remaining, WAIT_SLICE_S) * 1000)), 1)
            self._health.turned()
            if records:
                # Only after a rebalance (new partitions are not paused): un-read them.
                self._source.rewind({(r.topic, r.partition): r.offset for r in records})
                self._source.pause_all()
            if self._source.rebalanced():
                return "rebalanced"

    def _idle_checks(self) -> None:
        # Without traffic nothing is published or committed: group membership is what says
        # the broker still answers (heartbeats), read without a blocking request.
        if self._source.in_group():
            self._health.set("kafka", True)
        else:
            self._health.set("kafka", False, "not a stable member of the consumer group")
        now = self._monotonic()
        if now - self._last_ping >= IDLE_PING_S:
            self._last_ping = now
            try:
                self._store.ping()
                self._health.set("redis", True)
            except ServiceUnavailable as exc:
                self._health.set("redis", False, str(exc))
        self._update_gauges()

    def _update_gauges(self) -> None:
        now = self._monotonic()
        if now - self._last_gauges < GAUGES_EVERY_S:
            return
        self._last_gauges = now
        lag = self._source.lag()
        if lag and sum(lag.values()) < self._settings.kafka.max_poll_records:
            self.caught_up.set()
        self._metrics.set_lag(lag, self._lag_partitions)
        self._lag_partitions = set(lag)
        self._metrics.active_users.set(self._active.count())
        if self._drift is not None:
            self._drift.export(self._metrics)

    def _record(self, batch: _Batch, seconds: float) -> None:
        if batch.result is not None:
            self._metrics.record_batch(batch.result, batch.acked_ms, seconds)
            self._active.touch(batch.result.users)
            if self._drift is not None:
                self._drift.observe(batch.scorer.version,
                                    (w.score for w in batch.result.windows))
        self._update_gauges()
