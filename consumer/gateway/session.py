"""One WebSocket session: frames in, acks, refusals and the user's own events out.

Per frame, in order: decode and validate (the consumer's validator); refuse while the session
is paused after a ``slow_down`` (so that a client resending refused frames in order keeps
their order); take a token from the user's bucket; refuse invalid frames for good
(``rejected``); refuse when the session or the process buffer is full or the broker stalled;
else accept it into the produce pipeline and ack it once the broker has.
All sends go through the outbox and one writer task (Starlette sockets take one sender).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from contextlib import suppress

from starlette.websockets import WebSocket, WebSocketDisconnect

from consumer.gateway import protocol
from consumer.gateway.auth import Identity, bearer_token
from consumer.gateway.codec import FORBIDDEN_USER, GatewayFrame
from consumer.gateway.errors import FrameRefused, TokenRefused
from consumer.gateway.outbox import Outbox
from consumer.gateway.pipeline import PendingFrame
from consumer.gateway.protocol import CloseCode
from consumer.gateway.runtime import GatewayRuntime

log = logging.getLogger(__name__)

RATE_LIMITED = "rate_limited"
SESSION_IN_FLIGHT = "session_in_flight"
NOT_DELIVERED = "not_delivered"
# Below this a pause is noise: the client would resend at once and be refused again.
MIN_PAUSE_S = 0.05
# How long a closing session waits for the acks of its frames in flight, so that the client
# knows what to resend.
CLOSE_GRACE_S = 2.0
# Messages owed to a client before its socket is not read any more (it is not reading ours).
MAX_BACKLOG = 2048


async def frames_socket(websocket: WebSocket) -> None:
    """``/v1/frames``: accept, then check the token and the caps (refusals are close codes,
    which a browser can read; a refused handshake would show it nothing)."""
    runtime: GatewayRuntime = websocket.app.state.runtime
    metrics = runtime.metrics
    await websocket.accept()
    try:
        identity = runtime.verifier.verify(bearer_token(websocket.headers, websocket.scope))
    except TokenRefused as exc:
        metrics.connections_refused.labels(exc.reason).inc()
        await websocket.close(CloseCode.UNAUTHORIZED, exc.detail)
        return
    kinds = _event_types(websocket.query_params.get("events"))
    if kinds is None:
        metrics.connections_refused.labels("bad_request").inc()
        await websocket.close(CloseCode.BAD_REQUEST, f"events: any of {protocol.EVENT_TYPES}")
        return
    if runtime.draining:
        metrics.connections_refused.labels("draining").inc()
        await websocket.close(CloseCode.TRY_AGAIN_LATER, "the gateway is restarting")
        return
    lease = runtime.limits.open_session(identity.user_id)
    if lease is None:
        metrics.connections_refused.labels("too_many_sessions").inc()
        limit = runtime.settings.gateway.max_sessions_per_user
        await websocket.close(CloseCode.TOO_MANY_SESSIONS, f"at most {limit} sessions per user")
        return
    try:
        await FrameSession(runtime, websocket, identity, kinds).run()
    finally:
        runtime.limits.release(lease)


def _event_types(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return protocol.EVENT_TYPES
    wanted = tuple(part for part in (p.strip() for p in raw.split(",")) if part)
    if wanted == ("none",):
        return ()
    return wanted if set(wanted) <= set(protocol.EVENT_TYPES) else None


class FrameSession:
    def __init__(
        self, runtime: GatewayRuntime, websocket: WebSocket, identity: Identity,
        kinds: tuple[str, ...],
    ) -> None:
        self._rt = runtime
        self._ws = websocket
        self._identity = identity
        self._user = identity.user_id
        self._key = identity.user_id.encode()
        self._kinds = kinds
        self._gateway = runtime.settings.gateway
        self._retry_after_s = self._gateway.retry_after_ms / 1000
        self.outbox = Outbox(self._gateway.outbox_events)
        self._drained = asyncio.Event()
        self._in_flight = 0
        self._paused_until = 0.0
        self._pause_reason = ""
        self._strikes = 0
        self._open = True

    async def run(self) -> None:
        rt, g = self._rt, self._gateway
        rt.subscribers.add(self._user, self.outbox, self._kinds)
        rt.open_sessions += 1
        self.outbox.control(protocol.hello(self._user, {
            "rate_frames_per_s": g.rate_frames_per_s, "burst_frames": g.rate_burst_frames,
            "max_sessions": g.max_sessions_per_user, "max_in_flight": g.max_in_flight_per_session,
            "max_message_bytes": rt.settings.frames.max_message_bytes,
        }, self._kinds))
        loop = asyncio.get_running_loop()
        expires_in = self._identity.expires_at + g.jwt_leeway_s - time.time()
        expiry = loop.call_later(
            max(0.0, expires_in), self.outbox.close, CloseCode.UNAUTHORIZED, "token expired"
        )
        writer = asyncio.create_task(self._write())
        log.debug("session open user_id=%s events=%s", self._user, ",".join(self._kinds))
        try:
            await self._read(writer)
        finally:
            closing = self.outbox.closing
            log.debug("session closed user_id=%s code=%s in_flight=%d", self._user,
                      closing[0] if closing else "client", self._in_flight)
            self._open = False
            expiry.cancel()
            rt.subscribers.remove(self._user, self.outbox)
            rt.open_sessions -= 1
            if not writer.done():
                writer.cancel()
                with suppress(asyncio.CancelledError):
                    await writer

    async def _read(self, writer: asyncio.Task[None]) -> None:
        while self.outbox.closing is None:
            if self.outbox.backlog > MAX_BACKLOG:
                self._drained.clear()
                await self._drained.wait()
                continue
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is not None:
                self._frame(data, binary=True)
            elif message.get("text") is not None:
                self._frame(message["text"].encode(), binary=False)
        await writer  # it sends what is queued, then the close frame

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        close_by: float | None = None
        try:
            while True:
                if close_by is None:
                    await self.outbox.wait()
                else:  # closing: give frames in flight a moment to be acked first
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self.outbox.wait(), close_by - loop.time())
                for message in self.outbox.take():
                    await self._ws.send_text(message.decode())
                self._drained.set()
                closing = self.outbox.closing
                if closing is not None:
                    close_by = close_by or loop.time() + CLOSE_GRACE_S
                    if self._in_flight == 0 or loop.time() >= close_by:
                        for message in self.outbox.take():
                            await self._ws.send_text(message.decode())
                        await self._ws.close(closing[0], closing[1])
                        return
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._drained.set()  # the client is gone; the reader sees the disconnect

    def _frame(self, data: bytes, binary: bool) -> None:
        rt = self._rt
        transport = "ws_binary" if binary else "ws_json"
        rt.metrics.frames_received.labels(transport).inc()
        frame: GatewayFrame | None = None
        refused: FrameRefused | None = None
        try:
            frame = rt.decoder.binary(data, self._user) if binary else rt.decoder.json(
                data, self._user
            )
            number: int | None = frame.meta.frame
        except FrameRefused as exc:
            refused, number = exc, exc.frame
        now = time.monotonic()
        if now < self._paused_until:
            if self._pause_reason == RATE_LIMITED:
                self._strike()
            self._refuse(number, self._pause_reason, self._paused_until - now, pause=False)
            return
        wait_s = rt.limits.take(self._user)
        if wait_s > 0:
            self._strike()
            self._refuse(number, RATE_LIMITED, max(wait_s, MIN_PAUSE_S))
            return
        if refused is not None:
            rt.metrics.frames_refused.labels(refused.reason).inc()
            if refused.reason == FORBIDDEN_USER:
                rt.metrics.connections_refused.labels(FORBIDDEN_USER).inc()
                self.outbox.close(CloseCode.FORBIDDEN_USER, "a frame named another user")
            else:
                self.outbox.reject(number, refused.reason, refused.detail)
            return
        if frame is None:  # unreachable: a frame either decodes or is refused
            return
        if self._in_flight >= self._gateway.max_in_flight_per_session:
            self._refuse(number, SESSION_IN_FLIGHT, self._retry_after_s)
            return
        reason = rt.pipeline.refusal()
        if reason is not None:
            self._refuse(number, reason, self._retry_after_s)
            return
        self._strikes = 0
        self._in_flight += 1
        rt.pipeline.submit(PendingFrame(frame.meta.frame, self._key, frame.value, self._done))
        rt.metrics.frames_accepted.labels(transport).inc()

    def _done(self, pending: PendingFrame, error: BaseException | None) -> None:
        self._in_flight -= 1
        if not self._open:
            return  # the client is gone: it resends what it saw no ack for
        if error is None:
            self.outbox.ack(pending.frame)
        else:
            self._refuse(pending.frame, NOT_DELIVERED, self._retry_after_s)

    def _refuse(self, number: int | None, reason: str, retry_s: float, pause: bool = True) -> None:
        if pause:
            self._paused_until = max(self._paused_until, time.monotonic() + retry_s)
            self._pause_reason = reason
        self.outbox.refuse(number, reason, max(1, math.ceil(retry_s * 1000)))
        self._rt.metrics.frames_refused.labels(reason).inc()

    def _strike(self) -> None:
        self._strikes += 1
        if self._strikes >= self._gateway.rate_strikes_to_close:
            self._rt.metrics.connections_refused.labels(RATE_LIMITED).inc()
            self.outbox.close(CloseCode.RATE_LIMITED, "kept sending over the rate limit")
