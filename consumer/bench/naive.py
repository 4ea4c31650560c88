"""The naive way, as the seed did it, per message: ``json.loads``, three Redis commands per
frame (RPUSH the frame's JSON, LTRIM to the window, LRANGE it back), and ``model.predict`` on
each completed window, one at a time.

Windows complete at the same hop as the pipeline's (every 10th frame once 30 are kept), so
both variants score the same number of windows; publishing events is left out, which only
flatters the naive way. It is too slow to drain the whole backlog in a benchmark: it runs on
the first ``budget_s`` seconds' worth of messages and the rate for the whole backlog is
extrapolated from the two costs it measured (per frame, and per window scored) and the
number of windows the whole backlog completes (``extrapolate``).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis
from kafka import KafkaConsumer, TopicPartition

from consumer.landmarks import FRAME_WIDTH
from consumer.model.scorer import WindowScorer
from consumer.settings import Settings

# The subset goes on past the time budget until this many windows were scored, so the
# per-window cost is measured, never assumed.
MIN_WINDOWS = 20


@dataclass(frozen=True)
class NaiveResult:
    frames: int  # frames processed in the measured subset
    windows: int  # windows scored in the subset
    seconds: float
    frame_ms: float  # per frame: decode + three Redis round trips
    window_ms: float  # per window: read back, decode 30 frames, features, model.predict

    @property
    def subset_fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)

    def extrapolate(self, total_frames: int, total_windows: int) -> float:
        """frames/s over a backlog of ``total_frames`` completing ``total_windows``."""
        seconds = total_frames * self.frame_ms / 1000 + total_windows * self.window_ms / 1000
        return total_frames / max(seconds, 1e-9)


def naive_windows(frames_per_runner: list[int], size: int, hop: int) -> int:
    """Windows the naive way completes: every ``hop``-th frame once ``size`` are kept."""
    return sum((m - size) // hop + 1 for m in frames_per_runner if m >= size)


class _Predictor:
    """One window at a time through ``model.predict`` (the seed's call)."""

    def __init__(self, scorer: WindowScorer) -> None:
        self._scorer = scorer
        self._model: Any = getattr(scorer.reconstructor, "model", None)

    def warm_up(self) -> None:
        """The first predict calls build and trace the model's graph: not the steady cost."""
        if self._model is not None:
            _, steps, channels = self._model.input_shape
            for _ in range(2):
                self._model.predict(np.zeros((1, steps, channels), np.float32), verbose=0)

    def score(self, window: np.ndarray) -> float | None:
        batch = self._scorer.pipeline.transform(window[None])
        if not bool(batch.valid[0]):
            return None
        scaled = self._scorer.scaler.transform(batch.features, batch.view)
        if self._model is None:  # a PCA model has no Keras predict: its own call, one window
            return float(self._scorer.reconstructor.channel_errors(scaled).mean())
        reconstruction = self._model.predict(scaled, verbose=0)
        return float(np.mean((reconstruction - scaled) ** 2))


def run_naive(
    settings: Settings, topic: str, redis_url: str, scorer: WindowScorer, budget_s: float,
    size: int, hop: int, key_prefix: str = "bench-naive",
) -> NaiveResult:
    predictor = _Predictor(scorer)
    predictor.warm_up()
    client = redis.Redis.from_url(redis_url)
    consumer = KafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest",
                             **settings.kafka.client_options())
    consumer.assign([TopicPartition(topic, p)
                     for p in sorted(consumer.partitions_for_topic(topic) or ())])
    consumer.seek_to_beginning()
    seen: Counter[str] = Counter()
    frames = windows = 0
    window_seconds = 0.0
    started = 0.0
    try:
        while not started or not _enough(time.perf_counter() - started, budget_s, windows):
            batches = consumer.poll(timeout_ms=500, max_records=500)
            if not batches:
                if started:
                    break  # the whole backlog is done
                continue
            started = started or time.perf_counter()
            for record in (r for records in batches.values() for r in records):
                message = json.loads(record.value)
                key = f"{key_prefix}:{message['user_id']}:{message.get('session_id', 'default')}"
                client.rpush(key, record.value)
                client.ltrim(key, -size, -1)
                kept = client.lrange(key, 0, -1)
                frames += 1
                seen[key] += 1
                if len(kept) == size and (seen[key] - size) % hop == 0:
                    begun = time.perf_counter()
                    window = np.array([json.loads(f)["landmarks"] for f in kept],
                                      dtype=np.float32).reshape(size, FRAME_WIDTH)
                    predictor.score(window)
                    window_seconds += time.perf_counter() - begun
                    windows += 1
                if _enough(time.perf_counter() - started, budget_s, windows):
                    break
        seconds = time.perf_counter() - started
    finally:
        consumer.close(autocommit=False)
        client.close()
    frame_ms = (seconds - window_seconds) / max(frames, 1) * 1000
    window_ms = window_seconds / max(windows, 1) * 1000
    return NaiveResult(frames, windows, seconds, frame_ms, window_ms)


def _enough(elapsed_s: float, budget_s: float, windows: int) -> bool:
    return elapsed_s >= budget_s and windows >= MIN_WINDOWS
