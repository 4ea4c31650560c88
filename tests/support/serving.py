"""Fixtures for the consumer on a real broker, a real Redis and the real trained model.

Registered for every test by tests/conftest.py (serve, deploy, reliability, gateway, ...).

* ``scorer``: the session's model (``model_dir``), loaded once and shared by the in-process
  consumers: TensorFlow and the model cost ~6 s per load.
* ``consumers``: starts ``ConsumerService``s in threads (each its own Kafka clients, Redis
  client, metrics registry and HTTP port), stops them at the end of the test.
* ``TopicReader``: everything on a topic so far, read with an assigned consumer (no group).
* ``all_windows_scored``: waits until the scores topic holds every window the rules yield
  from what is on the frames topic: audits compare with what was actually sent, never with
  lag or watermarks (tansu's can trail what is readable).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from consumer.frames import FrameLimits, InvalidFrame, decode_frame
from consumer.landmarks import FRAME_WIDTH
from consumer.model.base import Scorer
from consumer.serve.app import ConsumerService
from consumer.serve.processor import window_config
from consumer.serve.reload import default_loader, load_checked
from consumer.settings import Settings
from consumer.windows.rules import apply_frames


@pytest.fixture(scope="session")
def scorer(model_dir: Path) -> Scorer:
    return load_checked(Path(model_dir), default_loader, 30)


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll a condition (never a fixed sleep); fail with ``what`` when it never holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


class TopicReader:
    """Accumulates every record of a topic (all partitions, from the start)."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self._consumer = KafkaConsumer(
            enable_auto_commit=False, auto_offset_reset="earliest",
            **settings.kafka.client_options(),
        )
        partitions = self._consumer.partitions_for_topic(topic) or set()
        self._consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        self._consumer.seek_to_beginning()
        self.records: list = []

    def read(self) -> list:
        for batch in self._consumer.poll(timeout_ms=200, max_records=100_000).values():
            self.records.extend(batch)
        return self.records

    def values(self) -> list[dict]:
        return [orjson.loads(r.value) for r in self.read()]

    def close(self) -> None:
        self._consumer.close(autocommit=False)


@pytest.fixture
def reader() -> Iterator[Callable[[Settings, str], TopicReader]]:
    opened: list[TopicReader] = []

    def open_reader(settings: Settings, topic: str) -> TopicReader:
        opened.append(TopicReader(settings, topic))
        return opened[-1]

    yield open_reader
    for one in opened:
        one.close()


def expected_windows(settings: Settings, frame_records: list) -> set[str]:
    """Window ids the rules yield from these frame records (valid ones, partition order)."""
    config = window_config(settings)
    limits = FrameLimits(max_future_ms=10**12, max_age_ms=10**12)  # already accepted once
    by_key: dict[tuple[str, str], list[tuple[int, int, np.ndarray]]] = {}
    row = np.empty(FRAME_WIDTH, dtype=np.float32)
    for record in sorted(frame_records, key=lambda r: (r.partition, r.offset)):
        try:
            meta = decode_frame(record.value, record.key, row, int(time.time() * 1000), limits)
        except InvalidFrame:
            continue
        by_key.setdefault((meta.user_id, meta.session_id), []).append(
            (meta.frame, meta.ts_ms, row.copy())
        )
    ids: set[str] = set()
    for (user, session), frames in by_key.items():
        applied = apply_frames(
            None,
            np.array([f for f, _, _ in frames], dtype=np.int64),
            np.array([t for _, t, _ in frames], dtype=np.int64),
            np.stack([v for _, _, v in frames]),
            config,
        )
        ids.update(f"{user}:{session}:{int(end)}" for end in applied.window_frames[:, -1])
    return ids


@dataclass
class RunningConsumer:
    service: ConsumerService
    stop: threading.Event
    thread: threading.Thread
    errors: list[BaseException] = field(default_factory=list)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        return self.service.registry.get_sample_value(name, labels or {}) or 0.0

    def halt(self, timeout_s: float = 60.0) -> None:
        self.stop.set()
        self.thread.join(timeout_s)


@pytest.fixture
def consumers(scorer: Scorer) -> Iterator[Callable[..., RunningConsumer]]:
    """``start(settings, **build_kwargs)`` -> a consumer serving in a thread until the end."""
    started: list[RunningConsumer] = []

    def start(settings: Settings, **kwargs: object) -> RunningConsumer:
        kwargs.setdefault("scorer", scorer)
        service = ConsumerService.build(settings, startup_timeout_s=20, **kwargs)  # type: ignore[arg-type]
        stop = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            try:
                service.run(stop)
            except BaseException as exc:  # the test inspects what ended the thread
                errors.append(exc)

        thread = threading.Thread(target=serve, name="test-consumer", daemon=True)
        running = RunningConsumer(service, stop, thread, errors)
        started.append(running)
        thread.start()
        return running

    yield start
    for running in started:
        with contextlib.suppress(Exception):
            running.halt()


@dataclass
class Audit:
    frames: TopicReader  # everything on the frames topic
    scores: TopicReader  # every score record so far
    expected: set[str]  # the window ids the frames imply


@pytest.fixture
def all_windows_scored(reader) -> Callable[..., Audit]:
    """``wait(settings, frames_sent)``: once every frame sent is on the topic, wait until
    the scores topic holds every window those frames imply."""

    def wait(settings: Settings, frames_sent: int, timeout_s: float = 90.0) -> Audit:
        frames = reader(settings, settings.topics.frames)
        wait_for(lambda: len(frames.read()) >= frames_sent, 30, f"{frames_sent} frames")
        expected = expected_windows(settings, frames.records)
        scores = reader(settings, settings.topics.scores)
        wait_for(
            lambda: {s["window_id"] for s in scores.values()} >= expected, timeout_s,
            f"all {len(expected)} windows scored",
        )
        return Audit(frames, scores, expected)

    return wait


class ServeKit:
    """Helpers for the test modules (which cannot import a conftest)."""

    wait_for = staticmethod(wait_for)


@pytest.fixture
def serve_kit() -> type[ServeKit]:
    return ServeKit
