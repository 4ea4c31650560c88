"""Publishing through the BarunRun ingestion gateway instead of Kafka (docs/gateway.md).

``GatewaySink`` is a ``FrameSink`` that needs no broker address and no Kafka credentials, only
the gateway's URL and a device token (``barunrun token issue --user U``). It posts frames in
batches to ``POST /v1/frames`` (the standard library's HTTP client, no new dependency) and
follows the gateway's answers: 429 / 503 wait ``Retry-After`` and resend the same batch, 422
drops the frames the gateway rejected and resends the rest; anything else is a
``PublishFailed``. A batch counts as sent only once the gateway answered 200 (every frame
acknowledged by the broker).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from barunrun_capture.errors import PublishFailed
from barunrun_capture.messages import encode_frame, track_session_id
from barunrun_capture.sinks import CapturedFrame

log = logging.getLogger(__name__)

BATCH_FRAMES = 30  # one second of video per request at 30 fps
RETRY_FOR_S = 120.0  # how long a batch is retried while the gateway asks to wait
_RETRY_STATUSES = (429, 503)


class GatewaySink:
    def __init__(
        self, url: str, token: str, user_id: str, session_id: str,
        batch_frames: int = BATCH_FRAMES, retry_for_s: float = RETRY_FOR_S,
        timeout_s: float = 30.0, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._endpoint = url.rstrip("/") + "/v1/frames"
        self._token = token
        self._user_id = user_id
        self._session_id = session_id
        self._batch_frames = batch_frames
        self._retry_for_s = retry_for_s
        self._timeout_s = timeout_s
        self._sleep = sleep
        self._pending: list[bytes] = []
        self.sent = 0
        self.rejected = 0

    def session_for(self, track: int) -> str:
        return track_session_id(self._session_id, track)

    def send(self, frame: CapturedFrame) -> None:
        if frame.landmarks is None:
            return  # no person: the contract sends nothing
        self._pending.append(encode_frame(self._user_id, self.session_for(frame.track),
                                          frame.index, frame.ts_ms, frame.landmarks))
        if len(self._pending) >= self._batch_frames:
            self.flush()

    def flush(self) -> None:
        batch, self._pending = self._pending, []
        deadline = time.monotonic() + self._retry_for_s
        while batch:
            status, body, retry_after_s = self._post(b"[" + b",".join(batch) + b"]")
            if status == 200:
                self.sent += len(batch)
                return
            if status == 422:
                bad = {item["index"] for item in body.get("rejected", [])}
                for item in body.get("rejected", []):
                    log.warning("frame rejected by the gateway frame=%s reason=%s",
                                item.get("frame"), item.get("reason"))
                self.rejected += len(bad)
                batch = [value for i, value in enumerate(batch) if i not in bad]
                continue
            if status in _RETRY_STATUSES and time.monotonic() + retry_after_s < deadline:
                log.info("gateway asks to wait status=%d retry_after_s=%.1f", status,
                         retry_after_s)
                self._sleep(retry_after_s)
                continue
            raise PublishFailed(
                f"gateway {self._endpoint} answered {status}: {body.get('error', body)}"
            )

    def _post(self, payload: bytes) -> tuple[int, dict, float]:
        request = urllib.request.Request(
            self._endpoint, data=payload, method="POST",
            headers={"Authorization": f"Bearer {self._token}",
                     "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                return response.status, json.loads(response.read() or b"{}"), 0.0
        except urllib.error.HTTPError as exc:
            try:
                body = json.loads(exc.read() or b"{}")
            except ValueError:
                body = {}
            retry_after = exc.headers.get("Retry-After", "1")
            return exc.code, body, float(retry_after) if retry_after.isdigit() else 1.0
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            # Unreachable: the gateway may be restarting; treat it like a 503 of one second.
            log.warning("gateway unreachable error=%s", getattr(exc, "reason", exc))
            return 503, {"error": "unreachable"}, 1.0

    def close(self) -> None:
        self.flush()
        if self.rejected:
            raise PublishFailed(f"{self.rejected} frames were rejected by the gateway")
