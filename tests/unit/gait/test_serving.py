"""The consumer's batch processor with the gait stage: events gain view, metrics, cues and
detectors; the rolling gait state rides in the window state's extra bytes."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from consumer.errors import ConfigError
from consumer.gait.evaluate.sessions import simulate
from consumer.gait.serving import GaitStage, check_detectors, enabled_detectors, load_state
from consumer.gait.state_codec import MAGIC
from consumer.model.base import ScoreResult
from consumer.serve.batch import DecodedBatch, FrameGroup
from consumer.serve.processor import BatchProcessor, OutputTopics
from consumer.serve.recency import Recency
from consumer.windows.rules import WindowConfig
from consumer.windows.store import InMemoryWindowStore

CONFIG = WindowConfig(size=30, hop=10, max_gap_frames=5, max_gap_ms=1000)
TOPICS = OutputTopics(anomalies="anom", dlq="dlq", scores="scores")
BASE_TS = 1_795_474_459_000


class QuietScorer:
    """A scorer that never flags (so every event here is the rules')."""

    version, threshold, window_size = "quiet-1", 1.0, 30

    def score(self, windows: np.ndarray) -> ScoreResult:
        n = len(windows)
        return ScoreResult(np.zeros(n, np.float32), np.ones(n, bool), (None,) * n,
                           np.zeros(n, bool), ((),) * n)


def _stream(processor: BatchProcessor, store: InMemoryWindowStore, user: str,
            fault: str | None, batch_frames: int = 25) -> list[dict]:
    session = simulate(204, "side", 0, fault, frames=330, onset=60)
    kept = np.isfinite(session.landmarks).all(axis=1)
    frames = session.frames[kept]
    values = session.landmarks[kept].astype(np.float32)
    events = []
    for start in range(0, len(frames), batch_frames):
        part = slice(start, start + batch_frames)
        group = FrameGroup((user, "s1"), frames[part],
                           BASE_TS + np.round(frames[part] * 1000 / 30).astype(np.int64),
                           values[part])
        result = processor.process(DecodedBatch(len(frames[part]), [group], []), QuietScorer())
        assert store.save(result.updates) == []
        events += [orjson.loads(r.value) for r in result.records if r.topic == "anom"]
    return events


@pytest.fixture
def store() -> InMemoryWindowStore:
    return InMemoryWindowStore(120)


def _processor(store: InMemoryWindowStore, detectors: tuple[str, ...]) -> BatchProcessor:
    return BatchProcessor(store, CONFIG, TOPICS, Recency(60), clock_ms=lambda: 777,
                          gait=GaitStage(), detectors=detectors)


def test_rules_raise_events_with_view_metrics_cues_and_detectors(store) -> None:
    events = _stream(_processor(store, ("autoencoder", "rules")), store, "leaner", "trunk_lean")
    assert len(events) >= 10
    late = [e for e in events if e["window_start_frame"] >= 60 + 45]
    assert late, events
    for event in late:
        assert event["detectors"] == ["rules"]
        assert event["view"] == "side"
        assert event["metrics"]["trunk_lean_deg"] > 13
        assert "cadence_spm" in event["metrics"]
        assert "knee_valgus_rel" not in event["metrics"]  # a front-view metric
        assert "trunk_lean" in [c["id"] for c in event["cues"]]
        assert {"id", "text", "severity"} <= set(event["cues"][0])
        # The contract's fields are all still there.
        assert {"event_id", "score", "threshold", "model_version", "top_joints"} <= set(event)
    state = load_state(store.load([("leaner", "s1")])[("leaner", "s1")].extra)
    assert state is not None and 150 < state.cadence_spm() < 200


def test_normal_runner_raises_few_rule_events(store) -> None:
    events = _stream(_processor(store, ("autoencoder", "rules")), store, "calm", None)
    assert len(events) <= 3


def test_autoencoder_only_means_no_rule_events(store) -> None:
    assert _stream(_processor(store, ("autoencoder",)), store, "leaner", "trunk_lean") == []


def test_detector_names_are_checked() -> None:
    assert check_detectors(["rules", "rules"]) == ("rules",)
    with pytest.raises(ConfigError):
        check_detectors(["autoencoder", "magic"])
    with pytest.raises(ConfigError):
        check_detectors([])

    class WithSection:
        class detectors:  # noqa: N801 - mimics a settings section
            enabled = ("rules",)

    assert enabled_detectors(WithSection()) == ("rules",)
    assert enabled_detectors(object()) == ("autoencoder",)


def test_a_foreign_or_broken_extra_is_not_a_gait_state() -> None:
    assert load_state(b"") is None
    assert load_state(b"someone else's state") is None
    assert load_state(MAGIC + b"broken") is None
