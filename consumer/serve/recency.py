"""Keys seen within a time horizon: active users, and window states this process wrote."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable


class Recency:
    """When each key was last touched, forgetting keys older than ``horizon_s``.

    The dict is kept in touch order (a touched key moves to the end), so forgetting stale
    keys pops from the front and costs only what it removes.
    """

    def __init__(self, horizon_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._horizon_s = horizon_s
        self._clock = clock
        self._last: dict[Hashable, float] = {}

    def touch(self, keys: Iterable[Hashable]) -> None:
        now = self._clock()
        last = self._last
        for key in keys:
            last.pop(key, None)
            last[key] = now
        self._forget_stale(now)

    def seen_recently(self, key: Hashable) -> bool:
        seen = self._last.get(key)
        return seen is not None and self._clock() - seen < self._horizon_s

    def count(self) -> int:
        self._forget_stale(self._clock())
        return len(self._last)

    def _forget_stale(self, now: float) -> None:
        last = self._last
        while last:
            oldest = next(iter(last))
            if now - last[oldest] < self._horizon_s:
                break
            del last[oldest]
