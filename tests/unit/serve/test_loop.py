"""The serving loop's delivery invariant, with a fake Kafka and the in-memory store.

A crash is injected at each point of the batch (before the state load, in scoring, in the
publish, between flush and state save, between save and commit); a new loop then starts from
the committed offsets, as a restarted process would. Whatever the point, the windows whose
records were acknowledged add up to exactly the windows of a run without a crash (none
lost), duplicates carry the same ids, and the final window states are the same.
"""

from __future__ import annotations

import threading
from collections import Counter

import orjson
import pytest
from prometheus_client import CollectorRegistry

from consumer.errors import BrokerUnavailable, CommitRefused, RedisUnavailable
from consumer.serve.health import Health
from consumer.serve.loop import ServeLoop
from consumer.serve.metrics import ConsumerMetrics
from consumer.serve.processor import BatchProcessor, OutputTopics
from consumer.serve.recency import Recency
from consumer.settings import load_settings
from consumer.windows.rules import WindowConfig
from consumer.windows.store import InMemoryWindowStore

CONFIG = WindowConfig(size=4, hop=2, max_gap_frames=2, max_gap_ms=500)
TOPICS = OutputTopics("anom", "dlq", "scores")
SETTINGS = load_settings(environ={}).with_overrides(
    window={"size": 4, "hop": 2, "max_gap_frames": 2, "max_gap_ms": 500},
    kafka={"max_poll_records": 7},
    serve={"backoff_initial_s": 0.5, "backoff_max_s": 4.0, "poll_timeout_ms": 100},
)


class Crash(Exception):
    """Stands for kill -9 at that point: nothing after it runs."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeSource:
    """One topic's partitions as lists; positions start at the committed offsets."""

    def __init__(self, log: dict[int, list], committed: dict[int, int], clock: FakeClock):
        self.log = log
        self.committed = committed
        self.position = {p: committed.get(p, 0) for p in log}
        self.paused = False
        self.clock = clock
        self.revoke_on_poll: int | None = None  # revoke at the nth poll
        self.polls = 0
        self.pauses = self.resumes = 0
        self.commit_errors: list[Exception] = []
        self.closed = False
        self._revoked = False
        self.on_poll = None
        self.joined = True
        self.assignment = set(log)
        self.assignment_after_revoke = set(log)
        self.commit_calls: list[dict] = []

    def poll(self, timeout_ms: int, max_records: int) -> list:
        self.polls += 1
        if self.on_poll:
            self.on_poll(self)
        if self.revoke_on_poll == self.polls:
            self._revoked, self.paused = True, False  # a new assignment is not paused
            self.position = {p: self.committed.get(p, 0) for p in self.log}
            self.assignment = self.assignment_after_revoke
        out: list = []
        if not self.paused:
            for p, records in self.log.items():
                if p not in self.assignment:
                    continue
                take = records[self.position[p]: self.position[p] + max_records - len(out)]
                out.extend(take)
                self.position[p] += len(take)
        if not out:
            self.clock.now += timeout_ms / 1000
        return out

    def rebalanced(self) -> bool:
        revoked, self._revoked = self._revoked, False
        return revoked

    def in_group(self) -> bool:
        return self.joined

    def pause_all(self) -> None:
        self.paused = True
        self.pauses += 1

    def resume_all(self) -> None:
        self.paused = False
        self.resumes += 1

    def rewind(self, offsets: dict) -> None:
        for (_topic, p), offset in offsets.items():
            self.position[p] = offset

    def commit(self, next_offsets: dict) -> None:
        self.commit_calls.append(dict(next_offsets))
        if self.commit_errors:
            raise self.commit_errors.pop(0)
        for (_topic, p), offset in next_offsets.items():
            self.committed[p] = offset

    def lag(self) -> dict[int, int]:
        return {p: len(records) - self.position[p] for p, records in self.log.items()}

    def close(self) -> None:
        self.closed = True


class FakeSink:
    def __init__(self) -> None:
        self.acked: list = []
        self.errors: list[Exception] = []
        self.attempts = 0

    def publish(self, records) -> None:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        self.acked.extend(records)

    def close(self) -> None:
        pass

    def ids(self, topic: str) -> list[str]:
        key = "event_id" if topic == "anom" else "window_id"
        return [orjson.loads(r.value)[key] for r in self.acked if r.topic == topic]


class FaultyStore(InMemoryWindowStore):
    """The in-memory store with failures queued per operation."""

    def __init__(self) -> None:
        super().__init__(idle_ttl_s=3600)
        self.fail: dict[str, list[Exception]] = {"load": [], "save": []}

    def load(self, keys):
        if self.fail["load"]:
            raise self.fail["load"].pop(0)
        return super().load(keys)

    def save(self, updates):
        if self.fail["save"]:
            raise self.fail["save"].pop(0)
        return super().save(updates)


class CrashingScorer:
    def __init__(self, inner) -> None:
        self.inner, self.crash = inner, False
        self.version, self.threshold, self.window_size = inner.version, inner.threshold, 4

    def score(self, windows):
        if self.crash:
            self.crash = False
            raise Crash("in scoring")
        return self.inner.score(windows)


class Models:
    def __init__(self, scorer) -> None:
        self.scorer = scorer

    def swap(self):
        return self.scorer


def build_log(kit) -> dict[int, list]:
    """Two partitions, three runners, 12 frames each, some anomalous, plus bad messages."""
    records = kit.RecordFactory()
    log: dict[int, list] = {0: [], 1: []}
    for f in range(1, 13):
        for user, partition in (("ann", 0), ("bob", 1), ("cid", 0)):
            x = 0.9 if user == "bob" and f > 6 else 0.3
            log[partition].append(records.frame(user, f, partition=partition, x=x))
        if f % 5 == 0:
            log[1].append(records(b"garbage", b"bob", partition=1))
    return log


class Harness:
    def __init__(self, kit, store=None, sink=None, committed=None, scorer=None) -> None:
        self.kit = kit
        self.clock = FakeClock()
        self.store = store or FaultyStore()
        self.sink = sink or FakeSink()
        self.committed = committed if committed is not None else {}
        self.log = build_log(kit)
        self.source = FakeSource(self.log, self.committed, self.clock)
        self.registry = CollectorRegistry()
        self.metrics = ConsumerMetrics.create(self.registry)
        self.health = Health(self.metrics, clock=self.clock)
        self.scorer = scorer or kit.StepScorer(4)
        processor = BatchProcessor(
            self.store, CONFIG, TOPICS, Recency(60, self.clock), clock_ms=lambda: kit.NOW_MS
        )
        self.loop = ServeLoop(
            settings=SETTINGS, source=self.source, sink=self.sink, store=self.store,
            processor=processor, models=Models(self.scorer), metrics=self.metrics,
            health=self.health, active_users=Recency(60, self.clock),
            clock_ms=lambda: kit.NOW_MS, monotonic=self.clock,
        )
        self.stop = threading.Event()

    def drain(self, max_turns: int = 50) -> None:
        total = sum(len(r) for r in self.log.values())
        for _ in range(max_turns):
            if sum(self.committed.values()) >= total:
                return
            self.loop.turn(self.stop)
        pytest.fail("the loop did not commit everything")


@pytest.fixture
def reference(kit):
    """The outcome of a run without faults."""
    run = Harness(kit)
    run.drain()
    return run


def test_clean_run_publishes_each_window_once(reference) -> None:
    scores = reference.sink.ids("scores")
    assert len(scores) == len(set(scores)) == 3 * 5  # 12 frames, size 4, hop 2 -> 5 each
    assert reference.sink.ids("anom") == ["bob:s1:8", "bob:s1:10", "bob:s1:12"]
    assert sum(r.topic == "dlq" for r in reference.sink.acked) == 2


CRASH_POINTS = ["load", "score", "publish", "after_flush", "after_save"]


@pytest.mark.parametrize("point", CRASH_POINTS)
@pytest.mark.parametrize("batch_number", [1, 3])
def test_crash_then_replay_loses_no_window(kit, reference, point: str, batch_number: int):
    store, sink, committed = FaultyStore(), FakeSink(), {}
    scorer = CrashingScorer(kit.StepScorer(4))
    first = Harness(kit, store=store, sink=sink, committed=committed, scorer=scorer)
    for _ in range(batch_number - 1):
        first.loop.turn(first.stop)
    crash = Crash(point)
    if point == "load":
        store.fail["load"].append(crash)
    elif point == "score":
        scorer.crash = True
    elif point == "publish":
        sink.errors.append(crash)
    elif point == "after_flush":
        store.fail["save"].append(crash)
    elif point == "after_save":
        first.source.commit_errors.append(crash)
    with pytest.raises(Crash):
        first.loop.turn(first.stop)
    # A new process: same broker (acked records, committed offsets) and same Redis.
    second = Harness(kit, store=store, sink=sink, committed=committed)
    second.drain()
    assert set(sink.ids("scores")) == set(reference.sink.ids("scores"))
    assert set(sink.ids("anom")) == set(reference.sink.ids("anom"))
    keys = [("ann", "s1"), ("bob", "s1"), ("cid", "s1")]
    for key, got, want in zip(
        keys, store.load(keys).values(), reference.store.load(keys).values(), strict=True
    ):
        assert got.window.frames.tolist() == want.window.frames.tolist(), key
        assert got.window.accepted == want.window.accepted, key
    duplicates = Counter(sink.ids("scores")) - Counter(reference.sink.ids("scores"))
    assert set(duplicates) <= set(reference.sink.ids("scores"))  # only same-id replays


def test_redis_outage_pauses_backs_off_and_retries_only_the_failed_step(kit) -> None:
    run = Harness(kit)
    outage = [RedisUnavailable("down")] * 3
    run.store.fail["save"].extend(outage)
    run.loop.turn(run.stop)
    assert run.source.pauses == 1 and run.source.resumes == 1 and not run.source.paused
    assert run.sink.attempts == 1  # published once: only the save was retried
    assert run.committed  # the batch completed
    value = run.registry.get_sample_value
    assert value("barunrun_dependency_failures_total", {"dependency": "redis"}) == 3
    assert value("barunrun_dependency_up", {"dependency": "redis"}) == 1
    run.drain()
    assert value("barunrun_frames_consumed_total") == sum(len(r) for r in run.log.values())


def test_backoff_grows_with_jitter_up_to_the_maximum(kit) -> None:
    run = Harness(kit)
    run.store.fail["load"].extend([RedisUnavailable("down")] * 6)
    started = run.clock.now
    run.loop.turn(run.stop)
    waited = run.clock.now - started
    # 0.5 + 1 + 2 + 4 + 4 + 4 = 15.5 s without jitter; jitter takes each to 50-100 %.
    assert 15.5 * 0.5 <= waited <= 15.5 + 1


def test_broker_outage_republishes_the_same_ids(kit, reference) -> None:
    run = Harness(kit)
    run.sink.errors.append(BrokerUnavailable("no ack"))
    run.drain()
    batches = (sum(len(r) for r in run.log.values()) + 6) // 7
    assert run.sink.attempts == batches + 1  # the failed publish was retried once
    assert set(run.sink.ids("scores")) == set(reference.sink.ids("scores"))
    value = run.registry.get_sample_value
    assert value("barunrun_dependency_failures_total", {"dependency": "kafka"}) == 1


def test_revocation_while_waiting_drops_the_batch_uncommitted(kit, reference) -> None:
    run = Harness(kit)
    run.store.fail["load"].extend([RedisUnavailable("down")] * 2)
    run.source.revoke_on_poll = 2  # the first poll inside the backoff sees the rebalance
    run.loop.turn(run.stop)
    assert run.committed == {}
    assert run.sink.acked == []
    assert run.source.position == {0: 0, 1: 0}  # rewound: the batch will be read again
    run.drain()
    assert set(run.sink.ids("scores")) == set(reference.sink.ids("scores"))


def test_stop_finishes_the_current_batch_then_closes(kit) -> None:
    run = Harness(kit)

    def sigterm_once(source: FakeSource) -> None:
        if source.polls == 1:
            run.stop.set()

    run.source.on_poll = sigterm_once
    run.loop.run(run.stop)
    assert sum(run.committed.values()) == 7 and run.source.polls == 1
    assert run.sink.acked  # its records were published before closing
    assert run.source.closed


def test_stop_while_waiting_for_a_dependency_drops_the_batch(kit) -> None:
    run = Harness(kit)
    run.store.fail["load"].extend([RedisUnavailable("down")] * 100)
    run.source.on_poll = lambda source: run.stop.set() if source.polls == 3 else None
    run.loop.run(run.stop)
    assert run.committed == {} and run.source.closed


def test_commit_failures_are_retried_or_dropped(kit) -> None:
    run = Harness(kit)
    run.source.commit_errors.append(BrokerUnavailable("coordinator down"))
    run.loop.turn(run.stop)
    assert run.committed == {}  # kept for the next attempt ...
    run.loop.turn(run.stop)
    assert sum(run.committed.values()) == 14  # ... and committed with the next batch
    run.source.commit_errors.append(CommitRefused("rebalanced"))
    run.loop.turn(run.stop)
    assert sum(run.committed.values()) == 14  # the new owner replays the third batch


def test_readiness_follows_the_dependencies(kit) -> None:
    run = Harness(kit)
    for dependency in ("kafka", "redis", "model"):
        run.health.set(dependency, True)
    run.store.fail["save"].append(RedisUnavailable("down"))
    seen: list[bool] = []
    run.source.on_poll = lambda source: seen.append(run.health.report().ready)
    run.loop.turn(run.stop)
    assert seen[0] is True and False in seen  # not ready while Redis was failing
    assert run.health.report().ready


def test_when_idle_kafka_health_follows_group_membership_and_redis_is_pinged(kit) -> None:
    run = Harness(kit)
    run.drain()
    run.source.joined = False
    run.loop.turn(run.stop)  # nothing left: an idle turn
    assert run.health.is_up("kafka") is False
    run.source.joined = True
    run.loop.turn(run.stop)
    assert run.health.is_up("kafka") is True
    run.store.ping = lambda: (_ for _ in ()).throw(RedisUnavailable("PING failed"))
    run.clock.now += 10  # past the idle ping interval
    run.loop.turn(run.stop)
    assert run.health.is_up("redis") is False
    assert run.registry.get_sample_value("barunrun_active_users") == 3
    assert run.registry.get_sample_value("barunrun_consumer_lag_messages", {"partition": "0"}) == 0


def test_offsets_left_by_a_failed_commit_are_dropped_after_a_rebalance(kit) -> None:
    run = Harness(kit)
    run.source.commit_errors.extend([BrokerUnavailable("down"), BrokerUnavailable("down")])
    run.loop.turn(run.stop)  # a batch of partition 0 done; its commit failed
    run.source.revoke_on_poll = 2  # the next poll rebalances: partition 0 goes elsewhere
    run.source.assignment_after_revoke = {1}
    run.loop.turn(run.stop)  # the retried commit fails again, then the rebalance
    late = [call for call in run.source.commit_calls[2:] if ("pose.frames", 0) in call]
    assert late == []  # never committed for a partition another consumer owns now
    assert run.committed.get(1)  # partition 1 goes on
