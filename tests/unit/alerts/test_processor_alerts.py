"""The batch processor with the alert stage: alerts in the batch's records, episode state in
the window state's extra bytes beside the gait state, identical alerts on a replay."""

from __future__ import annotations

import orjson

from consumer.alerts.config import EpisodeConfig
from consumer.alerts.stage import AlertStage
from consumer.alerts.state import SECTION, decode_state
from consumer.serve.processor import BatchProcessor, OutputTopics
from consumer.serve.recency import Recency
from consumer.windows.codec import unpack_extra
from consumer.windows.rules import WindowConfig
from consumer.windows.store import InMemoryWindowStore

from .conftest import batch

WINDOWS = WindowConfig(size=4, hop=2, max_gap_frames=2, max_gap_ms=500)
EPISODES = EpisodeConfig(open_windows=2, of_last=3, resolve_after_clean=2,
                         update_interval_ms=1000, cooldown_ms=1000, idle_after_ms=5000)
TOPICS = OutputTopics(anomalies="anom", dlq="dlq", scores=None)
TEXTS = {"hunched_head": {"en": "Head up.", "ko": "고개를 드세요."}}


def processor(store: InMemoryWindowStore, clock_ms: int = 777) -> BatchProcessor:
    return BatchProcessor(store, WINDOWS, TOPICS, Recency(60), clock_ms=lambda: clock_ms,
                          alerts=AlertStage(EPISODES, "alerts", TEXTS))


def alerts(result) -> list[dict]:
    return [orjson.loads(r.value) for r in result.records if r.topic == "alerts"]


def run(store: InMemoryWindowStore, proc: BatchProcessor, decoded, scorer):
    result = proc.process(decoded, scorer)
    assert store.save(result.updates) == []
    return result


def test_an_episode_opens_and_resolves_across_batches(nose_scorer) -> None:
    store = InMemoryWindowStore(120)
    proc = processor(store)
    # Windows end at frames 4, 6, 8, ... (size 4, hop 2); with frames 3-9 bad, the mean nose x
    # passes 0.5 in the windows ending 4 to 10.
    first = run(store, proc, batch("ann", range(1, 9), bad=range(3, 10)), nose_scorer)
    opened = alerts(first)
    assert [(a["type"], a["seq"]) for a in opened] == [("opened", 0)]
    assert opened[0]["alert_id"] == "ann:s1:4" and opened[0]["message_id"] == "ann:s1:4:0"
    assert opened[0]["windows"] == {"count": 2, "anomalous": 2, "first": "ann:s1:4",
                                    "last": "ann:s1:6"}
    assert opened[0]["top_joints"] == [{"joint": "nose", "share": 1.0}]
    assert opened[0]["emitted_at_ms"] == 777
    assert [r.key for r in first.records if r.topic == "alerts"] == [b"ann"]
    assert [t.kind for t in first.alert_transitions] == ["opened"]

    state = store.load([("ann", "s1")])[("ann", "s1")]
    assert decode_state(unpack_extra(state.extra)[SECTION]).episode is not None

    second = run(store, proc, batch("ann", range(9, 25), bad=range(3, 10)), nose_scorer)
    resolved = alerts(second)
    assert [(a["type"], a["alert_id"]) for a in resolved] == [("resolved", "ann:s1:4")]
    assert resolved[0]["resolved_reason"] == "clean"
    assert resolved[0]["end_frame"] == 10 and resolved[0]["start_frame"] == 1


def test_a_replayed_batch_emits_identical_alerts(nose_scorer) -> None:
    store = InMemoryWindowStore(120)
    run(store, processor(store), batch("bo", range(1, 5)), nose_scorer)
    before = store.load([("bo", "s1")])
    step = batch("bo", range(5, 21), bad=range(5, 13))
    first = processor(store, clock_ms=1).process(step, nose_scorer)
    # A crash before the save: the batch is consumed again and meets the same state.
    assert store.load([("bo", "s1")]) == before
    again = processor(store, clock_ms=2).process(step, nose_scorer)

    def identity(result) -> list[dict]:
        return [{k: v for k, v in a.items() if k != "emitted_at_ms"} for a in alerts(result)]

    assert identity(first) == identity(again)
    assert [a["type"] for a in alerts(first)] == ["opened", "resolved"]
    assert [u.extra for u in first.updates] == [u.extra for u in again.updates]


def test_normal_runners_keep_no_episode_state(nose_scorer) -> None:
    store = InMemoryWindowStore(120)
    result = run(store, processor(store), batch("cy", range(1, 30)), nose_scorer)
    assert alerts(result) == []
    assert store.load([("cy", "s1")])[("cy", "s1")].extra == b""


def test_without_an_alert_stage_nothing_changes(nose_scorer) -> None:
    store = InMemoryWindowStore(120)
    plain = BatchProcessor(store, WINDOWS, TOPICS, Recency(60))
    result = run(store, plain, batch("di", range(1, 20), bad=range(1, 20)), nose_scorer)
    assert alerts(result) == [] and result.alert_transitions == []
    assert store.load([("di", "s1")])[("di", "s1")].extra == b""
