"""The gateway on a real broker (and, where events are needed, a real consumer and Redis).

* ``gateway``: ``start(settings, **gateway_overrides)`` builds a ``GatewayRuntime`` and serves
  it with uvicorn on a thread on a free port; stopped at the end of the test.
* ``consumer_for``: the streaming consumer (``ConsumerService``) in a thread, on the session's
  model (loaded once: TensorFlow and the model cost seconds per load).
* ``GatewayClient``: a WebSocket client (the ``websockets`` library, sync API) that follows
  the protocol: resends what ``slow_down`` refused, in order, after ``retry_after_ms``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from consumer.gateway.auth import issue_token
from consumer.gateway.runtime import GatewayRuntime
from consumer.gateway.server import GatewayServer
from consumer.settings import Settings

SECRET = "integration-test-secret-0123456789abcdef"


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


def with_gateway(settings: Settings, **gateway: Any) -> Settings:
    return settings.with_overrides(gateway={"jwt_secret": SECRET, **gateway})


@pytest.fixture
def gateway() -> Iterator[Callable[..., GatewayServer]]:
    servers: list[GatewayServer] = []

    def start(settings: Settings, **gateway_overrides: Any) -> GatewayServer:
        settings = with_gateway(settings, **gateway_overrides)
        runtime = GatewayRuntime.build(settings, startup_timeout_s=20)
        server = GatewayServer(runtime).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def token_for(server: GatewayServer, user: str, ttl_s: float = 3600, **kw: Any) -> str:
    return issue_token(server.runtime.settings.gateway, user, ttl_s, **kw)


@pytest.fixture(scope="session")
def scorer(model_dir: Path):
    from consumer.serve.reload import default_loader, load_checked

    return load_checked(Path(model_dir), default_loader, 30)


@pytest.fixture
def consumer_for(scorer) -> Iterator[Callable[[Settings], Any]]:
    running: list[tuple[Any, threading.Event, threading.Thread]] = []

    def start(settings: Settings) -> Any:
        from consumer.serve.app import ConsumerService

        service = ConsumerService.build(settings, scorer=scorer, startup_timeout_s=20)
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
        thread.start()
        running.append((service, stop, thread))
        return service

    yield start
    for _service, stop, thread in running:
        stop.set()
        thread.join(60)


class GatewayClient:
    """Streams frames over one socket, obeying ``slow_down``; records everything it hears."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.close_code: int | None = None
        self.hello: dict = {}
        try:
            self.hello = orjson.loads(ws.recv(timeout=10))
        except ConnectionClosed as exc:  # refused: the close code says why
            self.close_code = exc.rcvd.code if exc.rcvd else 1006
        self.acked: set[int] = set()
        self.rejected: list[dict] = []
        self.slow_downs: list[dict] = []
        self.events: list[dict] = []
        self._queue: deque[tuple[int, bytes | str]] = deque()
        self._sent: dict[int, bytes | str] = {}
        self._paused_until = 0.0

    def enqueue(self, frame: int, message: bytes | str) -> None:
        self._queue.append((frame, message))
        self._sent[frame] = message

    def sent(self, frame: int) -> bytes | str:
        return self._sent[frame]

    def pump(self, rate_per_s: float = 0.0, max_s: float = 60.0,
             until: Callable[[GatewayClient], bool] | None = None) -> None:
        """Send the queue (at most ``rate_per_s`` when > 0) and read the replies, until
        ``until`` holds (default: every queued frame acked) or ``max_s`` passes."""
        done = until or (lambda c: not c._queue and c.acked >= set(c._sent))
        interval = 1.0 / rate_per_s if rate_per_s else 0.0
        deadline = time.monotonic() + max_s
        next_send = time.monotonic()
        while not done(self) and time.monotonic() < deadline and self.close_code is None:
            now = time.monotonic()
            if self._queue and now >= self._paused_until and now >= next_send:
                self.ws.send(self._queue.popleft()[1])
                next_send = now + interval
                self._read(0.0)
            else:
                self._read(0.02)

    def _read(self, timeout_s: float) -> None:
        try:
            raw = self.ws.recv(timeout=timeout_s)
        except TimeoutError:
            return
        except ConnectionClosed as exc:
            self.close_code = exc.rcvd.code if exc.rcvd else 1006
            return
        self.handle(orjson.loads(raw))

    def handle(self, message: dict) -> None:
        kind = message["type"]
        if kind == "ack":
            self.acked.update(message["frames"])
        elif kind == "rejected":
            self.rejected.extend(message["frames"])
        elif kind == "slow_down":
            self.slow_downs.append(message)
            refused = sorted(n for n in message["refused"] if n in self._sent)
            self._queue.extendleft((n, self._sent[n]) for n in reversed(refused))
            self._paused_until = time.monotonic() + message["retry_after_ms"] / 1000
        elif kind in ("anomaly", "alert"):
            self.events.append(message)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.close_code is None:
            self._read(0.05)


@pytest.fixture
def open_client() -> Iterator[Callable[..., GatewayClient]]:
    with contextlib.ExitStack() as stack:

        def open_one(
            server: GatewayServer, token: str | None, query: str = ""
        ) -> GatewayClient:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            ws = stack.enter_context(connect(
                f"{server.ws_url}?{query}", additional_headers=headers,
                open_timeout=10, max_size=2**20,
            ))
            return GatewayClient(ws)

        yield open_one


def read_topic(settings: Settings, topic: str, expected: int, timeout_s: float = 30) -> list:
    """Every record of ``topic`` once at least ``expected`` are readable (assigned, no group)."""
    consumer = KafkaConsumer(enable_auto_commit=False, auto_offset_reset="earliest",
                             **settings.kafka.client_options())
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        records: list = []

        def enough() -> bool:
            for batch in consumer.poll(timeout_ms=200, max_records=100_000).values():
                records.extend(batch)
            return len(records) >= expected

        wait_for(enough, timeout_s, f"{expected} records on {topic}")
        return records
    finally:
        consumer.close(autocommit=False)


class GatewayKit:
    """Helpers for the test modules (which cannot import a conftest)."""

    wait_for = staticmethod(wait_for)
    token_for = staticmethod(token_for)
    read_topic = staticmethod(read_topic)


@pytest.fixture
def kit() -> type[GatewayKit]:
    return GatewayKit
