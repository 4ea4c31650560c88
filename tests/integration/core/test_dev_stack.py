"""`barunrun dev`: starts a real broker and Redis, prints where, stops both on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from kafka import KafkaAdminClient

from consumer.stack import free_port

pytestmark = pytest.mark.integration


def test_dev_starts_broker_and_redis_and_stops_cleanly_on_sigterm() -> None:
    kafka_port, redis_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "consumer", "dev", "--json",
         "--kafka-port", str(kafka_port), "--redis-port", str(redis_port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "BARUNRUN_TOPICS_PARTITIONS": "2"},
    )
    try:
        assert proc.stdout is not None
        addresses = json.loads(proc.stdout.readline())
        assert addresses["kafka_bootstrap"] == f"127.0.0.1:{kafka_port}"
        assert addresses["redis_url"] == f"redis://127.0.0.1:{redis_port}/0"
        assert redis.Redis.from_url(addresses["redis_url"]).ping()
        admin = KafkaAdminClient(bootstrap_servers=addresses["kafka_bootstrap"])
        try:
            described = {t["name"]: t for t in admin.describe_topics(addresses["topics"])}
        finally:
            admin.close()
        assert set(described) == {
            "pose.frames", "pose.anomalies", "pose.frames.dlq", "pose.scores", "pose.labels",
            "pose.alerts", "pose.alerts.dlq",
        }
        assert all(len(t["partitions"]) == 2 for t in described.values())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        with pytest.raises(redis.ConnectionError):
            redis.Redis(port=redis_port, socket_connect_timeout=1).ping()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_dev_fails_with_one_line_reason_on_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[window]\nhop = 0\n")
    result = subprocess.run(
        [sys.executable, "-m", "consumer", "dev", "--config", str(bad)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("barunrun dev: error: invalid configuration")
