"""Simulated runners streamed to a real broker come back, frame by frame, valid and complete.

Each test reads its own topic back with a kafka-python consumer in a consumer group, validates
every message with the frame schema's decoder, and compares the counts with what the
simulator says it sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from kafka import KafkaConsumer

from consumer.frames import decode_frame
from consumer.landmarks import FRAME_WIDTH
from consumer.recording import load_recording
from consumer.settings import Settings
from producer_sim.dataset import write_dataset
from producer_sim.publish import stream_runners

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


def consume_all(settings: Settings, expected: int, timeout_s: float = 45.0) -> list:
    """Every message of the frames topic, read in a fresh consumer group."""
    consumer = KafkaConsumer(
        settings.topics.frames,
        **settings.kafka.client_options(),
        group_id=f"sim-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    records = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        # Anything beyond what was reported sent would show up here.
        for batch in consumer.poll(timeout_ms=1000).values():
            records.extend(batch)
    finally:
        consumer.close()
    return records


def check_records(records: list, users: dict[str, dict]) -> dict[str, list[int]]:
    """Validate every record; return the frame numbers per user."""
    frames: dict[str, list[int]] = defaultdict(list)
    out = np.empty(FRAME_WIDTH, dtype=np.float32)
    now = int(time.time() * 1000)
    for record in records:
        meta = decode_frame(record.value, record.key, out, now_ms=now)
        assert record.key == meta.user_id.encode()
        assert meta.session_id == users[meta.user_id]["session_id"]
        frames[meta.user_id].append(meta.frame)
    for user, numbers in frames.items():
        assert len(numbers) == len(set(numbers)), f"{user}: duplicate frames"
    return frames


def test_stream_runners_fast(settings_factory):
    settings = settings_factory()
    summary = stream_runners(settings, runners=4, duration_s=4.0, fault_rate=0.5,
                             realtime=False, seed=3)
    report = summary.to_dict()
    users = report["users"]
    assert len(users) == 4 and summary.frames_sent == report["frames_sent"] > 0
    assert len({u["session_id"] for u in users.values()}) == 4
    faulty = {name: u for name, u in users.items() if u["fault"]}
    assert len(faulty) == 2
    for user in faulty.values():
        assert 0 < user["onset_frame"] < 120 and user["severity"] > 0
    records = consume_all(settings, summary.frames_sent)
    frames = check_records(records, users)
    assert {u: len(f) for u, f in frames.items()} == {
        u: info["frames_sent"] for u, info in users.items()}
    for user, numbers in frames.items():
        assert min(numbers) >= 0 and max(numbers) < 120
        # Dropouts are not sent: only a few frames may be missing.
        assert users[user]["frames_sent"] > 100
    # One user's frames all land in one partition, in order.
    partitions = defaultdict(set)
    for record in records:
        partitions[record.key].add(record.partition)
    assert all(len(p) == 1 for p in partitions.values())


def test_stream_runners_realtime_and_replay(settings_factory, tmp_path: Path):
    settings = settings_factory(partitions=2)
    summary = stream_runners(settings, runners=3, duration_s=2.0, fault_rate=0.0,
                             realtime=True, seed=4, user_prefix="rt")
    write_dataset(tmp_path, normal_runners=2, abnormal_runners=0, frames=60, seed=8)
    files = sorted((tmp_path / "normal").glob("*.csv"))
    replayed = stream_runners(settings, runners=0, duration_s=0, fault_rate=0.0,
                              realtime=False, replay=files, user_prefix="replay")
    users = {**summary.to_dict()["users"], **replayed.to_dict()["users"]}
    assert len(users) == 5
    records = consume_all(settings, summary.frames_sent + replayed.frames_sent)
    counts = Counter(r.key.decode() for r in records)
    assert counts == {u: info["frames_sent"] for u, info in users.items()}
    check_records(records, users)
    for record in replayed.runners:
        assert record.frames_sent == len(load_recording(record.source))


def test_simulate_command_streams_what_its_summary_says(settings_factory, tmp_path: Path):
    settings = settings_factory()
    summary_file = tmp_path / "summary.json"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "BARUNRUN_KAFKA_BOOTSTRAP": settings.kafka.bootstrap,
        "BARUNRUN_TOPICS_FRAMES": settings.topics.frames,
    }
    run = subprocess.run(
        [sys.executable, "-m", "producer_sim", "simulate", "--runners", "3", "--duration", "3",
         "--fault-rate", "0.34", "--fast", "--seed", "5", "--faults", "knee_valgus",
         "--summary", str(summary_file)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(summary_file.read_text())
    assert json.loads(run.stdout) == report
    assert report["topic"] == settings.topics.frames
    faults = [u["fault"] for u in report["users"].values()]
    assert Counter(faults) == {"knee_valgus": 1, None: 2}
    assert all(u["view"] in ("front", "oblique") for u in report["users"].values()
               if u["fault"])
    records = consume_all(settings, report["frames_sent"])
    counts = Counter(r.key.decode() for r in records)
    assert counts == {u: info["frames_sent"] for u, info in report["users"].items()}
    check_records(records, report["users"])


def test_simulate_command_fails_in_one_line_without_a_broker(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "BARUNRUN_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    run = subprocess.run(
        [sys.executable, "-m", "producer_sim", "simulate", "--runners", "1", "--duration", "1",
         "--fast"],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=120, check=False,
    )
    assert run.returncode == 3
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith("python -m producer_sim simulate: error: Kafka at 127.0.0.1:1")
