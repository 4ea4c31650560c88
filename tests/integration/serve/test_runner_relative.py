"""A runner-relative model served through the real broker and Redis: each session's channel
levels ride in its window state, and a fault that sets in shows against the runner."""

from __future__ import annotations

import time

import pytest

from consumer.features.runner_level import SECTION, RunnerLevels
from consumer.model.artifact import load_scorer
from consumer.model.scorer import WindowScorer
from consumer.training.train import TrainOptions, train
from consumer.windows.codec import unpack_extra
from consumer.windows.redis_store import RedisWindowStore, connect_redis
from producer_sim.dataset import write_dataset
from producer_sim.publish import stream_runners

pytestmark = pytest.mark.integration

FULLY_FAULTY_AFTER = 45  # frames: the fault's ramp


@pytest.fixture(scope="module")
def relative_scorer(tmp_path_factory: pytest.TempPathFactory) -> WindowScorer:
    root = tmp_path_factory.mktemp("relative")
    write_dataset(root / "data", normal_runners=12, abnormal_runners=0, frames=300, seed=5)
    train([root / "data" / "normal"], root / "model",
          TrainOptions(model="pca", hop=5, runner_relative=True))
    return load_scorer(root / "model")


def test_session_levels_live_in_redis_and_a_fault_shows_against_the_runner(
        settings_factory, consumers, reader, all_windows_scored, relative_scorer) -> None:
    settings = settings_factory(partitions=2)
    running = consumers(settings, scorer=relative_scorer)
    summary = stream_runners(settings, runners=4, duration_s=15, fault_rate=0.5,
                             realtime=False, seed=23, faults=("trunk_lean",),
                             user_prefix="rel")
    audit = all_windows_scored(settings, summary.frames_sent, timeout_s=120)
    assert not running.errors
    runners = {r.user_id: r for r in summary.runners}
    faulty = {u for u, r in runners.items() if r.fault}
    assert faulty and len(faulty) < len(runners)
    anomalies = reader(settings, settings.topics.anomalies)
    deadline = time.monotonic() + 30
    events = anomalies.values()
    while not any(e["user_id"] in faulty for e in events) and time.monotonic() < deadline:
        time.sleep(0.5)
        events = anomalies.values()
    late = [e for e in events if e["user_id"] in faulty and e["window_start_frame"]
            >= runners[e["user_id"]].onset_frame + FULLY_FAULTY_AFTER]
    assert late, "no faulty runner flagged after its fault set in"
    normal_windows = [s for s in audit.scores.values()
                      if s["user_id"] not in faulty and s["valid"]]
    assert sum(s["anomaly"] for s in normal_windows) <= 0.2 * len(normal_windows)

    store = RedisWindowStore(connect_redis(settings.redis), settings.redis.key_prefix,
                             settings.window.idle_ttl_s)
    keys = [(u, r.session_id) for u, r in runners.items()]
    for loaded in store.load(keys).values():
        levels = RunnerLevels.decode(unpack_extra(loaded.extra)[SECTION],
                                     relative_scorer.runner_channels)
        assert levels.ready and levels.frames >= 15 * 30 - 60
