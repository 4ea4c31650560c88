"""One decoded batch -> windows, scores, records to publish and window-state updates.

Pure given the store and the scorer: it reads window states (one ``store.load`` for the
whole batch), applies the window rules per (user, session), scores every window the batch
completed in one ``scorer.score`` call, and returns what the loop must publish and save. It
neither publishes nor saves: the loop does that in the order its delivery invariant needs.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from consumer.alerts.episodes import Transition
from consumer.alerts.stage import AlertStage
from consumer.alerts.state import SECTION
from consumer.errors import DataError
from consumer.features.runner_level import SECTION as RUNNER_SECTION
from consumer.features.runner_level import RunnerLevels, Runs
from consumer.gait.serving import AUTOENCODER, RULES, GaitAssessment, GaitStage, GroupState
from consumer.lifecycle.personal import SECTION as PERSONAL_SECTION
from consumer.lifecycle.personal import PersonalStage
from consumer.model.base import Scorer, ScoreResult
from consumer.serve.batch import DecodedBatch, FrameGroup
from consumer.serve.detectors import DetectorResult
from consumer.serve.events import ScoredWindow, anomaly_event, dead_letter, score_record, to_json
from consumer.serve.recency import Recency
from consumer.settings import Settings
from consumer.windows.codec import GAIT_SECTION, CorruptState, pack_extra, unpack_extra
from consumer.windows.rules import Applied, Outcome, WindowConfig, apply_frames
from consumer.windows.store import Loaded, StateKey, StateUpdate, WindowStore

log = logging.getLogger(__name__)

DETECTOR = AUTOENCODER


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    topic: str
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class OutputTopics:
    anomalies: str
    dlq: str
    scores: str | None  # None: score records are not published

    @classmethod
    def from_settings(cls, settings: Settings) -> OutputTopics:
        t = settings.topics
        return cls(t.anomalies, t.dlq, t.scores if t.publish_scores else None)


@dataclass
class BatchResult:
    """Everything one batch decided; nothing of it is published or saved yet."""

    records: list[OutgoingRecord] = field(default_factory=list)
    updates: list[StateUpdate] = field(default_factory=list)
    windows: list[ScoredWindow] = field(default_factory=list)
    users: set[str] = field(default_factory=set)
    consumed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    not_scored: Counter[str] = field(default_factory=Counter)
    score_seconds: float | None = None  # None when the batch completed no window
    alert_transitions: list[Transition] = field(default_factory=list)  # alerts published

    @property
    def anomalies(self) -> int:
        return sum(1 for w in self.windows if w.anomaly)

    @property
    def scored(self) -> int:
        return sum(1 for w in self.windows if w.score is not None)


def window_config(settings: Settings) -> WindowConfig:
    w = settings.window
    return WindowConfig(w.size, w.hop, w.max_gap_frames, w.max_gap_ms)


class BatchProcessor:
    """Turns decoded batches into results (see the module docstring)."""

    def __init__(
        self,
        store: WindowStore,
        config: WindowConfig,
        topics: OutputTopics,
        written: Recency,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        timer: Callable[[], float] = time.perf_counter,
        gait: GaitStage | None = None,
        detectors: Sequence[str] = (AUTOENCODER,),
        alerts: AlertStage | None = None,
        personal: PersonalStage | None = None,
    ) -> None:
        self._store = store
        self._config = config
        self._topics = topics
        # Keys this process saved within the idle TTL: if one is absent on load, its state was
        # lost (Redis restarted or flushed), not expired.
        self._written = written
        self._clock_ms = clock_ms
        self._timer = timer
        # With a gait stage every window also gets gait metrics and the rules' cues, and its
        # rolling gait state rides in the window state's extra bytes; ``detectors`` are those
        # whose flag makes an anomaly event (docs/metrics.md).
        self._gait = gait
        self._detectors = tuple(detectors)
        # With an alert stage each session's scored windows also drive its episode tracker,
        # whose state rides in the extra bytes beside the gait state (one section each).
        self._alerts = alerts
        # With a personal stage every scored window gets personal_z from its runner's running
        # score statistics, kept in the extra bytes too (consumer/lifecycle/personal.py).
        self._personal = personal

    def process(self, batch: DecodedBatch, scorer: Scorer) -> BatchResult:
        result = BatchResult(consumed=batch.records, rejected=batch.rejected_by_reason())
        now_ms = self._clock_ms()
        for rejected in batch.rejected:
            letter = to_json(dead_letter(rejected, now_ms))
            result.records.append(OutgoingRecord(self._topics.dlq, rejected.record.key, letter))
        if not batch.groups:
            return result

        loaded = self._store.load([group.key for group in batch.groups])
        completed: list[tuple[FrameGroup, Applied]] = []
        for group in batch.groups:
            state = loaded[group.key]
            applied = apply_frames(
                state.window, group.frames, group.ts_ms, group.values, self._config
            )
            self._count_outcomes(group.key, state, applied, result)
            result.users.add(group.key[0])
            if applied.state is not None and applied.state is not state.window:
                result.updates.append(
                    StateUpdate(group.key, state.version, applied.state, state.extra)
                )
            if len(applied.windows):
                completed.append((group, applied))
        if completed:
            sections = {group.key: _sections(group.key, loaded[group.key].extra)
                        for group, _ in completed}
            by_session = self._score(completed, sections, scorer, result)
            if self._alerts is not None:
                self._advance_episodes(by_session, sections, result)
            extras = {key: pack_extra(parts) for key, parts in sections.items()}
            result.updates = [replace(u, extra=extras.get(u.key, u.extra))
                              for u in result.updates]
        return result

    def _advance_episodes(
        self,
        by_session: dict[StateKey, list[ScoredWindow]],
        sections: dict[StateKey, dict[str, bytes]],
        result: BatchResult,
    ) -> None:
        """Alert records go out in the same batch as the windows behind them, so the loop's
        delivery invariant (publish, flush, then save) covers them too."""
        stage = self._alerts
        if stage is None:
            return
        now_ms = self._clock_ms()
        for key, windows in by_session.items():
            step = stage.advance(key, sections[key].get(SECTION, b""), windows, now_ms)
            sections[key][SECTION] = step.section
            key_bytes = key[0].encode()
            result.records.extend(OutgoingRecord(stage.topic, key_bytes, m) for m in step.messages)
            result.alert_transitions.extend(step.transitions)

    def saved(self, updates: list[StateUpdate], conflicts: list[StateKey]) -> None:
        """Record which states this process wrote (called after a successful save)."""
        refused = set(conflicts)
        self._written.touch(u.key for u in updates if u.key not in refused)

    def _count_outcomes(
        self, key: StateKey, state: Loaded, applied: Applied, result: BatchResult
    ) -> None:
        outcomes = np.bincount(applied.outcomes, minlength=len(Outcome))
        if outcomes[Outcome.DUPLICATE]:
            result.ignored["duplicate"] += int(outcomes[Outcome.DUPLICATE])
        if outcomes[Outcome.RESTARTED]:
            result.restarts["gap"] += int(outcomes[Outcome.RESTARTED])
        if state.window is None and outcomes[Outcome.STARTED]:
            if state.corrupt:
                result.restarts["corrupt_state"] += 1
            elif self._written.seen_recently(key):
                result.restarts["state_lost"] += 1

    def _score(
        self,
        completed: list[tuple[FrameGroup, Applied]],
        sections: dict[StateKey, dict[str, bytes]],
        scorer: Scorer,
        result: BatchResult,
    ) -> dict[StateKey, list[ScoredWindow]]:
        """Score the completed windows, put the new gait states and runner levels in
        ``sections``; return each session's scored windows in order."""
        windows = np.concatenate([applied.windows for _, applied in completed])
        runs = _runs(completed, sections, scorer)
        started = self._timer()
        # Only a runner-relative model (``runner_relative``) takes the runs.
        scores = scorer.score(windows) if runs is None else scorer.score(windows, runs)
        result.score_seconds = self._timer() - started
        if runs is not None:
            for (group, _), levels in zip(completed, scores.runner_levels, strict=True):
                sections[group.key][RUNNER_SECTION] = levels.encode()
        gait = None
        if self._gait is not None:
            gait = self._gait.assess(
                windows,
                np.concatenate([applied.window_frames for _, applied in completed]),
                [GroupState(g.key, sections[g.key].get(GAIT_SECTION, b""), len(a.windows))
                 for g, a in completed],
            )
        now_ms = self._clock_ms()
        threshold = float(scorer.threshold)
        i = 0
        by_session: dict[StateKey, list[ScoredWindow]] = {}
        for group, applied in completed:
            user_id, session_id = group.key
            key_bytes = user_id.encode()
            session_windows = by_session.setdefault(group.key, [])
            stats = (self._personal.start(sections[group.key].get(PERSONAL_SECTION))
                     if self._personal is not None else None)
            for frames, ts in zip(applied.window_frames, applied.window_ts_ms, strict=True):
                window = _scored_window(
                    scores, i, user_id, session_id, frames, ts, threshold, scorer.version
                )
                if gait is not None:
                    window = self._with_gait(window, gait, i)
                if self._personal is not None and stats is not None:
                    personal = self._personal.observe(stats, window.score)
                    window = replace(window, extras={**window.extras, **personal})
                i += 1
                result.windows.append(window)
                session_windows.append(window)
                if window.score is None:
                    result.not_scored[window.invalid_reason or "invalid"] += 1
                if self._topics.scores is not None:
                    record = to_json(score_record(window, now_ms))
                    result.records.append(OutgoingRecord(self._topics.scores, key_bytes, record))
                if window.anomaly:
                    event = to_json(anomaly_event(window, now_ms))
                    result.records.append(
                        OutgoingRecord(self._topics.anomalies, key_bytes, event)
                    )
            if stats is not None:
                sections[group.key][PERSONAL_SECTION] = stats.pack()
        if gait is not None:
            for key, parts in sections.items():
                parts[GAIT_SECTION] = gait.states.get(key, parts.get(GAIT_SECTION, b""))
        return by_session

    def _with_gait(self, window: ScoredWindow, gait: GaitAssessment, i: int) -> ScoredWindow:
        """The window as the enabled detectors see it; a flagged one carries its gait."""
        # The models that flagged it (autoencoder, classifier), as far as they are enabled.
        flagged = [name for name in window.detectors if name in self._detectors]
        if RULES in self._detectors and bool(gait.flagged[i]):
            flagged.append(RULES)
        extras = {**window.extras, **gait.event_fields(i)} if flagged else window.extras
        return replace(window, anomaly=bool(flagged), detectors=tuple(flagged), extras=extras)


def _runs(
    completed: list[tuple[FrameGroup, Applied]], sections: dict[StateKey, dict[str, bytes]],
    scorer: Scorer,
) -> Runs | None:
    """For a model that reads windows against the runner: each session's levels (kept in its
    window state's extra bytes) and its windows' last frames; None for any other model."""
    if not getattr(scorer, "runner_relative", False):
        return None
    channels = int(getattr(scorer, "runner_channels", 0))
    spans: list[tuple[RunnerLevels | None, int]] = []
    for group, applied in completed:
        stored = sections[group.key].get(RUNNER_SECTION)
        levels = None
        if stored:
            try:
                levels = RunnerLevels.decode(stored, channels)
            except DataError as exc:  # another model's levels (a reload): learn afresh
                log.info("runner levels unreadable, starting afresh key=%s:%s error=%s",
                         group.key[0], group.key[1], exc)
        spans.append((levels, len(applied.windows)))
    return Runs(tuple(spans), np.concatenate([a.window_frames[:, -1] for _, a in completed]))


def _sections(key: StateKey, extra: bytes) -> dict[str, bytes]:
    """The extra bytes' sections; an unreadable container starts every stage afresh."""
    try:
        return unpack_extra(extra)
    except CorruptState as exc:
        log.warning("extra state unreadable, starting afresh key=%s:%s error=%s",
                    key[0], key[1], exc)
        return {}


def _scored_window(
    scores: ScoreResult,
    i: int,
    user_id: str,
    session_id: str,
    frames: np.ndarray,
    ts: np.ndarray,
    threshold: float,
    model_version: str,
) -> ScoredWindow:
    valid = bool(scores.valid[i])
    anomaly = valid and bool(scores.is_anomaly[i])
    # Several models (consumer/serve/detectors.py) say which of them flagged the window and
    # what its event gains; a single autoencoder is the one detector.
    if isinstance(scores, DetectorResult):
        detectors = scores.flagged_by[i] if anomaly else ()
        extras: Mapping[str, Any] = scores.extras[i]
    else:
        detectors, extras = ((DETECTOR,) if anomaly else ()), {}
    return ScoredWindow(
        user_id=user_id,
        session_id=session_id,
        start_frame=int(frames[0]),
        end_frame=int(frames[-1]),
        start_ts_ms=int(ts[0]),
        end_ts_ms=int(ts[-1]),
        score=float(scores.scores[i]) if valid else None,
        threshold=threshold,
        model_version=model_version,
        anomaly=anomaly,
        invalid_reason=None if valid else (scores.invalid_reasons[i] or "invalid"),
        top_joints=tuple(scores.top_joints[i]) if valid else (),
        detectors=detectors,
        extras=extras,
    )
