"""Liveness and readiness of the consumer, shared between the loop and the HTTP thread.

* live: the loop turned recently (it turns while backing off too, so a consumer waiting for
  Redis is alive, just not ready);
* ready: the broker, Redis and the model each answered on their last use.
The loop writes, the HTTP thread reads; a lock keeps the pair consistent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from consumer.serve.metrics import DEPENDENCIES, ConsumerMetrics


@dataclass(frozen=True)
class HealthReport:
    live: bool
    ready: bool
    dependencies: dict[str, bool]
    last_turn_s_ago: float
    detail: dict[str, str]

    def as_dict(self) -> dict[str, object]:
        return {
            "live": self.live,
            "ready": self.ready,
            "dependencies": self.dependencies,
            "last_turn_s_ago": round(self.last_turn_s_ago, 3),
            "detail": self.detail,
        }


class Health:
    def __init__(
        self,
        metrics: ConsumerMetrics | None = None,
        stall_after_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metrics = metrics
        self._stall_after_s = stall_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._up = dict.fromkeys(DEPENDENCIES, False)
        self._detail: dict[str, str] = {}
        self._last_turn = clock()

    def turned(self) -> None:
        """The loop made progress (a poll returned, or a backoff step passed)."""
        with self._lock:
            self._last_turn = self._clock()

    def set(self, dependency: str, up: bool, detail: str = "") -> None:
        with self._lock:
            self._up[dependency] = up
            if up:
                self._detail.pop(dependency, None)
            else:
                self._detail[dependency] = detail
        if self._metrics is not None:
            self._metrics.dependency_up.labels(dependency).set(1 if up else 0)

    def is_up(self, dependency: str) -> bool:
        with self._lock:
            return self._up[dependency]

    def report(self) -> HealthReport:
        with self._lock:
            ago = self._clock() - self._last_turn
            up = dict(self._up)
            detail = dict(self._detail)
        return HealthReport(
            live=ago < self._stall_after_s,
            ready=all(up.values()),
            dependencies=up,
            last_turn_s_ago=ago,
            detail=detail,
        )
