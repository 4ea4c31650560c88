"""Frames in over the gateway, the runner's own anomaly events back on the same socket.

Real broker, Redis, consumer (the session's trained model) and gateway (uvicorn on a thread);
clients are the ``websockets`` library. A faulty simulated runner streams binary frames, a
normal one JSON frames; each socket hears only its own user's events, and a token for one
runner can neither publish as nor listen to another.
"""

from __future__ import annotations

import time

import numpy as np
import orjson
import pytest

from consumer.frames import encode_frame
from consumer.gateway.codec import encode_binary
from producer_sim.runner import FaultPlan, RunnerProfile, simulate_session

pytestmark = pytest.mark.integration

FRAMES = 450  # 15 s of running at 30 fps
FRAME_MS = 33


def session_frames(user: str, fault: str | None, seed: int) -> list[tuple[int, int, np.ndarray]]:
    """(frame, ts_ms, landmarks) of a simulated side-view session, stamped to end now."""
    rng = np.random.default_rng(seed)
    runner = RunnerProfile.random(rng, user, view="side")
    plans = [FaultPlan(fault, severity=1.0, onset_frame=0)] if fault else []
    session = simulate_session(runner, FRAMES, plans, seed=seed)
    end_ms = int(time.time() * 1000)
    return [
        (int(frame), end_ms - (FRAMES - 1 - i) * FRAME_MS, row)
        for i, (frame, row) in enumerate(zip(session.frames, session.landmarks, strict=True))
        if np.isfinite(row).all()  # a phone sends no frame without a person
    ]


def test_a_runner_hears_its_own_anomalies_and_nobody_elses(
    settings_factory, gateway, consumer_for, open_client, kit
) -> None:
    settings = settings_factory(partitions=3)
    consumer_for(settings)
    server = gateway(settings, rate_frames_per_s=10_000, rate_burst_frames=10_000)
    faulty, normal = "gw-faulty-1", "gw-normal-1"
    faulty_client = open_client(server, kit.token_for(server, faulty))
    normal_client = open_client(server, kit.token_for(server, normal))
    assert faulty_client.hello["user_id"] == faulty

    faulty_frames = session_frames(faulty, "trunk_lean", seed=3)
    for frame, ts_ms, row in faulty_frames:
        faulty_client.enqueue(frame, encode_binary(frame, ts_ms, row, "s-faulty"))
    for frame, ts_ms, row in session_frames(normal, None, seed=4):
        normal_client.enqueue(frame, encode_frame(normal, frame, ts_ms, row, "s-normal").decode())
    faulty_client.pump(max_s=60)
    normal_client.pump(max_s=60)
    assert faulty_client.acked == set(faulty_client._sent)
    assert normal_client.acked == set(normal_client._sent)

    kit.wait_for(lambda: faulty_client.drain(0.2)
                 or any(m["type"] == "anomaly" for m in faulty_client.events), 120,
                 "an anomaly event on the faulty runner's socket")
    normal_client.drain(1.0)
    assert {m["type"] for m in faulty_client.events} <= {"anomaly", "alert"}
    faulty_events = [m["event"] for m in faulty_client.events if m["type"] == "anomaly"]
    assert {e["user_id"] for e in faulty_events} == {faulty}
    assert all(e["session_id"] == "s-faulty" for e in faulty_events)
    assert all(e["user_id"] == normal for m in normal_client.events for e in [m["event"]])

    # What the socket heard is what the consumer published for this user.
    on_topic = {orjson.loads(r.value)["event_id"]
                for r in kit.read_topic(settings, settings.topics.anomalies, 1)}
    assert {e["event_id"] for e in faulty_events} <= on_topic

    # The binary frames reached pose.frames as exactly the JSON the simulator would send.
    expected = {frame: encode_frame(faulty, frame, ts_ms, row, session_id="s-faulty")
                for frame, ts_ms, row in faulty_frames}
    records = kit.read_topic(settings, settings.topics.frames, len(expected) + len(
        normal_client.acked))
    produced = [r.value for r in records if r.key == faulty.encode()]
    assert sorted(produced) == sorted(expected.values())


def test_a_token_cannot_publish_as_another_user(
    settings_factory, gateway, open_client, kit
) -> None:
    settings = settings_factory(partitions=1)
    server = gateway(settings)
    mallory = open_client(server, kit.token_for(server, "mallory"))
    now = int(time.time() * 1000)
    row = np.full(132, 0.5, dtype=np.float32)
    mallory.enqueue(1, encode_frame("mallory", 1, now, row).decode())
    mallory.pump(max_s=20)
    mallory.enqueue(2, encode_frame("alice", 2, now, row).decode())
    mallory.pump(max_s=20, until=lambda c: c.close_code is not None)
    assert mallory.close_code == 4403
    records = kit.read_topic(settings, settings.topics.frames, 1)
    assert [(r.key, orjson.loads(r.value)["user_id"]) for r in records] == [
        (b"mallory", "mallory")
    ]
