"""What the gateway refuses, as exceptions with a stable ``reason`` for metrics and clients."""

from __future__ import annotations

from consumer.errors import BarunRunError


class TokenRefused(BarunRunError):
    """The bearer token is missing, malformed, forged, expired or for another audience.

    ``detail`` is safe to show to the client and to log: it never contains the token.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class FrameRefused(BarunRunError):
    """A frame the gateway will not produce; ``frame`` is its number when it could be read.

    ``reason`` is a ``consumer.frames.RejectReason`` value or one of the gateway's own
    (``bad_binary``, ``forbidden_user``).
    """

    def __init__(self, reason: str, detail: str, frame: int | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.frame = frame
