"""Regression: a zombie's stale window state must not cost the partition's owner its windows.

A consumer that stalls mid-batch (a long pause, a broker or network stall) is evicted from the
group; its partitions go to another consumer, which replays them from the last commit. When
the stalled one wakes up it finishes its batch, and its state save can land between the
owner's load and the owner's save. The compare-and-set then refuses the owner's save, and
Redis keeps the zombie's state, which is *behind* what the owner consumed. The loop used to
log "states written by another consumer kept" and commit: the owner's next batch met a state
with a hole in it and restarted the window (windows lost, windows the frames do not imply).

Here, in-process and deterministic: the owner's ``ServeLoop`` (fake Kafka, in-memory store)
and a zombie ``BatchProcessor`` whose save is slipped in just before the owner's. Every window
the frames imply must be published by one or the other, and nothing else.
"""

from __future__ import annotations

import threading

import orjson
import pytest
from prometheus_client import CollectorRegistry

from consumer.frames import encode_frame
from consumer.landmarks import FRAME_WIDTH
from consumer.serve.batch import decode_batch
from consumer.serve.health import Health
from consumer.serve.loop import ServeLoop
from consumer.serve.metrics import ConsumerMetrics
from consumer.serve.processor import BatchProcessor, OutputTopics
from consumer.serve.recency import Recency
from consumer.settings import load_settings
from consumer.windows.rules import WindowConfig
from consumer.windows.store import InMemoryWindowStore
from tests.support.reliability.fakes import FakeModels, FakeSink, FakeSource, NoisyScorer

pytestmark = pytest.mark.reliability

USER = "runner-1"
NOW_MS = 1_795_474_459_000
CONFIG = WindowConfig(size=4, hop=2, max_gap_frames=2, max_gap_ms=500)
TOPICS = OutputTopics("anomalies", "dlq", "scores")
SETTINGS = load_settings(environ={}).with_overrides(
    window={"size": 4, "hop": 2, "max_gap_frames": 2, "max_gap_ms": 500},
    kafka={"max_poll_records": 5},
    serve={"poll_timeout_ms": 10},
)


def frame_record(frame: int) -> tuple[bytes, bytes]:
    row = [0.5, 0.4, -0.1, 0.9] * (FRAME_WIDTH // 4)
    return USER.encode(), encode_frame(USER, frame, NOW_MS - 60_000 + 33 * frame, row,
                                       session_id="s")


class ZombieFirst:
    """The owner's store; the zombie's save is slipped in before the owner's first save."""

    def __init__(self, store: InMemoryWindowStore, zombie_save) -> None:
        self._store = store
        self._zombie_save = zombie_save

    def load(self, keys):
        return self._store.load(keys)

    def save(self, updates):
        if self._zombie_save is not None:
            self._zombie_save()
            self._zombie_save = None
        return self._store.save(updates)

    def ping(self) -> None:
        self._store.ping()


def window_ids(records) -> list[str]:
    return [orjson.loads(r.value)["window_id"] for r in records if r.topic == "scores"]


def test_the_owner_replays_a_batch_whose_state_save_lost_to_a_zombie() -> None:
    store = InMemoryWindowStore(120)
    scorer = NoisyScorer(CONFIG.size)
    log = [frame_record(f) for f in range(1, 17)]

    # Frames 1-3 were processed and committed by the zombie before it stalled.
    zombie = BatchProcessor(store, CONFIG, TOPICS, Recency(60), clock_ms=lambda: NOW_MS)
    first = zombie.process(decode_batch(FakeSource.records(log, 0, 3), NOW_MS), scorer)
    store.save(first.updates)
    # It stalled after loading its next batch (frames 4-5): its save comes late.
    stalled = zombie.process(decode_batch(FakeSource.records(log, 3, 5), NOW_MS), scorer)
    published = window_ids(first.records) + window_ids(stalled.records)

    # The owner replays from the commit (offset 3); the zombie saves between its load and save.
    source = FakeSource(log, committed=3)
    sink = FakeSink()
    owner_store = ZombieFirst(store, lambda: store.save(stalled.updates))
    registry = CollectorRegistry()
    metrics = ConsumerMetrics.create(registry)
    loop = ServeLoop(
        settings=SETTINGS, source=source, sink=sink, store=owner_store,
        processor=BatchProcessor(owner_store, CONFIG, TOPICS, Recency(60),
                                 clock_ms=lambda: NOW_MS),
        models=FakeModels(scorer), metrics=metrics, health=Health(metrics),
        active_users=Recency(60), clock_ms=lambda: NOW_MS,
    )
    stop = threading.Event()
    for _ in range(20):  # a few polls drain the log (replays included)
        loop.turn(stop)
    published += window_ids(sink.records)

    # The rules over frames 1-16: a window of 4 every 2 frames, ending 4, 6, ..., 16.
    assert set(published) == {f"{USER}:s:{end}" for end in range(4, 17, 2)}
    assert source.committed == len(log)
    assert registry.get_sample_value("barunrun_window_state_conflicts_total") == 1
    assert registry.get_sample_value("barunrun_window_restarts_total",
                                     {"reason": "gap"}) == 0
