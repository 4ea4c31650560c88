"""Idle resolution: a periodic sweep of the open-episode index, in every consumer.

An episode whose runner stops sending (the session ended, the phone died) gets no more
windows, so the batch processor never sees it again. Every ``sweep_interval_s`` each
consumer claims the index entries that no batch refreshed for ``idle_after_s`` (claims are
atomic: one sweeper per entry), and resolves their episodes with the same delivery order as
the serving loop::

    1 load the window states          (one MGET)
    2 resolve_idle on each episode    (pure, the function the next window after a gap uses)
    3 publish `resolved`, flush       (the broker acknowledged them)
    4 save the states                 (compare-and-set: a batch that saved one meanwhile
                                       wins, and its entry stays in the index)
    5 release the index entries       (only those still carrying this sweep's claim)

A crash anywhere leaves the entry claimed until ``claim_ms`` passes; the next sweep does it
again and publishes the same message (same ``message_id``). An entry whose window state is
gone (it expired: every consumer was down for the whole TTL) is resolved from the index's
snapshot with reason ``expired``. A consumer sweeps only after it has run ``idle_after_s``
itself and its loop has caught up once (its partitions' lag under one poll batch), so that after
an outage, or a start slowed by a busy machine, the loop first catches up on the backlog (whose
windows refresh the entries of runners who are still running).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from consumer.alerts.config import EpisodeConfig
from consumer.alerts.episodes import Transition, resolve_idle
from consumer.alerts.index import OpenEpisodeIndex
from consumer.alerts.messages import CueTexts, alert_message
from consumer.alerts.stage import load_episode_state
from consumer.alerts.state import SECTION, encode_state
from consumer.errors import ServiceUnavailable
from consumer.serve.events import to_json
from consumer.serve.metrics import ConsumerMetrics
from consumer.serve.ports import RecordSink
from consumer.serve.processor import OutgoingRecord
from consumer.windows.codec import CorruptState, pack_extra, unpack_extra
from consumer.windows.store import StateUpdate, WindowStore

log = logging.getLogger(__name__)

CLAIM_LIMIT = 500  # entries per sweep; more wait for the next one


@dataclass
class SweepResult:
    transitions: list[Transition] = field(default_factory=list)
    released: int = 0
    conflicts: int = 0


class IdleSweeper:
    def __init__(
        self, *, store: WindowStore, index: OpenEpisodeIndex, sink: RecordSink, topic: str,
        config: EpisodeConfig, cue_texts: CueTexts, metrics: ConsumerMetrics | None = None,
        interval_s: float = 5.0, clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._store = store
        self._index = index
        self._sink = sink
        self._topic = topic
        self._config = config
        self._texts = cue_texts
        self._metrics = metrics
        self._interval_s = interval_s
        self._clock_ms = clock_ms
        # A crashed sweep's claim must outlive a slow one (publish + save), then lapse.
        self._claim_ms = max(60_000, round(3 * interval_s * 1000))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._caught_up: threading.Event | None = None

    def sweep_once(self) -> SweepResult:
        now = self._clock_ms()
        claimed_until = now + self._claim_ms
        keys = self._index.claim_due(now, claimed_until, CLAIM_LIMIT)
        result = SweepResult()
        if not keys:
            return result
        loaded = self._store.load(keys)
        gone = [key for key in keys if loaded[key].window is None]
        snapshots = self._index.snapshots(gone)
        records: list[OutgoingRecord] = []
        updates: list[StateUpdate] = []
        for key in keys:
            state = loaded[key]
            if state.window is None:
                section, reason = snapshots.get(key, b""), "expired"
                sections: dict[str, bytes] = {}
            else:
                sections, reason = _sections(state.extra), "idle"
                section = sections.get(SECTION, b"")
            closed, transition = resolve_idle(load_episode_state(key, section), self._config,
                                              reason)
            if transition is not None:
                message = to_json(alert_message(key, transition, self._texts, now))
                records.append(OutgoingRecord(self._topic, key[0].encode(), message))
                result.transitions.append(transition)
                if state.window is not None:
                    sections[SECTION] = encode_state(closed)
                    updates.append(StateUpdate(key, state.version, state.window,
                                               pack_extra(sections)))
        self._sink.publish(records)
        refused = set(self._store.save(updates))
        result.conflicts = len(refused)
        for key in keys:
            if key not in refused and self._index.release(key, claimed_until):
                result.released += 1
        if result.transitions:
            log.info("idle episodes resolved resolved=%d conflicts=%d",
                     len(result.transitions), result.conflicts)
        return result

    def start(self, caught_up: threading.Event | None = None) -> None:
        """Sweep in a thread; ``caught_up``: the serving loop's "backlog drained" signal."""
        self._caught_up = caught_up
        self._thread = threading.Thread(target=self._run, name="episode-sweep", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        # Sweeps start once this consumer has run for idle_after (see the module docstring);
        # the open-episode gauge is kept fresh from the start.
        sweep_from = time.monotonic() + self._config.idle_after_ms / 1000
        while True:
            try:
                if time.monotonic() >= sweep_from and (
                    self._caught_up is None or self._caught_up.is_set()
                ):
                    transitions = self.sweep_once().transitions
                    if self._metrics is not None:
                        self._metrics.record_alerts(transitions)
                if self._metrics is not None:
                    self._metrics.alert_episodes_open.set(self._index.count())
            except ServiceUnavailable as exc:
                # Claims lapse by themselves; the next sweep takes the entries again.
                log.warning("episode sweep failed, retrying next time error=%s", exc)
            if self._stop.wait(self._interval_s):
                return


def _sections(extra: bytes) -> dict[str, bytes]:
    try:
        return unpack_extra(extra)
    except CorruptState:
        return {}
