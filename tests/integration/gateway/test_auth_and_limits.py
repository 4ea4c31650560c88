"""Tokens, session caps and rate limits on the running gateway (real broker, real sockets)."""

from __future__ import annotations

import logging
import time

import httpx
import jwt
import numpy as np
import orjson
import pytest

from consumer.frames import encode_frame

pytestmark = pytest.mark.integration


def frame(user: str, n: int) -> str:
    row = np.full(132, 0.5, dtype=np.float32)
    return encode_frame(user, n, int(time.time() * 1000), row, session_id="s-1").decode()


def test_missing_expired_and_forged_tokens_are_refused_and_never_logged(
    settings_factory, gateway, open_client, kit, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    server = gateway(settings_factory(partitions=1))
    valid = kit.token_for(server, "runner-1")
    expired = kit.token_for(server, "runner-1", 60, now=time.time() - 3600)
    forged = jwt.encode({"sub": "runner-1", "exp": time.time() + 600},
                        "not-the-gateway-secret-0123456789abcdef", algorithm="HS256")
    unsigned = jwt.encode({"sub": "runner-1", "exp": time.time() + 600}, None, algorithm="none")

    assert open_client(server, None).close_code == 4401
    for token in (expired, forged, unsigned):
        assert open_client(server, token).close_code == 4401
        assert open_client(server, None, f"access_token={token}").close_code == 4401
    browser = open_client(server, None, f"events=anomaly&access_token={valid}")
    assert browser.close_code is None and browser.hello["user_id"] == "runner-1"

    body = orjson.dumps([orjson.loads(frame("runner-1", 1))])
    for headers in ({}, {"Authorization": f"Bearer {expired}"},
                    {"Authorization": f"Bearer {forged}"}):
        response = httpx.post(f"{server.url}/v1/frames", content=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    ok = httpx.post(f"{server.url}/v1/frames?access_token={valid}", content=body)
    assert ok.status_code == 200 and ok.json() == {"accepted": 1}

    # The server's log lines (the test's own HTTP client logs its URLs, token included).
    server_side = ("uvicorn", "starlette", "consumer", "kafka")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(server_side))
    assert "WebSocket /v1/frames" in logged  # uvicorn did log the requests...
    for token in (valid, expired, forged, unsigned):  # ...without any token
        assert token not in logged and token.split(".")[1] not in logged


def test_sessions_per_user_are_capped(settings_factory, gateway, open_client, kit) -> None:
    server = gateway(settings_factory(partitions=1), max_sessions_per_user=2)
    token = kit.token_for(server, "runner-2")
    first, second = open_client(server, token), open_client(server, token)
    assert first.close_code is None and second.close_code is None
    assert open_client(server, token).close_code == 4429
    first.ws.close()
    kit.wait_for(lambda: server.runtime.limits.sessions("runner-2") == 1, 10, "the slot back")
    assert open_client(server, token).close_code is None


def test_rate_limits_hold(settings_factory, gateway, open_client, kit) -> None:
    settings = settings_factory(partitions=1)
    server = gateway(settings, rate_frames_per_s=5, rate_burst_frames=5,
                     rate_strikes_to_close=40)
    client = open_client(server, kit.token_for(server, "runner-3"))
    started = time.monotonic()
    for n in range(100):  # a client that ignores slow_down: 100 frames at once
        client.ws.send(frame("runner-3", n))
    client.drain(30)  # until the gateway closes the socket
    elapsed = time.monotonic() - started
    assert client.close_code == 4408
    assert client.slow_downs and {m["reason"] for m in client.slow_downs} == {"rate_limited"}
    assert 5 <= len(client.acked) <= 5 + 5 * elapsed + 1
    refused = {n for m in client.slow_downs for n in m["refused"]}
    assert refused.isdisjoint(client.acked)

    http_token = kit.token_for(server, "runner-4")
    batch = orjson.dumps([orjson.loads(frame("runner-4", n)) for n in range(5)])
    url = f"{server.url}/v1/frames"
    headers = {"Authorization": f"Bearer {http_token}"}
    assert httpx.post(url, content=batch, headers=headers).status_code == 200
    limited = httpx.post(url, content=batch, headers=headers)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1

    produced = kit.read_topic(settings, settings.topics.frames, len(client.acked) + 5)
    assert len(produced) == len(client.acked) + 5  # refused frames never reached Kafka
