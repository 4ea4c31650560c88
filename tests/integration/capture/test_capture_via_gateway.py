"""The capture client publishes through the gateway, as a phone without Kafka credentials
would: HTTP batches with a device token, produced to pose.frames under the token's user."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from client_process import run_capture

from consumer.frames import decode_frame
from consumer.gateway.auth import issue_token
from consumer.gateway.runtime import GatewayRuntime
from consumer.gateway.server import GatewayServer

pytestmark = pytest.mark.integration

USER = "walker-gw"


def test_capture_client_streams_the_video_through_the_gateway(
    capture_exe: Path, demo_video: Path, settings_factory, reader
) -> None:
    settings = settings_factory(partitions=1).with_overrides(
        gateway={"jwt_secret": "capture-test-secret-0123456789abcdef"}
    )
    server = GatewayServer(GatewayRuntime.build(settings, startup_timeout_s=20)).start()
    try:
        token = issue_token(settings.gateway, USER, 600)
        result = run_capture(
            capture_exe, str(demo_video), "--gateway", server.url, "--token", token,
            "--user-id", USER, "--session-id", "s-gw", "--roi", "0,470,1768,994",
            "--max-frames", "120",
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["gateway_rejected"] == 0
    assert summary["gateway_accepted"] == summary["with_pose"] > 40  # she enters at ~frame 46
    frames = reader(settings, settings.topics.frames)
    records = frames.read()
    assert len(records) == summary["gateway_accepted"]
    row = np.empty(132, np.float32)
    numbers = []
    for record in records:
        meta = decode_frame(record.value, record.key, row, record.timestamp)
        assert (meta.user_id, meta.session_id, record.key) == (USER, "s-gw", USER.encode())
        numbers.append(meta.frame)
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
