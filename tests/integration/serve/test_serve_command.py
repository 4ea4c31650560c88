"""``barunrun serve`` as a process: start-up failures in one line, SIGTERM commits and exits."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from consumer.errors import ConfigError, ServiceUnavailable
from consumer.serve.app import ConsumerService
from consumer.settings import Settings
from consumer.stack import free_port
from producer_sim.publish import stream_runners

pytestmark = pytest.mark.integration


def environment(settings: Settings, model_dir: Path | str) -> dict[str, str]:
    """The settings as the BARUNRUN_* variables a deployment would set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARUNRUN_")}
    chosen = {
        "kafka": ("bootstrap", "session_timeout_ms", "heartbeat_interval_ms"),
        "topics": ("frames", "anomalies", "dlq", "scores"),
        "redis": ("url", "key_prefix"),
        "serve": ("group_id",),
    }
    for section, fields in chosen.items():
        for field in fields:
            value = getattr(getattr(settings, section), field)
            env[f"BARUNRUN_{section}_{field}".upper()] = str(value)
    env["BARUNRUN_MODEL_DIR"] = str(model_dir)
    env["BARUNRUN_METRICS_PORT"] = "0"
    env["BARUNRUN_METRICS_HOST"] = "127.0.0.1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return env


def serve(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "consumer", "serve", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_missing_model_fails_fast_in_one_line(settings_factory, tmp_path) -> None:
    process = serve(environment(settings_factory(), tmp_path / "no-model"))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 4
    lines = [line for line in err.strip().splitlines() if "error" in line]
    assert lines == [f"barunrun serve: error: model directory {tmp_path / 'no-model'} "
                     "does not exist"]


@pytest.mark.parametrize("service", ["redis", "kafka"])
def test_unreachable_services_fail_start_up_after_a_bounded_wait(
    settings_factory, scorer, service: str
) -> None:
    """In-process (no second TensorFlow start); the CLI maps these errors to exit code 3."""
    dead = f"127.0.0.1:{free_port()}"
    if service == "redis":
        settings = settings_factory().with_overrides(redis={"url": f"redis://{dead}/0"})
    else:
        settings = settings_factory().with_overrides(kafka={"bootstrap": dead})
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="did not answer within 2 s"):
        ConsumerService.build(settings, scorer=scorer, startup_timeout_s=2)
    assert time.monotonic() - started < 30


def test_sigterm_finishes_commits_and_exits_cleanly(
    settings_factory, model_dir, all_windows_scored
) -> None:
    settings = settings_factory(partitions=2)
    process = serve(environment(settings, model_dir))
    log: list[str] = []
    ready = threading.Event()

    def follow() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            log.append(line)
            if "serving topic=" in line:
                ready.set()

    threading.Thread(target=follow, daemon=True).start()
    try:
        assert ready.wait(120), "".join(log[-20:])
        port = int(re.search(r"metrics_port=(\d+)", "".join(log)).group(1))  # type: ignore[union-attr]
        assert port > 0
        summary = stream_runners(settings, runners=2, duration_s=4, fault_rate=0.0,
                                 realtime=False, seed=61, user_prefix="term")
        frames = all_windows_scored(settings, summary.frames_sent).frames
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert any("consumer loop stopped" in line for line in log)

    ends: dict[int, int] = {}
    for record in frames.records:
        ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
    checker = KafkaConsumer(group_id=settings.serve.group_id, enable_auto_commit=False,
                            **settings.kafka.client_options())
    try:
        for partition, end in ends.items():
            committed = checker.committed(TopicPartition(settings.topics.frames, partition))
            assert committed == end, f"partition {partition}: {committed} != {end}"
    finally:
        checker.close(autocommit=False)


def test_missing_topics_are_a_clear_config_error(settings_factory, scorer) -> None:
    settings = settings_factory().with_overrides(topics={"scores": "no-such-topic-here"})
    with pytest.raises(ConfigError, match="no-such-topic-here do not exist"):
        ConsumerService.build(settings, scorer=scorer, startup_timeout_s=5)
