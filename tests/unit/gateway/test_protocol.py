"""The WebSocket and HTTP protocol on fakes (Starlette's TestClient, no network): tokens,
caps, rate limits, backpressure, acks, rejections and events, with their codes."""

from __future__ import annotations

import time

import orjson
import pytest
from starlette.websockets import WebSocketDisconnect

from consumer.gateway.codec import encode_binary


def recv(ws) -> dict:
    message = ws.receive()
    if message["type"] == "websocket.close":
        return {"type": "closed", "code": message["code"], "reason": message.get("reason", "")}
    return orjson.loads(message.get("text") or message["bytes"])


def read_until(ws, done) -> list[dict]:
    """Messages until ``done(messages)`` holds or the socket closes."""
    seen: list[dict] = []
    while not done(seen):
        seen.append(recv(ws))
        if seen[-1]["type"] == "closed":
            break
    return seen


def acked(messages: list[dict]) -> list[int]:
    return [n for m in messages if m["type"] == "ack" for n in m["frames"]]


def refused_in(messages: list[dict]) -> list[int]:
    return [n for m in messages if m["type"] == "slow_down" for n in m["refused"]]


def wait_for(condition, what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def close_code(ws) -> int:
    """The code the server closed with (TestClient raises on the next receive)."""
    try:
        message = recv(ws)
    except WebSocketDisconnect as exc:
        return exc.code
    return message.get("code", -1)


@pytest.mark.parametrize(
    ("how", "reason"),
    [("none", "missing_token"), ("expired", "expired_token"), ("forged", "bad_signature")],
)
def test_bad_tokens_close_with_4401(gateway_kit, how: str, reason: str) -> None:
    kit = gateway_kit()
    token = {
        "none": "",
        "expired": kit.token("runner-1", 60, now=time.time() - 3600),
        "forged": kit.token("runner-1")[:-4] + "AAAA",
    }[how]
    url = "/v1/frames" + (f"?access_token={token}" if token else "")
    with kit.client.websocket_connect(url) as ws:
        assert close_code(ws) == 4401
    assert kit.metric("barunrun_gateway_connections_refused_total", {"reason": reason}) == 1
    assert kit.producer.sent == []


def test_frames_are_acked_and_produced_as_sent_keyed_by_the_token_user(gateway_kit) -> None:
    kit = gateway_kit()
    headers = {"Authorization": f"Bearer {kit.token('runner-1')}"}
    sent = [kit.frame_json("runner-1", n) for n in range(5)]
    with kit.client.websocket_connect("/v1/frames", headers=headers) as ws:
        hello = recv(ws)
        assert hello["type"] == "hello" and hello["user_id"] == "runner-1"
        for raw in sent:
            ws.send_text(raw.decode())
        ws.send_bytes(encode_binary(5, int(time.time() * 1000), kit.landmarks(5), "s-1"))
        messages = read_until(ws, lambda seen: len(acked(seen)) == 6)
    assert sorted(acked(messages)) == [0, 1, 2, 3, 4, 5]
    assert [s.value for s in kit.producer.sent[:5]] == sent
    assert {s.key for s in kit.producer.sent} == {b"runner-1"}
    assert {s.topic for s in kit.producer.sent} == {kit.settings.topics.frames}


def test_invalid_frames_are_rejected_with_reasons_and_not_produced(gateway_kit) -> None:
    kit = gateway_kit()
    with kit.client.websocket_connect(f"/v1/frames?access_token={kit.token('u1')}") as ws:
        recv(ws)
        ws.send_text('{"frame": 3}')
        ws.send_bytes(b"\x01short")
        messages = read_until(
            ws, lambda seen: sum(len(m.get("frames", [])) for m in seen
                                 if m["type"] == "rejected") == 2,
        )
    reasons = [f["reason"] for m in messages if m["type"] == "rejected" for f in m["frames"]]
    assert reasons == ["missing_field", "bad_binary"]
    assert kit.producer.sent == []


def test_a_frame_naming_another_user_closes_with_4403(gateway_kit) -> None:
    kit = gateway_kit()
    with kit.client.websocket_connect(f"/v1/frames?access_token={kit.token('alice')}") as ws:
        recv(ws)
        ws.send_text(kit.frame_json("bob", 1).decode())
        assert close_code(ws) == 4403
    assert kit.producer.sent == []


def test_sessions_per_user_are_capped_with_4429(gateway_kit) -> None:
    kit = gateway_kit(max_sessions_per_user=1)
    url = f"/v1/frames?access_token={kit.token('alice')}"
    with kit.client.websocket_connect(url) as first:
        assert recv(first)["type"] == "hello"
        with kit.client.websocket_connect(url) as second:
            assert close_code(second) == 4429
        other = f"/v1/frames?access_token={kit.token('bob')}"
        with kit.client.websocket_connect(other) as bob:
            assert recv(bob)["type"] == "hello"  # the cap is per user
    with kit.client.websocket_connect(url) as again:  # the slot came back
        assert recv(again)["type"] == "hello"


def test_rate_limit_refuses_with_slow_down_then_closes_4408(gateway_kit) -> None:
    kit = gateway_kit(rate_frames_per_s=1.0, rate_burst_frames=3, rate_strikes_to_close=20)
    started = time.monotonic()
    with kit.client.websocket_connect(f"/v1/frames?access_token={kit.token('u1')}") as ws:
        recv(ws)
        for n in range(30):
            ws.send_text(kit.frame_json("u1", n).decode())
        messages = read_until(ws, lambda seen: False)  # until the server closes
    elapsed = time.monotonic() - started
    assert messages[-1] == {"type": "closed", "code": 4408,
                            "reason": "kept sending over the rate limit"}
    # Never more than the burst plus what the rate refilled meanwhile.
    assert len(acked(messages)) <= 3 + int(elapsed * 1.0) + 1
    slow = [m for m in messages if m["type"] == "slow_down"]
    assert slow and {m["reason"] for m in slow} == {"rate_limited"}
    refused = [n for m in slow for n in m["refused"]]
    assert set(refused).isdisjoint(acked(messages))
    assert all(m["retry_after_ms"] > 0 for m in slow)


def test_a_full_buffer_refuses_and_resent_frames_are_acked(gateway_kit) -> None:
    kit = gateway_kit(max_buffered_frames=3, retry_after_ms=100)
    kit.producer.hold = True
    with kit.client.websocket_connect(f"/v1/frames?access_token={kit.token('u1')}") as ws:
        recv(ws)
        for n in range(5):
            ws.send_text(kit.frame_json("u1", n).decode())
        # Both frames past the buffer refused, and the three in it handed to the producer
        # (its thread, not the loop, sends them): only then does release() ack all three.
        first = read_until(ws, lambda seen: len(refused_in(seen)) == 2)
        wait_for(lambda: len(kit.producer.sent) == 3, "the producer thread's 3 sends")
        slow = next(m for m in first if m["type"] == "slow_down")
        assert slow["reason"] == "buffer_full" and slow["retry_after_ms"] == 100
        assert acked(first) == []  # the broker has not acked anything yet
        kit.producer.release()
        got = read_until(ws, lambda seen: len(acked(seen)) == 3)
        refused = refused_in(first) + refused_in(got)
        assert sorted(acked(got) + refused) == [0, 1, 2, 3, 4]
        time.sleep(0.15)  # the client obeys retry_after_ms
        kit.producer.hold = False
        for n in refused:
            ws.send_text(kit.frame_json("u1", n).decode())
        resent = read_until(ws, lambda seen: len(acked(seen)) == len(refused))
    assert sorted(acked(got) + acked(resent)) == [0, 1, 2, 3, 4]


def test_events_go_to_their_user_only(gateway_kit) -> None:
    kit = gateway_kit()
    anomalies = kit.settings.topics.anomalies
    with (
        kit.client.websocket_connect(f"/v1/frames?access_token={kit.token('alice')}") as alice,
        kit.client.websocket_connect(f"/v1/frames?access_token={kit.token('bob')}") as bob,
    ):
        recv(alice), recv(bob)
        kit.events.push(anomalies, b"bob", orjson.dumps({"user_id": "bob", "n": 1}))
        kit.events.push(anomalies, b"alice", orjson.dumps({"user_id": "bob", "n": 2}))  # bad
        kit.events.push(anomalies, b"alice", orjson.dumps({"user_id": "alice", "n": 3}))
        got_alice = read_until(alice, lambda seen: any(m["type"] == "anomaly" for m in seen))
        got_bob = read_until(bob, lambda seen: any(m["type"] == "anomaly" for m in seen))
    assert [m["event"]["n"] for m in got_alice if m["type"] == "anomaly"] == [3]
    assert [m["event"]["n"] for m in got_bob if m["type"] == "anomaly"] == [1]


def test_unknown_event_types_close_with_4400(gateway_kit) -> None:
    kit = gateway_kit()
    url = f"/v1/frames?events=anomaly,gossip&access_token={kit.token('u1')}"
    with kit.client.websocket_connect(url) as ws:
        assert close_code(ws) == 4400


def test_a_session_ends_with_4401_when_its_token_expires(gateway_kit) -> None:
    kit = gateway_kit(jwt_leeway_s=0)
    token = kit.token("u1", ttl_s=2)
    with kit.client.websocket_connect(f"/v1/frames?access_token={token}") as ws:
        assert recv(ws)["type"] == "hello"
        assert close_code(ws) == 4401


def post(kit, frames, user: str = "u1", token: str | None = None):
    token = kit.token(user) if token is None else token
    return kit.client.post("/v1/frames", content=orjson.dumps(frames),
                           headers={"Authorization": f"Bearer {token}"})


def test_http_batches(gateway_kit) -> None:
    kit = gateway_kit(max_batch_frames=5, rate_burst_frames=8, rate_frames_per_s=0.01)
    frames = [orjson.loads(kit.frame_json("u1", n)) for n in range(4)]
    ok = post(kit, frames)
    assert ok.status_code == 200 and ok.json() == {"accepted": 4}
    assert [orjson.loads(s.value) for s in kit.producer.sent] == frames
    assert post(kit, frames, token="garbage").status_code == 401
    assert post(kit, frames, user="u2").status_code == 403  # frames name u1
    assert post(kit, [orjson.loads(kit.frame_json("u1", n)) for n in range(6)]).status_code == 413
    bad = post(kit, [frames[0], {"frame": 9}, {**frames[1], "landmarks": [1]}])
    assert bad.status_code == 422
    assert [(r["index"], r["reason"]) for r in bad.json()["rejected"]] == [
        (1, "missing_field"), (2, "bad_landmarks"),
    ]
    assert post(kit, {"not": "a list"}).status_code == 400
    limited = post(kit, [*frames, frames[0]])  # 5 > the 4 left of the burst
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert len(kit.producer.sent) == 4  # nothing of the refused batches was produced


def test_http_503_with_retry_after_when_the_buffer_is_full(gateway_kit) -> None:
    kit = gateway_kit(max_buffered_frames=2, retry_after_ms=1500)
    response = post(kit, [orjson.loads(kit.frame_json("u1", n)) for n in range(3)])
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2" and response.json()["error"] == "buffer_full"


def test_health_and_metrics(gateway_kit) -> None:
    kit = gateway_kit()
    assert kit.client.get("/healthz").json()["live"] is True
    ready = kit.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    text = kit.client.get("/metrics").text
    assert "barunrun_gateway_buffer_limit_frames" in text
    assert "user_id" not in text
