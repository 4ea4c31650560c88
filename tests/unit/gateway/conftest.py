"""Fakes for the gateway's unit tests: a Kafka producer whose acks the test controls, an event
consumer the test feeds, and an app built around them (served by Starlette's TestClient, so
the WebSocket and HTTP protocol is tested without a network)."""

from __future__ import annotations

import queue
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from consumer.frames import encode_frame
from consumer.gateway.app import create_app
from consumer.gateway.auth import issue_token
from consumer.gateway.runtime import GatewayRuntime
from consumer.settings import Settings, load_settings

if TYPE_CHECKING:
    from starlette.testclient import TestClient

SECRET = "unit-test-secret-that-is-long-enough-0123456789"


class FakeFuture:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[Any], None]] = []
        self._errbacks: list[Callable[[Any], None]] = []
        self.outcome: tuple[bool, Any] | None = None

    def add_callback(self, f: Callable[..., None], *args: Any) -> FakeFuture:
        return self._add(self._callbacks, True, lambda v: f(*args, v))

    def add_errback(self, f: Callable[..., None], *args: Any) -> FakeFuture:
        return self._add(self._errbacks, False, lambda v: f(*args, v))

    def _add(self, into: list, ok: bool, call: Callable[[Any], None]) -> FakeFuture:
        with self._lock:
            if self.outcome is None:
                into.append(call)
                return self
            done_ok, value = self.outcome
        if done_ok == ok:
            call(value)
        return self

    def resolve(self, ok: bool, value: Any) -> None:
        with self._lock:
            self.outcome = (ok, value)
            calls = self._callbacks if ok else self._errbacks
        for call in calls:
            call(value)


@dataclass
class Sent:
    topic: str
    key: bytes
    value: bytes
    future: FakeFuture


class FakeProducer:
    """Acks at once unless ``hold`` is set; then ``release()`` acks (or fails) the held ones."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.hold = False
        self._lock = threading.Lock()

    def send(self, topic: str, value: bytes, key: bytes) -> FakeFuture:
        future = FakeFuture()
        with self._lock:
            self.sent.append(Sent(topic, key, value, future))
        if not self.hold:
            future.resolve(True, "metadata")
        return future

    def release(self, error: BaseException | None = None) -> None:
        with self._lock:
            pending = [s for s in self.sent if s.future.outcome is None]
        for one in pending:
            one.future.resolve(error is None, error if error else "metadata")

    def flush(self, timeout: float | None = None) -> None:
        return None

    def close(self, timeout: float | None = None) -> None:
        return None


@pytest.fixture
def fake_producer() -> FakeProducer:
    return FakeProducer()


@dataclass
class FakeRecord:
    key: bytes | None
    value: bytes | None


class FakeEventConsumer:
    """Partitions for every topic in ``topics``; ``push(topic, key, value)`` feeds poll."""

    def __init__(self, topics: set[str]) -> None:
        self._topics = topics
        self._records: queue.Queue[tuple[str, FakeRecord]] = queue.Queue()

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0} if topic in self._topics else None

    def assign(self, partitions: list) -> None:
        self.assigned = partitions

    def seek_to_end(self, *partitions: Any) -> None:
        return None

    def push(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self._records.put((topic, FakeRecord(key, value)))

    def poll(self, timeout_ms: int = 0) -> dict:
        from kafka import TopicPartition

        try:
            topic, record = self._records.get(timeout=timeout_ms / 1000)
        except queue.Empty:
            return {}
        return {TopicPartition(topic, 0): [record]}

    def close(self, autocommit: bool = False) -> None:
        return None


def gateway_settings(**gateway: Any) -> Settings:
    return load_settings(environ={}).with_overrides(gateway={"jwt_secret": SECRET, **gateway})


def landmarks(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.1, 0.9, (33, 4)).astype(np.float32)


def frame_json(user: str, frame: int, session: str = "s-1", ts_ms: int | None = None) -> bytes:
    ts = int(time.time() * 1000) if ts_ms is None else ts_ms
    return encode_frame(user, frame, ts, landmarks(frame), session_id=session)


@dataclass
class GatewayKit:
    runtime: GatewayRuntime
    producer: FakeProducer
    events: FakeEventConsumer
    client: TestClient
    settings: Settings

    def token(self, user: str, ttl_s: float = 3600, now: float | None = None) -> str:
        return issue_token(self.settings.gateway, user, ttl_s, now=now)

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        return self.runtime.registry.get_sample_value(name, labels or {}) or 0.0

    # Helpers for the test modules (which cannot import a conftest).
    frame_json = staticmethod(frame_json)
    landmarks = staticmethod(landmarks)


@pytest.fixture
def gateway_kit() -> Iterator[Callable[..., GatewayKit]]:
    """``make(**gateway_overrides)`` -> an app on fakes, served by a TestClient."""
    with warnings.catch_warnings():
        # Starlette asks for httpx2 for its test client; httpx (installed) still works.
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    clients: list[TestClient] = []

    def make(**gateway: Any) -> GatewayKit:
        settings = gateway_settings(**gateway)
        producer = FakeProducer()
        events = FakeEventConsumer({settings.topics.frames, settings.topics.anomalies,
                                    settings.topics.alerts})
        runtime = GatewayRuntime.assemble(settings, producer, events)  # type: ignore[arg-type]
        client = TestClient(create_app(runtime))
        client.__enter__()
        clients.append(client)
        return GatewayKit(runtime, producer, events, client, settings)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
