"""The ops endpoints on a loopback port: metrics text, liveness, readiness."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from consumer.serve.health import Health
from consumer.serve.http import OpsServer
from consumer.serve.metrics import ConsumerMetrics


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def server(kit):
    registry = CollectorRegistry()
    metrics = ConsumerMetrics.create(registry)
    clock = kit.FakeClock()
    health = Health(metrics, stall_after_s=30, clock=clock)
    ops = OpsServer("127.0.0.1", 0, registry, health).start()
    yield ops, metrics, health, clock
    ops.stop()


def test_metrics_are_served_as_prometheus_text(server) -> None:
    ops, metrics, _, _ = server
    metrics.frames_consumed.inc(3)
    status, body = get(ops.port, "/metrics")
    assert status == 200
    assert b"barunrun_frames_consumed_total 3.0" in body


def test_ready_only_when_every_dependency_is_up(server) -> None:
    ops, _, health, _ = server
    assert get(ops.port, "/healthz")[0] == 200
    status, body = get(ops.port, "/readyz")
    assert status == 503 and json.loads(body)["dependencies"]["redis"] is False
    for dependency in ("kafka", "redis", "model"):
        health.set(dependency, True)
    assert get(ops.port, "/readyz")[0] == 200
    health.set("redis", False, "redis PING failed")
    status, body = get(ops.port, "/readyz")
    assert status == 503 and json.loads(body)["detail"]["redis"] == "redis PING failed"


def test_not_live_when_the_loop_stalls(server) -> None:
    ops, _, health, clock = server
    health.turned()
    clock.advance(31)
    assert get(ops.port, "/healthz")[0] == 503
    health.turned()
    assert get(ops.port, "/healthz")[0] == 200


def test_unknown_path(server) -> None:
    assert get(server[0].port, "/nope")[0] == 404
