"""``POST /v1/frames``: a JSON array of frames from a device that buffered them, all or none.

200 ``{"accepted": n}`` only once the broker acknowledged every frame. Otherwise nothing was
accepted (except after a 503 on an ack timeout, when some may have been: resending is safe, the
consumer ignores frame numbers it has seen). Statuses: 400 body not a JSON array, 401 token,
403 a frame names another user, 413 too many frames or bytes, 422 frames that break the
contract (each with ``index``, ``frame``, ``reason``, ``detail``; drop them and resend the
rest), 429 over the user's rate, 503 broker down or buffer full; 429 and 503 carry Retry-After.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from consumer.gateway.auth import bearer_token
from consumer.gateway.codec import FORBIDDEN_USER, GatewayFrame
from consumer.gateway.errors import FrameRefused, TokenRefused
from consumer.gateway.pipeline import PendingFrame
from consumer.gateway.runtime import GatewayRuntime

_JSON = "application/json"


def _reply(
    runtime: GatewayRuntime, status: int, body: dict[str, Any], retry_after_s: float = 0.0,
    headers: dict[str, str] | None = None,
) -> Response:
    headers = dict(headers or {})
    if retry_after_s > 0:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after_s)))
        body = {**body, "retry_after_ms": max(1, math.ceil(retry_after_s * 1000))}
    runtime.metrics.http_batches.labels(str(status)).inc()
    return Response(orjson.dumps(body), status, headers, media_type=_JSON)


class _BatchAcks:
    """Resolves once the broker answered for every frame of the batch."""

    def __init__(self, count: int) -> None:
        self._left = count
        self.failed = 0
        self.done = asyncio.get_running_loop().create_future()

    def __call__(self, _frame: PendingFrame, error: BaseException | None) -> None:
        self._left -= 1
        if error is not None:
            self.failed += 1
        if self._left == 0 and not self.done.done():
            self.done.set_result(None)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it exceeds ``limit`` bytes (checked while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def post_frames(request: Request) -> Response:
    rt: GatewayRuntime = request.app.state.runtime
    g = rt.settings.gateway
    try:
        identity = rt.verifier.verify(bearer_token(request.headers, request.scope))
    except TokenRefused as exc:
        return _reply(rt, 401, {"error": exc.reason, "detail": exc.detail},
                      headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if rt.draining:
        return _reply(rt, 503, {"error": "draining"}, g.retry_after_ms / 1000)
    limit = g.max_batch_frames * rt.settings.frames.max_message_bytes
    try:
        body = await _read_body(request, limit)
    except ClientDisconnect:
        return Response(status_code=400)
    if body is None:
        return _reply(rt, 413, {"error": "too_large", "detail": f"body over {limit} bytes"})
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _reply(rt, 400, {"error": "invalid_json", "detail": "body is not JSON"})
    if type(items) is not list:
        return _reply(rt, 400, {"error": "not_array", "detail": "body must be a JSON array"})
    if len(items) > g.max_batch_frames:
        return _reply(rt, 413, {"error": "too_many_frames",
                                "detail": f"at most {g.max_batch_frames} frames per batch"})
    rt.metrics.frames_received.labels("http").inc(len(items))
    frames: list[GatewayFrame] = []
    problems: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            frames.append(rt.decoder.element(item, identity.user_id))
        except FrameRefused as exc:
            rt.metrics.frames_refused.labels(exc.reason).inc()
            if exc.reason == FORBIDDEN_USER:
                return _reply(rt, 403, {"error": FORBIDDEN_USER, "index": index,
                                        "detail": "a frame names another user than the token"})
            problems.append({"index": index, "frame": exc.frame, "reason": exc.reason,
                             "detail": exc.detail})
    if problems:
        return _reply(rt, 422, {"error": "invalid_frames", "rejected": problems})
    if not frames:
        return _reply(rt, 200, {"accepted": 0})
    wait_s = rt.limits.take(identity.user_id, len(frames))
    if math.isinf(wait_s):
        return _reply(rt, 413, {"error": "too_many_frames",
                                "detail": f"a batch may hold at most {g.rate_burst_frames}"})
    if wait_s > 0:
        rt.metrics.frames_refused.labels("rate_limited").inc(len(frames))
        return _reply(rt, 429, {"error": "rate_limited"}, wait_s)
    reason = rt.pipeline.refusal(len(frames))
    if reason is not None:
        rt.metrics.frames_refused.labels(reason).inc(len(frames))
        return _reply(rt, 503, {"error": reason}, g.retry_after_ms / 1000)
    acks = _BatchAcks(len(frames))
    key = identity.user_id.encode()
    for frame in frames:
        rt.pipeline.submit(PendingFrame(frame.meta.frame, key, frame.value, acks))
    rt.metrics.frames_accepted.labels("http").inc(len(frames))
    try:
        await asyncio.wait_for(asyncio.shield(acks.done), g.batch_ack_timeout_s)
    except TimeoutError:
        return _reply(rt, 503, {"error": "broker_unavailable",
                                "detail": "not acknowledged in time; resending is safe"},
                      g.retry_after_ms / 1000)
    if acks.failed:
        return _reply(rt, 503, {"error": "not_delivered", "detail": f"{acks.failed} frames"},
                      g.retry_after_ms / 1000)
    return _reply(rt, 200, {"accepted": len(frames)})
