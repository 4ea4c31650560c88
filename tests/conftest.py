"""Shared fixtures: a real broker and a real Redis for the whole session.

Each is started on a free loopback port by the same code as ``barunrun dev`` unless
``BARUNRUN_TEST_KAFKA`` / ``BARUNRUN_TEST_REDIS_URL`` point at external ones. Tests isolate
themselves with unique topic names, consumer groups and Redis key prefixes, so they can share
one broker and one Redis.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from consumer.settings import Settings, load_settings
from consumer.stack import EmbeddedBroker, EmbeddedRedis, ManagedProcess, create_topics, free_port
from tests.support.serving import (  # noqa: F401 - fixtures shared by every test folder
    all_windows_scored,
    consumers,
    reader,
    scorer,
    serve_kit,
)


@dataclass
class Service:
    """An address, and the process when the fixture started it (None when external)."""

    address: str
    process: ManagedProcess | None = None


@pytest.fixture(scope="session")
def stack_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="barunrun-test-") as folder:
        yield Path(folder)


@pytest.fixture(scope="session")
def kafka(stack_dir: Path) -> Iterator[Service]:
    external = os.environ.get("BARUNRUN_TEST_KAFKA")
    if external:
        yield Service(external)
        return
    broker = EmbeddedBroker(free_port(), stack_dir)
    broker.start()
    try:
        yield Service(broker.bootstrap, broker.proc)
    finally:
        broker.proc.stop()


@pytest.fixture(scope="session")
def redis_service(stack_dir: Path) -> Iterator[Service]:
    external = os.environ.get("BARUNRUN_TEST_REDIS_URL")
    if external:
        yield Service(external)
        return
    server = EmbeddedRedis(free_port(), stack_dir)
    server.start()
    try:
        yield Service(server.url, server.proc)
    finally:
        server.proc.stop()


@pytest.fixture
def unique() -> str:
    """A short unique token for topic names, groups and key prefixes of one test."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def settings_factory(kafka: Service, redis_service: Service, unique: str):
    """Settings pointing at the test broker and Redis, with this test's own topics and keys."""

    def build(partitions: int = 3, **sections: dict) -> Settings:
        base = load_settings(environ={})
        topics = {
            "frames": f"t{unique}.pose.frames",
            "anomalies": f"t{unique}.pose.anomalies",
            "dlq": f"t{unique}.pose.frames.dlq",
            "scores": f"t{unique}.pose.scores",
            "alerts": f"t{unique}.pose.alerts",
            "alerts_dlq": f"t{unique}.pose.alerts.dlq",
            "partitions": partitions,
        }
        settings = base.with_overrides(
            kafka={
                "bootstrap": kafka.address,
                # tansu's first group join waits about half the session timeout.
                "session_timeout_ms": 6000,
                "heartbeat_interval_ms": 1000,
                "request_timeout_ms": 10000,
            },
            topics=topics,
            redis={"url": redis_service.address, "key_prefix": f"t{unique}"},
            serve={"group_id": f"t{unique}-consumer"},
            metrics={"host": "127.0.0.1", "port": 0},
        )
        if sections:
            settings = settings.with_overrides(**sections)
        t = settings.topics
        topics = [t.frames, t.anomalies, t.dlq, t.scores, t.alerts, t.alerts_dlq]
        create_topics(settings.kafka.bootstrap, topics, partitions)
        return settings

    return build


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, small LSTM autoencoder trained on simulated runners, shared by the session.

    Trained once per test session (tens of seconds on 2 cores); ``BARUNRUN_TEST_MODEL_DIR``
    points at an existing artifact instead, to iterate faster locally.
    """
    existing = os.environ.get("BARUNRUN_TEST_MODEL_DIR")
    if existing:
        return Path(existing)
    from consumer.commands.model import bootstrap  # what deployments run: same code path

    out = tmp_path_factory.mktemp("models") / "current"
    return Path(str(bootstrap(out, size="test", seed=7)["model_dir"]))
