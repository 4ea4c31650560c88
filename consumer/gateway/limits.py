"""Per-user policy at the gateway: a frame-rate token bucket and a cap on open sessions.

Pure and single-threaded (the event loop owns it); time is passed in, so the rules are unit
tested without sleeping. State is per user and dropped when the user has no session open and
a full bucket, so memory follows the users active in the last ``burst / rate`` seconds.
The limits hold per gateway process: behind a load balancer with N processes a user can get up
to N times the rate (sessions stick to a process, so the session cap holds per process too).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

# How often idle users are swept out (seconds of the injected clock).
PRUNE_EVERY_S = 30.0


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; starts full."""

    __slots__ = ("_burst", "_rate", "_tokens", "_updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now

    def take(self, now: float, n: int = 1) -> float:
        """Take ``n`` tokens: 0.0 when taken, else the seconds until ``n`` would be there
        (nothing is taken then; ``inf`` when ``n`` exceeds the burst)."""
        self._refill(now)
        if n <= self._tokens:
            self._tokens -= n
            return 0.0
        if n > self._burst:
            return math.inf
        return (n - self._tokens) / self._rate

    def is_full(self, now: float) -> bool:
        self._refill(now)
        return self._tokens >= self._burst

    @property
    def tokens(self) -> float:
        return self._tokens


@dataclass
class _UserState:
    bucket: TokenBucket
    sessions: int = 0


class SessionLease:
    """Proof that a session slot was granted; ``UserLimits.release`` gives it back once."""

    __slots__ = ("released", "user_id")

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.released = False


class UserLimits:
    def __init__(
        self, rate_per_s: float, burst: int, max_sessions: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate_per_s
        self._burst = burst
        self._max_sessions = max_sessions
        self._clock = clock
        self._users: dict[str, _UserState] = {}
        self._next_prune = clock() + PRUNE_EVERY_S

    def _state(self, user_id: str, now: float) -> _UserState:
        state = self._users.get(user_id)
        if state is None:
            state = self._users[user_id] = _UserState(TokenBucket(self._rate, self._burst, now))
        return state

    def open_session(self, user_id: str) -> SessionLease | None:
        """A lease when the user is under the session cap, else None."""
        now = self._clock()
        self._maybe_prune(now)
        state = self._state(user_id, now)
        if state.sessions >= self._max_sessions:
            return None
        state.sessions += 1
        return SessionLease(user_id)

    def release(self, lease: SessionLease) -> None:
        """Idempotent: a lease gives back its slot once."""
        if lease.released:
            return
        lease.released = True
        state = self._users.get(lease.user_id)
        if state is not None and state.sessions > 0:
            state.sessions -= 1

    def take(self, user_id: str, n: int = 1) -> float:
        """0.0 when the user may send ``n`` frames now, else seconds to wait (nothing taken)."""
        now = self._clock()
        self._maybe_prune(now)
        return self._state(user_id, now).bucket.take(now, n)

    def sessions(self, user_id: str) -> int:
        state = self._users.get(user_id)
        return state.sessions if state else 0

    def tracked_users(self) -> int:
        return len(self._users)

    def _maybe_prune(self, now: float) -> None:
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY_S
        idle = [
            user for user, state in self._users.items()
            if state.sessions == 0 and state.bucket.is_full(now)
        ]
        for user in idle:
            del self._users[user]
