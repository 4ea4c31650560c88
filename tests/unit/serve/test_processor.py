"""The batch processor with the in-memory store and a predictable test scorer."""

from __future__ import annotations

import dataclasses

import numpy as np
import orjson
import pytest

from consumer.features.runner_level import SECTION as RUNNER_SECTION
from consumer.features.runner_level import RunnerLevels
from consumer.serve.batch import decode_batch
from consumer.serve.processor import BatchProcessor, OutputTopics
from consumer.serve.recency import Recency
from consumer.windows.codec import unpack_extra
from consumer.windows.rules import WindowConfig
from consumer.windows.store import InMemoryWindowStore

CONFIG = WindowConfig(size=4, hop=2, max_gap_frames=2, max_gap_ms=500)
TOPICS = OutputTopics(anomalies="anom", dlq="dlq", scores="scores")


@pytest.fixture
def setup(kit):
    store = InMemoryWindowStore(120)
    scorer = kit.StepScorer(CONFIG.size, threshold=0.5)
    processor = BatchProcessor(store, CONFIG, TOPICS, Recency(60), clock_ms=lambda: 777)
    return store, scorer, processor


def by_topic(result) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for record in result.records:
        out.setdefault(record.topic, []).append(orjson.loads(record.value))
    return out


def test_anomalous_windows_become_events_every_window_a_score_record(kit, records, setup):
    _store, scorer, processor = setup
    recs = [records.frame("calm", f, x=0.3) for f in range(1, 7)]
    recs += [records.frame("bad", f, x=0.9) for f in range(1, 5)]
    result = processor.process(decode_batch(recs, kit.NOW_MS), scorer)
    published = by_topic(result)
    assert [e["event_id"] for e in published["anom"]] == ["bad:s1:4"]
    assert published["anom"][0]["top_joints"] == [{"joint": "nose", "share": 1.0}]
    assert published["anom"][0]["emitted_at_ms"] == 777
    assert sorted(s["window_id"] for s in published["scores"]) == [
        "bad:s1:4", "calm:s1:4", "calm:s1:6",
    ]
    assert all(r.key == r_key for r, r_key in
               ((r, orjson.loads(r.value)["user_id"].encode()) for r in result.records))
    assert scorer.calls == [3]  # every window of the batch in one call
    assert result.scored == 3 and result.anomalies == 1
    assert result.users == {"calm", "bad"}


def test_unscorable_windows_are_recorded_not_flagged(kit, records, setup):
    _store, scorer, processor = setup
    recs = [records.frame("blind", f, x=0.9, visibility=0.1) for f in range(1, 5)]
    result = processor.process(decode_batch(recs, kit.NOW_MS), scorer)
    published = by_topic(result)
    assert "anom" not in published
    assert published["scores"][0]["valid"] is False
    assert result.not_scored == {"low_visibility": 1}
    assert result.scored == 0


def test_rejected_frames_go_to_the_dead_letter_topic(kit, records, setup):
    _store, scorer, processor = setup
    recs = [records(b"\xff", b"u"), records.frame("u", 1)]
    result = processor.process(decode_batch(recs, kit.NOW_MS), scorer)
    letters = by_topic(result)["dlq"]
    assert letters[0]["reason"] == "invalid_utf8"
    assert letters[0]["source"] == {"topic": "pose.frames", "partition": 0, "offset": 0}
    assert result.records[0].key == b"u"
    assert result.rejected == {"invalid_utf8": 1}


def test_only_changed_states_are_saved(kit, records, setup):
    store, scorer, processor = setup
    first = processor.process(decode_batch([records.frame("u", 1)], kit.NOW_MS), scorer)
    assert len(first.updates) == 1 and first.updates[0].expected_version == 0
    store.save(first.updates)
    replay = processor.process(decode_batch([records.frame("u", 1)], kit.NOW_MS), scorer)
    assert replay.updates == [] and replay.ignored == {"duplicate": 1}


def test_score_records_can_be_turned_off(kit, records):
    processor = BatchProcessor(
        InMemoryWindowStore(120), CONFIG, OutputTopics("anom", "dlq", None), Recency(60)
    )
    recs = [records.frame("u", f, x=0.9) for f in range(1, 5)]
    result = processor.process(decode_batch(recs, kit.NOW_MS), kit.StepScorer(4))
    assert {r.topic for r in result.records} == {"anom"}


def test_batch_with_only_rejects_touches_no_state(kit, records, setup):
    store, scorer, processor = setup
    result = processor.process(decode_batch([records(b"[]", b"u")], kit.NOW_MS), scorer)
    assert store.round_trips == 0 and scorer.calls == [] and result.score_seconds is None


class RunnerStepScorer:
    """A runner-relative ``Scorer`` double: each run's levels count the windows seen."""

    runner_relative = True
    runner_channels = 1

    def __init__(self, kit) -> None:
        self._inner = kit.StepScorer(CONFIG.size, threshold=0.5)
        self.seen: list[list[float]] = []  # per call, each run's frames before it

    version = property(lambda self: self._inner.version)
    threshold = property(lambda self: self._inner.threshold)
    window_size = property(lambda self: self._inner.window_size)

    def score(self, windows, runs):
        result = self._inner.score(windows)
        levels = []
        i = 0
        self.seen.append([])
        for before, count in runs.spans:
            state = before or RunnerLevels.empty(1)
            self.seen[-1].append(state.frames)
            for j in range(i, i + count):
                state = state.follow(np.zeros(1), np.zeros(1), 0, float(runs.end_frames[j]),
                                     np.ones(1), CONFIG.size)
            levels.append(state)
            i += count
        return dataclasses.replace(result, runner_levels=tuple(levels))


def test_a_runner_relative_model_gets_each_session_levels_back_next_batch(kit, records):
    store = InMemoryWindowStore(120)
    scorer = RunnerStepScorer(kit)
    processor = BatchProcessor(store, CONFIG, TOPICS, Recency(60), clock_ms=lambda: 777)
    first = processor.process(decode_batch([records.frame("u", f) for f in range(1, 7)],
                                           kit.NOW_MS), scorer)
    store.save(first.updates)
    assert RUNNER_SECTION in unpack_extra(first.updates[0].extra)
    second = processor.process(decode_batch([records.frame("u", f) for f in range(7, 9)],
                                            kit.NOW_MS), scorer)
    # Windows ending at frames 4 and 6 (4 frames, then 2 more), then the one ending at 8.
    assert scorer.seen == [[0.0], [6.0]]
    levels = RunnerLevels.decode(unpack_extra(second.updates[0].extra)[RUNNER_SECTION], 1)
    assert levels.frames == 8.0 and levels.last_end == 8.0
