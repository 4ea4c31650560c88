"""Personal baselines: running stats, personal_z in events and score records, replays, seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import orjson

from consumer.frames import encode_frame
from consumer.landmarks import FRAME_WIDTH
from consumer.lifecycle.personal import (
    EMPTY,
    SECTION,
    PersonalConfig,
    PersonalStage,
    PersonalStore,
    RunningStats,
    section_of,
    user_key,
)
from consumer.model.base import ScoreResult
from consumer.serve.batch import decode_batch
from consumer.serve.processor import BatchProcessor, OutputTopics
from consumer.serve.recency import Recency
from consumer.windows.codec import pack_extra
from consumer.windows.rules import WindowConfig
from consumer.windows.store import InMemoryWindowStore

CONFIG = WindowConfig(size=4, hop=2, max_gap_frames=2, max_gap_ms=500)
TOPICS = OutputTopics(anomalies="anom", dlq="dlq", scores="scores")
BASE_TS = 1_795_474_459_000
PERSONAL = PersonalConfig(min_windows=3, half_life_windows=50)


def test_first_windows_are_a_plain_running_mean_and_variance():
    stats, xs = RunningStats(), [0.3, -0.1, 0.7, 0.2]
    for x in xs:
        stats.update(x, PersonalConfig(min_windows=100, half_life_windows=10))
    assert math.isclose(stats.mean, np.mean(xs)) and math.isclose(stats.var, np.var(xs))


def test_z_is_null_before_min_windows_then_against_the_windows_before():
    stats = RunningStats()
    scores = [1.0, 1.1, 0.9, 1.0]
    zs = [stats.observe(s, PERSONAL) for s in scores]
    assert zs[:3] == [None, None, None] and zs[3] is not None and abs(zs[3]) < 1
    assert stats.observe(None, PERSONAL) is None and stats.n == 4  # unscored: not counted
    assert stats.observe(math.e ** 2, PERSONAL) > 10  # far above this runner's baseline


def test_a_burst_of_bad_windows_moves_the_baseline_slowly():
    stats = RunningStats()
    for _ in range(100):
        stats.observe(1.0 + 0.05 * np.sin(stats.n), PERSONAL)
    zs = [stats.observe(3.0, PERSONAL) for _ in range(10)]
    assert all(z is not None and z > 5 for z in zs)  # still far out after 10 bad windows


def test_sections_round_trip_and_garbage_starts_afresh():
    stats = RunningStats(12, 0.5, 0.04)
    again = RunningStats.unpack(stats.pack())
    assert (again.n, again.mean, again.var) == (12, 0.5, 0.04)
    assert RunningStats.unpack(b"junk").n == 0 and RunningStats.unpack(EMPTY).n == 0


class NoseScorer:
    """score = mean nose x of the window; anomalous above 0.5."""

    version, threshold, window_size = "nose-1", 0.5, CONFIG.size

    def score(self, windows: np.ndarray) -> ScoreResult:
        scores = windows[:, :, 0].mean(axis=1).astype(np.float32)
        valid = np.ones(len(windows), dtype=bool)
        return ScoreResult(scores, valid, (None,) * len(windows), scores > 0.5,
                           ((("nose", 1.0),),) * len(windows))


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def batch(user: str, frames: range, xs: list[float], session: str = "s1", offset: int = 0):
    records = []
    for i, frame in enumerate(frames):
        row = np.full(FRAME_WIDTH, 0.5, dtype=np.float32)
        row[3::4] = 0.9
        row[0] = xs[i % len(xs)]
        value = encode_frame(user, frame, BASE_TS + frame * 33, row, session_id=session)
        records.append(Rec("pose.frames", 0, offset + i, user.encode(), value))
    return decode_batch(records, BASE_TS + 100_000)


def processor(store) -> BatchProcessor:
    return BatchProcessor(store, CONFIG, TOPICS, Recency(60), clock_ms=lambda: 1,
                          personal=PersonalStage(PERSONAL))


def published(result, topic: str) -> list[dict]:
    return [orjson.loads(r.value) for r in result.records if r.topic == topic]


def test_events_and_score_records_carry_personal_z_null_before_the_minimum():
    store = InMemoryWindowStore(120)
    proc, scorer = processor(store), NoseScorer()
    xs = [0.40, 0.42, 0.38, 0.41]
    result = proc.process(batch("amy", range(1, 13), xs), scorer)  # windows end 4, 6, ..., 12
    store.save(result.updates)
    zs = [r["personal_z"] for r in published(result, "scores")]
    assert zs[:3] == [None, None, None] and all(isinstance(z, float) for z in zs[3:])
    bad = proc.process(batch("amy", range(13, 17), [0.9], offset=12), scorer)
    event = published(bad, "anom")[-1]
    assert event["personal_z"] > 3  # unusual for amy, as well as over the global threshold
    assert section_of(bad.updates[0].extra) is not None  # saved with the window state


def test_a_replayed_batch_gets_the_same_personal_z():
    store = InMemoryWindowStore(120)
    proc, scorer = processor(store), NoseScorer()
    store.save(proc.process(batch("bo", range(1, 13), [0.4, 0.45, 0.35]), scorer).updates)
    again = batch("bo", range(13, 25), [0.6, 0.3], offset=12)
    first = published(proc.process(again, scorer), "scores")
    # Not saved (a crash before step 5): the replay meets the same stored stats.
    second = published(proc.process(again, scorer), "scores")
    assert [r["personal_z"] for r in first] == [r["personal_z"] for r in second]
    assert any(r["personal_z"] is not None for r in first)


class FakeRedis:
    """The two calls PersonalStore makes: MGET, and a pipeline of SETs."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.calls: list[str] = []

    def mget(self, names):
        self.calls.append("mget")
        return [self.data.get(n) for n in names]

    def pipeline(self, transaction: bool = False):
        outer = self

        class Pipe:
            def __init__(self) -> None:
                self.ops: list[tuple[str, bytes, int]] = []

            def set(self, name, value, px):
                self.ops.append((name, value, px))

            def execute(self):
                outer.calls.append(f"pipeline:{len(self.ops)}")
                for name, value, _px in self.ops:
                    outer.data[name] = value

        return Pipe()


def test_a_new_session_is_seeded_from_the_runners_last_one_with_one_read_per_batch():
    redis = FakeRedis()
    store = PersonalStore(InMemoryWindowStore(120), redis, "p", ttl_s=3600)  # type: ignore[arg-type]
    proc, scorer = processor(store), NoseScorer()
    first = proc.process(batch("cy", range(1, 21), [0.4, 0.42, 0.38]), scorer)
    store.save(first.updates)
    assert redis.calls == ["mget", "pipeline:1"]  # one seed read, one write per batch
    seeded = RunningStats.unpack(redis.data[user_key("p", "cy")])
    assert seeded.n == len(published(first, "scores"))
    # The next session starts from that baseline: personal_z from its first window.
    later = proc.process(batch("cy", range(1, 5), [0.41], session="s2"), scorer)
    assert published(later, "scores")[0]["personal_z"] is not None
    assert redis.calls == ["mget", "pipeline:1", "mget"]
    # A session that already has its section reads nothing more.
    store.save(later.updates)
    proc.process(batch("cy", range(5, 9), [0.41], session="s2", offset=4), scorer)
    assert redis.calls.count("mget") == 2


def test_a_state_without_windows_is_seeded_empty_once_and_redis_errors_cost_only_the_seed():
    import redis as redis_lib

    class Down(FakeRedis):
        def mget(self, names):
            raise redis_lib.ConnectionError("down")

    inner = InMemoryWindowStore(120)
    store = PersonalStore(inner, Down(), "p", ttl_s=3600)  # type: ignore[arg-type]
    loaded = store.load([("dee", "s1")])
    assert section_of(loaded[("dee", "s1")].extra) == EMPTY
    assert pack_extra({SECTION: EMPTY}) == loaded[("dee", "s1")].extra
