"""The capture client's ``GatewaySink`` (clients/capture, imported from its source folder as
the capture unit tests do) against the running gateway: batches land on ``pose.frames``,
a 429 is waited out and the batch resent."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import orjson
import pytest

pytestmark = pytest.mark.integration

CLIENT_SRC = Path(__file__).resolve().parents[3] / "clients" / "capture" / "src"


@pytest.fixture
def capture_modules(monkeypatch):
    monkeypatch.syspath_prepend(str(CLIENT_SRC))
    from barunrun_capture.gateway_sink import GatewaySink
    from barunrun_capture.sinks import CapturedFrame

    yield GatewaySink, CapturedFrame
    for name in [n for n in sys.modules if n.startswith("barunrun_capture")]:
        del sys.modules[name]


def test_frames_go_through_the_gateway_in_batches_waiting_out_rate_limits(
    settings_factory, gateway, kit, capture_modules
) -> None:
    GatewaySink, CapturedFrame = capture_modules
    settings = settings_factory(partitions=1)
    server = gateway(settings, rate_frames_per_s=10, rate_burst_frames=10)
    sink = GatewaySink(server.url, kit.token_for(server, "capture-1"), "capture-1", "s-cap",
                       batch_frames=10)
    now = int(time.time() * 1000)
    landmarks = np.full((33, 4), 0.5)
    for n in range(25):
        sink.send(CapturedFrame(n, now - (25 - n) * 33, None if n == 3 else landmarks, 1))
    sink.close()  # the second and third batches meet 429 and wait Retry-After
    assert (sink.sent, sink.rejected) == (24, 0)
    records = kit.read_topic(settings, settings.topics.frames, 24)
    frames = [orjson.loads(r.value) for r in records]
    assert sorted(f["frame"] for f in frames) == [n for n in range(25) if n != 3]
    assert {r.key for r in records} == {b"capture-1"}
    assert {f["session_id"] for f in frames} == {"s-cap"}
    assert server.runtime.registry.get_sample_value(
        "barunrun_gateway_http_batches_total", {"status": "429"}) >= 1
