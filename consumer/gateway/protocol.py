"""What the gateway says on a WebSocket: close codes and the JSON messages it sends.

Server -> client messages are JSON text, each with a ``type``:

* ``hello``: once, after the token is accepted: the user, the limits that apply, the event
  types this socket receives;
* ``ack``: ``frames`` the broker has acknowledged (coalesced: one message per burst);
* ``rejected``: frames that break the frame contract, each with ``reason`` and ``detail``;
  permanent: do not resend them;
* ``slow_down``: ``refused`` frames were not accepted (``reason`` rate_limited, buffer_full,
  broker_unavailable, session_in_flight or not_delivered); resend them, in order, after
  ``retry_after_ms``; frames sent before then are refused too, so order is kept;
* ``anomaly`` / ``alert``: ``event`` is one of this user's events, as on the topic.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import orjson


class CloseCode(IntEnum):
    NORMAL = 1000
    POLICY = 1008  # a message the gateway does not take (neither a frame nor a known control)
    INTERNAL = 1011
    TRY_AGAIN_LATER = 1013  # the gateway is shutting down or cannot reach the broker yet
    BAD_REQUEST = 4400  # e.g. an unknown event type in ?events=
    UNAUTHORIZED = 4401  # missing, malformed, forged or expired token (also at expiry)
    FORBIDDEN_USER = 4403  # a frame names another user than the token
    RATE_LIMITED = 4408  # kept sending far over the rate after slow_down
    TOO_MANY_SESSIONS = 4429  # the user already has max_sessions_per_user sessions open


EVENT_TYPES = ("anomaly", "alert")


def hello(user_id: str, limits: dict[str, Any], events: tuple[str, ...]) -> bytes:
    return orjson.dumps({"type": "hello", "user_id": user_id, "limits": limits,
                         "events": list(events)})


def ack(frames: list[int]) -> bytes:
    return orjson.dumps({"type": "ack", "frames": frames})


def rejected(frames: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"type": "rejected", "frames": frames})


def slow_down(reason: str, retry_after_ms: int, refused: list[int | None]) -> bytes:
    return orjson.dumps({"type": "slow_down", "reason": reason,
                         "retry_after_ms": retry_after_ms, "refused": refused})


def event(kind: str, payload: Any) -> bytes:
    return orjson.dumps({"type": kind, "event": payload})
