"""Send frames to a gateway's ``POST /v1/frames`` the way a buffering device does.

``GatewayPoster`` offers the three calls the simulator makes on a KafkaProducer (``send``
returning a future with callbacks, ``flush``, ``close``), so ``barunrun demo --via-gateway``
streams the same simulated runners through the gateway instead of straight to Kafka. Frames are
batched per user (one token each) and posted by one background thread; 429 and 503 are waited
out (Retry-After), a 422 drops the frames it names and resends the rest, so a frame's callback
fires only once the gateway reports the broker's acknowledgement.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from kafka.future import Future

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset((429, 503))


@dataclass
class _Pending:
    values: list[bytes] = field(default_factory=list)
    futures: list[Future] = field(default_factory=list)


class GatewayPoster:
    def __init__(
        self,
        url: str,
        token_for: Callable[[str], str],
        batch_frames: int = 30,
        linger_s: float = 0.1,
        timeout_s: float = 30.0,
    ) -> None:
        self._endpoint = url.rstrip("/") + "/v1/frames"
        self._token_for = token_for
        self._batch_frames = batch_frames
        self._linger_s = linger_s
        self._timeout_s = timeout_s
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway-poster", daemon=True)
        self._thread.start()

    def send(self, topic: str, key: bytes, value: bytes) -> Future:
        """Queue one frame of user ``key``; ``topic`` is the gateway's business."""
        future = Future()
        with self._lock:
            pending = self._pending.setdefault(key.decode(), _Pending())
            pending.values.append(value)
            pending.futures.append(future)
        return future

    def flush(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self._timeout_s)
        with self._idle:
            while any(p.values for p in self._pending.values()) or self._in_flight:
                if not self._idle.wait(max(0.0, deadline - time.monotonic())):
                    break

    def close(self, timeout: float | None = None) -> None:
        self.flush(timeout)
        self._closed.set()
        self._thread.join(timeout or self._timeout_s)

    def _run(self) -> None:
        while not self._closed.wait(self._linger_s):
            with self._lock:
                batches = [(user, p) for user, p in self._pending.items() if p.values]
                self._pending = {}
                self._in_flight += len(batches)
            for user, pending in batches:
                for start in range(0, len(pending.values), self._batch_frames):
                    end = start + self._batch_frames
                    self._post(user, pending.values[start:end], pending.futures[start:end])
                with self._idle:
                    self._in_flight -= 1
                    self._idle.notify_all()

    def _post(self, user: str, values: list[bytes], futures: list[Future]) -> None:
        while values and not self._closed.is_set():
            status, body, retry_after = self._request(user, values)
            if status == 200:
                for future in futures:
                    future.success(None)
                return
            if status == 422:  # drop the frames the gateway names; resend the others
                bad = {int(p["index"]) for p in body.get("rejected", [])}
                for i in sorted(bad):
                    futures[i].failure(ValueError(f"gateway rejected frame: {body}"))
                keep = [i for i in range(len(values)) if i not in bad]
                values, futures = [values[i] for i in keep], [futures[i] for i in keep]
                continue
            if status in RETRY_STATUSES or status == 0:
                time.sleep(retry_after)
                continue
            error = RuntimeError(f"gateway answered {status}: {body}")
            for future in futures:
                future.failure(error)
            return

    def _request(self, user: str, values: list[bytes]) -> tuple[int, dict, float]:
        request = urllib.request.Request(
            self._endpoint, data=b"[" + b",".join(values) + b"]", method="POST",
            headers={"Authorization": f"Bearer {self._token_for(user)}",
                     "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                return response.status, orjson.loads(response.read() or b"{}"), 0.0
        except urllib.error.HTTPError as exc:
            retry_after = float(exc.headers.get("Retry-After") or 1.0)
            try:
                body = orjson.loads(exc.read() or b"{}")
            except orjson.JSONDecodeError:
                body = {}
            return exc.code, body, retry_after
        except (urllib.error.URLError, TimeoutError) as exc:
            log.warning("gateway unreachable, retrying: %s", exc)
            return 0, {}, 1.0
