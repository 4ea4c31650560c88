"""Serving both models: who flagged a window, what its event gains, which model is primary."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from consumer.classifier.scorer import ClassifierResult
from consumer.frames import encode_frame
from consumer.landmarks import FRAME_WIDTH
from consumer.model.base import ScoreResult
from consumer.serve.batch import decode_batch
from consumer.serve.detectors import DetectorScorer, serves_autoencoder
from consumer.serve.processor import BatchProcessor, OutputTopics
from consumer.serve.recency import Recency
from consumer.windows.rules import WindowConfig
from consumer.windows.store import InMemoryWindowStore

SIZE = 4
BASE_TS = 1_795_474_459_000


class FakeAutoencoder:
    """score = mean nose x; rejects windows whose nose visibility drops below 0.2."""

    version, threshold, window_size = "ae-1", 0.5, SIZE

    def score(self, windows: np.ndarray) -> ScoreResult:
        valid = windows[:, :, 3].min(axis=1) >= 0.2
        scores = np.where(valid, windows[:, :, 0].mean(axis=1), np.nan).astype(np.float32)
        return ScoreResult(scores, valid, tuple(None if v else "blind" for v in valid),
                           valid & (scores > self.threshold),
                           tuple(((("nose", 1.0),) if v else ()) for v in valid))


class FakeClassifier:
    """P(bad form) = mean nose y; the fault head says "limp" (0.8) when y > 0.7."""

    version, threshold, window_size = "clf-1", 0.6, SIZE

    def score(self, windows: np.ndarray) -> ClassifierResult:
        p = windows[:, :, 1].mean(axis=1).astype(np.float32)
        valid = np.ones(len(p), dtype=bool)
        return ClassifierResult(
            p, valid, tuple(None for _ in p), p > self.threshold, tuple(() for _ in p),
            faults=("knee_valgus", "limp"),
            fault_index=np.where(p > 0.7, 1, 0).astype(np.int64),
            fault_probability=np.full(len(p), 0.8, dtype=np.float32),
        )


def windows(x: list[float], y: list[float], visibility: float = 0.9) -> np.ndarray:
    out = np.full((len(x), SIZE, FRAME_WIDTH), 0.5, dtype=np.float32)
    out[:, :, 3::4] = visibility
    out[:, :, 0] = np.array(x)[:, None]
    out[:, :, 1] = np.array(y)[:, None]
    return out


def test_both_models_say_who_flagged_each_window() -> None:
    both = DetectorScorer(FakeAutoencoder(), FakeClassifier())
    result = both.score(windows([0.2, 0.9, 0.2, 0.9], [0.1, 0.1, 0.9, 0.65]))
    assert result.flagged_by == ((), ("autoencoder",), ("classifier",),
                                 ("autoencoder", "classifier"))
    assert result.is_anomaly.tolist() == [False, True, True, True]
    # The autoencoder is primary: its score, threshold, joints and version.
    assert result.scores[1] == pytest.approx(0.9) and both.threshold == 0.5
    assert both.version == "ae-1" and result.top_joints[0] == (("nose", 1.0),)
    assert result.extras[0] == {"classifier_probability": 0.1, "classifier_threshold": 0.6,
                                "classifier_version": "clf-1"}
    # The fault is named only where the classifier flagged the window.
    assert "fault" not in result.extras[1]
    assert result.extras[2]["fault"] == "limp" and result.extras[2]["fault_probability"] == 0.8
    assert result.extras[3]["fault"] == "knee_valgus"


def test_the_classifier_alone_is_primary() -> None:
    alone = DetectorScorer(None, FakeClassifier())
    result = alone.score(windows([0.9, 0.2], [0.1, 0.9]))
    assert alone.version == "clf-1" and alone.threshold == 0.6
    assert result.flagged_by == ((), ("classifier",))
    assert result.scores.tolist() == pytest.approx([0.1, 0.9])


def test_no_flag_where_the_primary_model_rejected_the_window() -> None:
    result = DetectorScorer(FakeAutoencoder(), FakeClassifier()).score(
        windows([0.9], [0.9], visibility=0.1))
    assert not result.valid[0] and result.flagged_by == ((),)
    assert not result.is_anomaly[0]


def test_the_autoencoder_is_loaded_unless_a_classifier_replaces_it() -> None:
    assert serves_autoencoder(("autoencoder",)) and serves_autoencoder(("rules",))
    assert serves_autoencoder(("autoencoder", "classifier"))
    assert not serves_autoencoder(("classifier",)) and not serves_autoencoder(
        ("classifier", "rules"))


def test_events_carry_detectors_probability_and_fault() -> None:
    config = WindowConfig(size=SIZE, hop=2, max_gap_frames=2, max_gap_ms=500)
    processor = BatchProcessor(InMemoryWindowStore(120), config,
                               OutputTopics("anom", "dlq", "scores"), Recency(60),
                               clock_ms=lambda: 777)

    def frames(user: str, x: float, y: float) -> list:
        row = np.full(FRAME_WIDTH, 0.5, dtype=np.float32)
        row[3::4], row[0], row[1] = 0.9, x, y
        return [_Record(encode_frame(user, f, BASE_TS + 33 * f, row, session_id="s1"),
                        user.encode(), f) for f in range(1, SIZE + 1)]

    records = frames("calm", 0.2, 0.1) + frames("ae", 0.9, 0.1) + frames("clf", 0.2, 0.9)
    result = processor.process(decode_batch(records, BASE_TS + 10_000),
                               DetectorScorer(FakeAutoencoder(), FakeClassifier()))
    events = {e["user_id"]: e for e in
              (orjson.loads(r.value) for r in result.records if r.topic == "anom")}
    assert set(events) == {"ae", "clf"}
    assert events["ae"]["detectors"] == ["autoencoder"]
    assert events["ae"]["classifier_probability"] == pytest.approx(0.1)
    assert "fault" not in events["ae"]
    assert events["clf"]["detectors"] == ["classifier"]
    assert events["clf"]["fault"] == "limp"
    assert events["clf"]["model_version"] == "ae-1"  # the contract's score stays the AE's
    assert events["clf"]["score"] < events["clf"]["threshold"]


class _Record:
    def __init__(self, value: bytes, key: bytes, offset: int) -> None:
        self.topic, self.partition, self.offset = "pose.frames", 0, offset
        self.key, self.value = key, value
