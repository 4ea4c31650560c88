"""Simulated runners streamed in the background while a scenario injects its faults."""

from __future__ import annotations

import threading
import time

from consumer.settings import Settings
from producer_sim.publish import StreamSummary, stream_runners


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class BackgroundStream:
    """``stream_runners`` in a thread: ``start()``, then ``join()`` for its summary."""

    def __init__(self, settings: Settings, **options: object) -> None:
        options.setdefault("fault_rate", 0.0)
        options.setdefault("realtime", True)
        self._settings = settings
        self._options = options
        self._summary: StreamSummary | None = None
        self._error: BaseException | None = None
        self.stop = threading.Event()
        self.started_ms = 0
        self._thread = threading.Thread(target=self._run, name="reliability-stream", daemon=True)

    def _run(self) -> None:
        try:
            self._summary = stream_runners(self._settings, stop=self.stop, **self._options)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to join(), which re-raises it in the test
            self._error = exc

    def start(self) -> BackgroundStream:
        self.started_ms = now_ms()
        self._thread.start()
        return self

    def running(self) -> bool:
        return self._thread.is_alive()

    def seconds(self) -> float:
        """Seconds since the stream started."""
        return (now_ms() - self.started_ms) / 1000

    def end_at_least(self, planned_s: float) -> None:
        """Stop the stream once it has run ``planned_s`` (it runs on while a fault plays out).

        Scenarios plan streams longer than they need and call this when their faults are
        done, so that faults land mid-stream however long a consumer takes to start.
        """
        while self.running() and self.seconds() < planned_s:
            self.stop.wait(0.1)
        self.stop.set()

    def join(self, timeout_s: float = 300.0) -> StreamSummary:
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise AssertionError(f"the stream did not finish within {timeout_s:.0f} s")
        if self._error is not None:
            raise AssertionError(f"the stream failed: {self._error!r}") from self._error
        if self._summary is None:
            raise AssertionError("the stream returned no summary")
        return self._summary
