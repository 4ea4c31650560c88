"""Idle resolution by the sweep, on a real Redis: the open-episode index follows the saves,
a due entry's episode is resolved once (published, then saved, then released), a failed
sweep is redone with the same message, a batch that saved meanwhile wins, and an episode
whose window state expired is resolved from the index's snapshot."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid

import orjson
import pytest

from consumer.alerts.config import EpisodeConfig
from consumer.alerts.index import IndexingStore, OpenEpisodeIndex
from consumer.alerts.stage import AlertStage
from consumer.alerts.state import SECTION, decode_state
from consumer.alerts.sweep import IdleSweeper
from consumer.errors import BrokerUnavailable
from consumer.serve.processor import BatchProcessor, OutputTopics
from consumer.serve.recency import Recency
from consumer.windows.codec import unpack_extra
from consumer.windows.redis_store import RedisWindowStore
from consumer.windows.rules import WindowConfig

from .conftest import RecordingSink, batch

pytestmark = pytest.mark.integration

WINDOWS = WindowConfig(size=4, hop=2, max_gap_frames=2, max_gap_ms=500)
EPISODES = EpisodeConfig(open_windows=2, of_last=3, resolve_after_clean=2,
                         update_interval_ms=1000, cooldown_ms=1000, idle_after_ms=30_000)
KEY = ("eve", "s1")


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def kit(redis_client):
    prefix = f"u{uuid.uuid4().hex[:8]}"
    clock = Clock()
    raw = RedisWindowStore(redis_client, prefix, 120)
    index = OpenEpisodeIndex(redis_client, prefix)
    store = IndexingStore(raw, index, EPISODES.idle_after_ms, clock)
    processor = BatchProcessor(
        store, WINDOWS, OutputTopics("anom", "dlq", None), Recency(60),
        alerts=AlertStage(EPISODES, "alerts", {}))
    sink = RecordingSink()
    sweeper = IdleSweeper(store=raw, index=index, sink=sink, topic="alerts", config=EPISODES,
                          cue_texts={}, clock_ms=clock)

    class Kit:
        pass

    kit = Kit()
    kit.__dict__.update(clock=clock, raw=raw, index=index, store=store, processor=processor,
                        sink=sink, sweeper=sweeper, client=redis_client)
    return kit


def serve(kit, decoded, scorer) -> list[dict]:
    result = kit.processor.process(decoded, scorer)
    assert kit.store.save(result.updates) == []
    return [orjson.loads(r.value) for r in result.records if r.topic == "alerts"]


def sections(kit) -> dict[str, bytes]:
    return unpack_extra(kit.raw.load([KEY])[KEY].extra)


def test_the_index_follows_open_episodes(kit, nose_scorer) -> None:
    assert serve(kit, batch("eve", range(1, 9), bad=range(1, 9)), nose_scorer)
    assert kit.index.count() == 1
    assert kit.client.zscore(kit.index.open_key, "eve:s1") == 1_000_000 + 30_000
    serve(kit, batch("eve", range(9, 25)), nose_scorer)  # resolved by clean windows
    assert kit.index.count() == 0 and not kit.client.hgetall(kit.index.snap_key)


def test_an_idle_episode_is_resolved_once(kit, nose_scorer) -> None:
    opened = serve(kit, batch("eve", range(1, 9), bad=range(1, 9)), nose_scorer)
    assert kit.sweeper.sweep_once().transitions == []  # not due yet
    kit.clock.ms += 30_001
    result = kit.sweeper.sweep_once()
    assert [(t.kind, t.reason) for t in result.transitions] == [("resolved", "idle")]
    resolved = [orjson.loads(r.value) for r in kit.sink.published]
    assert [(m["type"], m["alert_id"]) for m in resolved] == [("resolved", opened[0]["alert_id"])]
    assert resolved[0]["end_frame"] == 8  # the last window of the batch, anomalous too
    assert decode_state(sections(kit)[SECTION]).episode is None
    assert kit.index.count() == 0
    kit.clock.ms += 600_000
    assert kit.sweeper.sweep_once().transitions == []


def test_a_failed_sweep_is_redone_with_the_same_message(kit, nose_scorer) -> None:
    serve(kit, batch("eve", range(1, 9), bad=range(1, 9)), nose_scorer)
    kit.clock.ms += 30_001
    kit.sink.fail = BrokerUnavailable("broker down")
    with pytest.raises(BrokerUnavailable):
        kit.sweeper.sweep_once()
    assert decode_state(sections(kit)[SECTION]).episode is not None  # nothing saved
    assert kit.sweeper.sweep_once().transitions == []  # still claimed by the failed sweep
    kit.clock.ms += 60_001  # the claim lapses
    again = kit.sweeper.sweep_once()
    assert [t.kind for t in again.transitions] == ["resolved"]
    assert kit.index.count() == 0


def test_a_batch_that_saved_meanwhile_wins(kit, nose_scorer) -> None:
    serve(kit, batch("eve", range(1, 9), bad=range(1, 9)), nose_scorer)
    kit.clock.ms += 30_001
    stale = kit.raw.load([KEY])
    serve(kit, batch("eve", range(9, 11), bad=range(9, 11)), nose_scorer)  # the runner is back

    class StaleStore:  # the sweep read the state just before the batch saved
        def load(self, keys):
            return stale

        def save(self, updates):
            return kit.raw.save(updates)

    kit.sweeper._store = StaleStore()
    kit.client.zadd(kit.index.open_key, {"eve:s1": 0})  # due, as the sweep saw it
    result = kit.sweeper.sweep_once()
    assert result.conflicts == 1
    assert decode_state(sections(kit)[SECTION]).episode is not None  # the batch's state
    assert kit.index.count() == 1  # and its entry stays


def test_an_expired_state_is_resolved_from_the_snapshot(kit, nose_scorer) -> None:
    opened = serve(kit, batch("eve", range(1, 9), bad=range(1, 9)), nose_scorer)
    kit.client.delete(kit.raw.key_for(KEY))  # every consumer was down for the whole TTL
    kit.clock.ms += 30_001
    result = kit.sweeper.sweep_once()
    assert [(t.kind, t.reason) for t in result.transitions] == [("resolved", "expired")]
    message = orjson.loads(kit.sink.published[0].value)
    assert message["alert_id"] == opened[0]["alert_id"]
    assert message["resolved_reason"] == "expired"
    assert kit.index.count() == 0


def test_the_sweeper_waits_until_the_loop_has_caught_up(kit, nose_scorer) -> None:
    # After a slow start the backlog may hold the windows that keep an episode open: resolving
    # it as idle before the loop read them would send a false `resolved` (and a new `opened`).
    serve(kit, batch("eve", range(1, 9), bad=range(1, 9)), nose_scorer)
    kit.clock.ms += 30_001  # due by the clock
    sweeper = IdleSweeper(store=kit.raw, index=kit.index, sink=kit.sink, topic="alerts",
                          config=dataclasses.replace(EPISODES, idle_after_ms=1),
                          cue_texts={}, clock_ms=kit.clock, interval_s=0.05)
    caught_up = threading.Event()
    sweeper.start(caught_up=caught_up)
    try:
        time.sleep(0.5)
        assert kit.sink.published == [] and kit.index.count() == 1
        caught_up.set()
        deadline = time.monotonic() + 5
        while not kit.sink.published and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sweeper.stop()
    assert [orjson.loads(r.value)["type"] for r in kit.sink.published] == ["resolved"]
