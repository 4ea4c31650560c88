"""Where window states live between poll batches: the ``WindowStore`` protocol, in memory.

A store holds one state per (user, session) key, with a version counter for compare-and-set:

* ``load(keys)`` returns, for every key, a ``Loaded`` (version 0 and no window when absent);
* ``save(updates)`` writes each update whose ``expected_version`` still matches the stored
  one (or whose key is absent: an expired or lost state is simply written again) and returns
  the keys that conflicted: someone else wrote them since our load, so ours is dropped;
* every write refreshes an idle TTL: a runner who stops sending frames costs nothing after it.

The Redis implementation (``redis_store.py``) does each of those in one round trip per batch;
the in-memory one here is for unit tests and single-process tools, with an injected clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from consumer.windows.codec import next_version
from consumer.windows.rules import WindowState

StateKey = tuple[str, str]  # (user_id, session_id), both validated by the frame decoder

ABSENT_VERSION = 0


@dataclass(frozen=True, slots=True)
class Loaded:
    """A key's state as loaded: its CAS version (0 when absent) and window (None when absent).

    ``corrupt`` is set when a value was there but could not be decoded: it is treated as
    absent and overwritten by the next save.
    """

    version: int = ABSENT_VERSION
    window: WindowState | None = None
    extra: bytes = b""
    corrupt: bool = False


@dataclass(frozen=True, slots=True)
class StateUpdate:
    key: StateKey
    expected_version: int
    window: WindowState
    extra: bytes = b""

    @property
    def new_version(self) -> int:
        return next_version(self.expected_version)


class WindowStore(Protocol):
    """Window states by key, with compare-and-set saves and an idle TTL."""

    def load(self, keys: Sequence[StateKey]) -> dict[StateKey, Loaded]:
        """The state of every key (absent ones as ``Loaded()``), in one round trip."""
        ...

    def save(self, updates: Sequence[StateUpdate]) -> list[StateKey]:
        """Write the updates whose version still matches; return the conflicting keys."""
        ...

    def ping(self) -> None:
        """Raise ServiceUnavailable when the store cannot be reached."""
        ...


@dataclass(slots=True)
class _Entry:
    version: int
    window: WindowState
    extra: bytes
    expires_at: float


class InMemoryWindowStore:
    """A ``WindowStore`` in a dict, with the same CAS and TTL rules as the Redis one."""

    def __init__(self, idle_ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = idle_ttl_s
        self._clock = clock
        self._entries: dict[StateKey, _Entry] = {}
        self.round_trips = 0  # what a remote store would cost; tests assert on it

    def _live(self, key: StateKey, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= now:
            del self._entries[key]
            return None
        return entry

    def load(self, keys: Sequence[StateKey]) -> dict[StateKey, Loaded]:
        self.round_trips += 1
        now = self._clock()
        loaded: dict[StateKey, Loaded] = {}
        for key in keys:
            entry = self._live(key, now)
            loaded[key] = (
                Loaded() if entry is None else Loaded(entry.version, entry.window, entry.extra)
            )
        return loaded

    def save(self, updates: Sequence[StateUpdate]) -> list[StateKey]:
        self.round_trips += 1
        now = self._clock()
        conflicts: list[StateKey] = []
        for update in updates:
            entry = self._live(update.key, now)
            if entry is not None and entry.version != update.expected_version:
                conflicts.append(update.key)
                continue
            self._entries[update.key] = _Entry(
                update.new_version, update.window, update.extra, now + self._ttl_s
            )
        return conflicts

    def ping(self) -> None:
        return None

    def delete(self, keys: Iterable[StateKey]) -> None:
        """Forget states, as a Redis restart would (tests of the state-lost path)."""
        for key in keys:
            self._entries.pop(key, None)
