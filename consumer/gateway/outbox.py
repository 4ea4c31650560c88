"""Messages waiting for one WebSocket, coalesced, bounded, written by one writer task.

Acks, rejections and refusals are bounded by what the client sent and has in flight (and the
reader stops reading while ``backlog`` is high, so a client that does not read its socket
stops being read too); events are capped at ``max_events``, dropping the oldest.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from consumer.gateway import protocol


@dataclass
class _Refusal:
    retry_after_ms: int
    frames: list[int | None] = field(default_factory=list)


class Outbox:
    def __init__(self, max_events: int) -> None:
        self._acks: list[int] = []
        self._rejected: list[dict[str, object]] = []
        self._refusals: dict[str, _Refusal] = {}
        self._control: list[bytes] = []
        self._events: deque[bytes] = deque()
        self._max_events = max_events
        self._close: tuple[int, str] | None = None
        self._ready = asyncio.Event()
        self.events_dropped = 0

    def ack(self, frame: int) -> None:
        self._acks.append(frame)
        self._ready.set()

    def reject(self, frame: int | None, reason: str, detail: str) -> None:
        self._rejected.append({"frame": frame, "reason": reason, "detail": detail})
        self._ready.set()

    def refuse(self, frame: int | None, reason: str, retry_after_ms: int) -> None:
        refusal = self._refusals.setdefault(reason, _Refusal(retry_after_ms))
        refusal.retry_after_ms = max(refusal.retry_after_ms, retry_after_ms)
        refusal.frames.append(frame)
        self._ready.set()

    def control(self, message: bytes) -> None:
        self._control.append(message)
        self._ready.set()

    def event(self, message: bytes) -> bool:
        """Queue an event; False when the oldest queued event was dropped to make room."""
        dropped = len(self._events) >= self._max_events
        if dropped:
            self._events.popleft()
            self.events_dropped += 1
        self._events.append(message)
        self._ready.set()
        return not dropped

    def close(self, code: int, reason: str) -> None:
        """Ask the writer to close the socket after what is queued (first request wins)."""
        if self._close is None:
            self._close = (code, reason)
        self._ready.set()

    @property
    def closing(self) -> tuple[int, str] | None:
        return self._close

    @property
    def backlog(self) -> int:
        return len(self._acks) + len(self._rejected) + len(self._control) + sum(
            len(r.frames) for r in self._refusals.values()
        )

    async def wait(self) -> None:
        await self._ready.wait()
        self._ready.clear()

    def take(self) -> list[bytes]:
        """Everything queued, as messages: control first, then acks, refusals, events."""
        messages = self._control
        self._control = []
        if self._acks:
            messages.append(protocol.ack(self._acks))
            self._acks = []
        if self._rejected:
            messages.append(protocol.rejected(self._rejected))
            self._rejected = []
        for reason, refusal in self._refusals.items():
            messages.append(protocol.slow_down(reason, refusal.retry_after_ms, refusal.frames))
        self._refusals = {}
        messages.extend(self._events)
        self._events.clear()
        return messages
