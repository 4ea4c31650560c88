"""The audit of a scenario: what the input implies against what the consumer published.

``collect`` reads the frames topic until every message the scenario sent is there, waits until
the consumer group has committed all of it (so every record of every finished batch was
acknowledged), then reads the score, anomaly and dead-letter topics to the end. ``Audit``
compares:

* windows: the ids the window rules yield from the valid frames (``FrameLedger.expected``)
  against the distinct ids on the scores topic: none missing, none unexpected;
* duplicates: a window id scored twice must be the same window (``ScoreLedger``), an event id
  published twice the same event (``EventLedger``);
* events: exactly the windows scored as anomalous have an event.

When Redis lost window states (a restart), the windows of a runner may legitimately restart:
``explain_restarts`` checks that each runner's scored windows are those of the rules restarted
once, at one frame, and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from consumer.frames import FrameLimits
from consumer.serve.processor import window_config
from consumer.settings import Settings
from tests.support.reliability.ledgers import EventLedger, FrameLedger, ScoreLedger, StateKey
from tests.support.reliability.results import ScenarioResult
from tests.support.reliability.topics import TopicTail, wait_all_committed


@dataclass
class Audit:
    frames: FrameLedger
    scores: ScoreLedger
    events: EventLedger
    expected: set[str]
    dead_letters: list[dict] = field(default_factory=list)
    # (user, session) -> index of the frame where its window restarted after a state loss
    restarts: dict[StateKey, int] = field(default_factory=dict)

    @property
    def missing(self) -> set[str]:
        return self.expected - self.scores.ids

    @property
    def unexpected(self) -> set[str]:
        return self.scores.ids - self.expected

    def problems(self) -> list[str]:
        """What breaks the promise (at least once, no loss, duplicates only by id)."""
        found: list[str] = []
        if self.missing:
            found.append(f"{len(self.missing)} windows never scored, e.g. "
                         f"{sorted(self.missing)[:5]}")
        if self.unexpected:
            found.append(f"{len(self.unexpected)} scored windows the frames do not imply, e.g. "
                         f"{sorted(self.unexpected)[:5]}")
        if self.scores.different_copies:
            a, b = self.scores.different_copies[0]
            found.append(f"{len(self.scores.different_copies)} window ids scored twice as "
                         f"different windows, e.g. {a} vs {b}")
        if self.events.different_copies:
            a, b = self.events.different_copies[0]
            found.append(f"{len(self.events.different_copies)} event ids published twice with "
                         f"different content, e.g. {a} vs {b}")
        no_event = self.scores.anomalous - self.events.ids
        if no_event:
            found.append(f"{len(no_event)} anomalous windows without an event, e.g. "
                         f"{sorted(no_event)[:5]}")
        no_window = self.events.ids - self.scores.anomalous
        if no_window:
            found.append(f"{len(no_window)} events without an anomalous score record, e.g. "
                         f"{sorted(no_window)[:5]}")
        return found

    def catch_up_s(self, fault_end_ms: int) -> float:
        """Seconds from the end of a fault until every window finished before it was scored.

        A window counts from its first copy; windows already scored before the fault ended
        count as 0. This is the time the consumer needed to get back to where it would have
        been (start-up included after a kill).
        """
        worst = 0
        for window_id, first in self.scores.first.items():
            if first["window_end_ts_ms"] <= fault_end_ms:
                worst = max(worst, self.scores.first_scored_at_ms[window_id] - fault_end_ms)
        return worst / 1000

    def max_latency_s(self) -> float:
        """The longest frame-to-score time of any window (first copies)."""
        return max(
            ((self.scores.first_scored_at_ms[i] - f["window_end_ts_ms"]) / 1000
             for i, f in self.scores.first.items()),
            default=0.0,
        )

    def fill(self, result: ScenarioResult) -> None:
        """Copy the figures into the scenario's result row."""
        result.windows_expected = len(self.expected)
        result.windows_scored = len(self.scores.ids)
        result.missing = len(self.missing)
        result.unexpected = len(self.unexpected)
        result.duplicated = self.scores.duplicated
        result.anomaly_events = len(self.events.ids)
        result.extra["event_copies_beyond_first"] = self.events.duplicated
        result.extra["valid_frames"] = self.frames.valid
        result.extra["max_frame_to_score_s"] = round(self.max_latency_s(), 2)
        if self.restarts:
            result.extra["windows_restarted_after_state_loss"] = len(self.restarts)


def collect(
    settings: Settings,
    messages_sent: int,
    *,
    commit_timeout_s: float = 180.0,
    read_dlq: bool = False,
    limits: FrameLimits | None = None,
) -> Audit:
    """Read the scenario's topics once the consumers are done (see the module docstring)."""
    f = settings.frames
    frames = FrameLedger(
        window_config(settings),
        limits or FrameLimits(f.max_message_bytes, f.max_future_ms, f.max_age_ms),
    )
    tails = [TopicTail(settings, settings.topics.frames, frames.add)]
    try:
        tails[0].read_until(lambda: frames.records >= messages_sent, 60,
                            f"{messages_sent} messages on {settings.topics.frames}")
        tails[0].read_to_quiet(quiet_polls=2)
        wait_all_committed(settings, frames.ends, commit_timeout_s)
        scores, events = ScoreLedger(), EventLedger()
        letters: list[dict] = []
        tails.append(TopicTail(settings, settings.topics.scores, scores.add))
        tails.append(TopicTail(settings, settings.topics.anomalies, events.add))
        if read_dlq:
            tails.append(TopicTail(settings, settings.topics.dlq, _letters_into(letters)))
        for tail in tails[1:]:
            tail.read_to_quiet()
        return Audit(frames, scores, events, frames.expected(), letters)
    finally:
        for tail in tails:
            tail.close()


def _letters_into(letters: list[dict]) -> Callable[[Iterable[Any]], None]:
    def add(records: Iterable[Any]) -> None:
        letters.extend(orjson.loads(r.value) for r in records)

    return add


def explain_restarts(audit: Audit) -> list[str]:
    """After a state loss: each runner's windows must be the rules restarted once, or intact.

    For a runner whose scored ids differ from the expected ones, look for one frame index j
    such that the scored ids are exactly the windows completed before frame j plus the windows
    of the rules started afresh at frame j. The first expected window that is missing tells
    where j can be: within a window and a hop before its last frame. Sets ``audit.restarts``,
    replaces ``audit.expected`` with the explained ids, and returns what cannot be explained.
    """
    size, hop = audit.frames.config.size, audit.frames.config.hop
    unexplained: list[str] = []
    explained_ids: set[str] = set()
    for key in audit.frames.runners():
        wanted = audit.frames.windows_of(key)
        scored = audit.scores.ids_of(key)
        if scored == wanted:
            explained_ids |= wanted
            continue
        missing = wanted - scored
        if not missing:
            unexplained.append(f"{key}: extra windows {sorted(scored - wanted)[:3]}")
            explained_ids |= wanted
            continue
        frames, _ = audit.frames.sequence(key)
        first_missing = min(int(i.rsplit(":", 1)[1]) for i in missing)
        at = int((frames == first_missing).argmax())
        match = None
        for j in range(max(1, at - size - hop), at + 1):
            candidate = audit.frames.windows_of(key, 0, j) | audit.frames.windows_of(key, j)
            if candidate == scored:
                match = j
                break
        if match is None:
            unexplained.append(f"{key}: {len(missing)} windows missing, "
                               f"{len(scored - wanted)} extra, no single restart explains them")
            explained_ids |= wanted
        else:
            audit.restarts[key] = match
            explained_ids |= scored
    audit.expected = explained_ids
    return unexplained
