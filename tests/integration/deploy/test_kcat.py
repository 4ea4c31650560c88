"""An independent Kafka client (Debian's kcat) round-trips through the real consumer.

kcat produces frames (as a phone client in another language would), the consumer scores them,
and kcat reads the anomaly events back: none of our Kafka code is on kcat's side. Debian's
librdkafka 2.0.2 cannot parse tansu's ApiVersions v3 answer, so kcat reaches this test's
broker through tests/support/kafka_shim.py, which drops that answer's default-valued tagged
fields and relays every other byte untouched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumer.frames import decode_frame, encode_frame
from consumer.stack import EmbeddedBroker, free_port
from producer_sim.faults import FaultPlan
from producer_sim.runner import RunnerProfile, simulate_session
from tests.support.kafka_shim import ApiVersionsShim

pytestmark = pytest.mark.integration

KCAT = shutil.which("kcat") or "kcat"
USER = "kcat-runner"


def _frames_file(path: Path) -> int:
    """A hunched runner (a fault the model flags clearly) as kcat `key<TAB>value` lines."""
    import numpy as np

    rng = np.random.default_rng(44)
    profile = RunnerProfile.random(rng, USER, view="side")
    session = simulate_session(profile, 240, faults=[FaultPlan("hunched_head", 1.0, 0)], seed=44)
    now_ms = int(time.time() * 1000)
    lines = []
    for i, (frame, row) in enumerate(zip(session.frames, session.landmarks, strict=True)):
        if not np.isfinite(row).all():
            continue  # the tracker lost the runner: a phone sends nothing
        value = encode_frame(USER, int(frame), now_ms - (240 - i) * 33, row, session_id="kcat")
        lines.append(f"{USER}\t{value.decode()}")
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


@pytest.fixture
def relayed_broker(tmp_path: Path) -> Iterator[str]:
    """A broker of this test's own, reached through the ApiVersions relay (kafka_shim)."""
    relay_port, broker_port = free_port(), free_port()
    shim = ApiVersionsShim(relay_port, broker_port).start()
    broker = EmbeddedBroker(broker_port, tmp_path, advertised_port=relay_port)
    broker.start()
    try:
        yield f"127.0.0.1:{relay_port}"
    finally:
        broker.proc.stop()
        shim.stop()


def test_frames_from_kcat_are_scored_and_events_read_back_by_kcat(
    tmp_path: Path, relayed_broker: str, settings_factory, consumers, serve_kit
) -> None:
    settings = settings_factory(partitions=2, kafka={"bootstrap": relayed_broker})
    running = consumers(settings)
    frames_file = tmp_path / "frames.tsv"
    sent = _frames_file(frames_file)
    subprocess.run(
        [KCAT, "-P", "-b", settings.kafka.bootstrap, "-t", settings.topics.frames,
         "-K", "\t", "-l", str(frames_file)],
        check=True, timeout=60, capture_output=True,
    )
    serve_kit.wait_for(
        lambda: running.value("barunrun_frames_consumed_total") >= sent, 120, "kcat's frames"
    )
    assert running.value("barunrun_frames_consumed_total") == sent
    assert sum(
        running.value("barunrun_frames_rejected_total", {"reason": r})
        for r in ("invalid_json", "key_mismatch", "missing_key", "bad_landmarks")
    ) == 0
    serve_kit.wait_for(lambda: running.value("barunrun_anomalies_total") > 0, 60, "anomalies")

    out = subprocess.run(
        [KCAT, "-C", "-b", settings.kafka.bootstrap, "-t", settings.topics.anomalies,
         "-o", "beginning", "-e", "-J", "-q"],
        check=True, timeout=60, capture_output=True, text=True,
    )
    envelopes = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert len(envelopes) == running.value("barunrun_anomalies_total")
    for envelope in envelopes:
        assert envelope["key"] == USER
        event = json.loads(envelope["payload"])
        assert event["user_id"] == USER and event["session_id"] == "kcat"
        assert event["event_id"] == f"{USER}:kcat:{event['window_end_frame']}"
        assert event["score"] > event["threshold"]
        assert event["window_end_frame"] - event["window_start_frame"] >= 29
        assert event["top_joints"] and event["top_joints"][0]["share"] > 0


def test_a_frame_encoded_for_kcat_is_a_valid_frame() -> None:
    import numpy as np

    value = encode_frame(USER, 3, int(time.time() * 1000), np.full(132, 0.5), session_id="kcat")
    meta = decode_frame(value, USER.encode(), np.empty(132, np.float32), int(time.time() * 1000))
    assert (meta.user_id, meta.session_id, meta.frame) == (USER, "kcat", 3)
