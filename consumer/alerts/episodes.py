"""The episode state machine, pure: (state, the session's next windows) -> (state, transitions).

::

                 k of the last n windows anomalous,
                 the last one too, cooldown over
     CLOSED ─────────────────────────────────────────► OPEN ──┐ anomalies go on:
       ▲  ▲                  emit `opened`             │  ▲  │ `update` on an anomalous window
       │  │                                            │  └──┘ once update_interval passed
       │  └──── m clean windows in a row ──────────────┤
       │         emit `resolved` (clean), cooldown     │
       └─────── no window for idle_after ──────────────┘
                 emit `resolved` (idle): on the session's next window,
                 or by the sweep (sweep.py) when none comes

Everything is decided in window time (the windows' ``ts_ms``), never the wall clock, so the
same state and windows always give the same state and transitions: a replayed batch emits
the same messages with the same ids. Windows the model could not score are neutral: they
neither count as anomalous nor as clean, but they do advance time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from consumer.alerts.config import EpisodeConfig
from consumer.alerts.state import Episode, EpisodeState, Span
from consumer.alerts.verdicts import WindowVerdict

Kind = Literal["opened", "update", "resolved"]
# Why an episode resolved: clean windows, no window for idle_after (seen on the next window
# or by the sweep), or its window state was gone when the sweep came (expired or lost).
RESOLVE_REASONS = ("clean", "idle", "expired")


@dataclass(frozen=True, slots=True)
class Transition:
    """One alert message to emit: its kind, the episode as it then stood, its sequence
    number within the episode (0 for `opened`) and, for `resolved`, why."""

    kind: Kind
    episode: Episode
    seq: int
    reason: str | None = None


def advance(
    state: EpisodeState, verdicts: Iterable[WindowVerdict], config: EpisodeConfig
) -> tuple[EpisodeState, list[Transition]]:
    """Feed a session's next windows, in order; returns the new state and what to emit."""
    out: list[Transition] = []
    for verdict in verdicts:
        state = _step(state, verdict, config, out)
    return state, out


def resolve_idle(
    state: EpisodeState, config: EpisodeConfig, reason: str = "idle"
) -> tuple[EpisodeState, Transition | None]:
    """Resolve the open episode (if any) because its session went quiet; what the sweep and
    the next window after a long gap both do, so that both emit the same message."""
    episode = state.episode
    if episode is None:
        return _compact(replace(state, history=())), None
    cooldown = state.last_ts_ms + config.cooldown_ms if config.cooldown_ms else 0
    closed = EpisodeState(cooldown_until_ts_ms=cooldown, last_ts_ms=state.last_ts_ms,
                          extra=state.extra)
    return _compact(closed), Transition("resolved", episode, episode.seq, reason)


def _step(
    state: EpisodeState, verdict: WindowVerdict, config: EpisodeConfig, out: list[Transition]
) -> EpisodeState:
    if state.last_ts_ms and verdict.end_ts_ms - state.last_ts_ms > config.idle_after_ms:
        state, resolved = resolve_idle(state, config)
        if resolved is not None:
            out.append(resolved)
    if state.cooldown_until_ts_ms and verdict.end_ts_ms >= state.cooldown_until_ts_ms:
        state = replace(state, cooldown_until_ts_ms=0)
    if state.episode is None:
        state = _closed_step(state, verdict, config, out)
    else:
        state = _open_step(state, state.episode, verdict, config, out)
    return _compact(replace(state, last_ts_ms=verdict.end_ts_ms))


def _closed_step(
    state: EpisodeState, verdict: WindowVerdict, config: EpisodeConfig, out: list[Transition]
) -> EpisodeState:
    history = (*state.history, verdict)[-config.of_last:]
    # Windows before the first anomalous one can neither open nor join an episode.
    first = next((i for i, v in enumerate(history) if v.anomalous), len(history))
    history = history[first:]
    anomalous = sum(v.anomalous for v in history)
    if not (verdict.anomalous and anomalous >= config.open_windows
            and not state.cooldown_until_ts_ms):
        return replace(state, history=history)
    episode = _open(history)
    out.append(Transition("opened", episode, 0))
    episode = replace(episode, seq=1, emitted_ts_ms=verdict.end_ts_ms)
    return replace(state, history=(), episode=episode)


def _open(history: tuple[WindowVerdict, ...]) -> Episode:
    first = history[0]
    episode = Episode(first.end_frame, first.start_frame, first.start_ts_ms, Span())
    for verdict in history:
        episode = (episode.with_anomaly(verdict) if verdict.anomalous
                   else replace(episode, tail=episode.tail.add(verdict)))
    return episode


def _open_step(
    state: EpisodeState, episode: Episode, verdict: WindowVerdict, config: EpisodeConfig,
    out: list[Transition],
) -> EpisodeState:
    if not verdict.anomalous:
        clean_run = episode.clean_run + int(verdict.scored)
        episode = replace(episode, tail=episode.tail.add(verdict), clean_run=clean_run)
        if clean_run >= config.resolve_after_clean:
            out.append(Transition("resolved", episode, episode.seq, "clean"))
            cooldown = verdict.end_ts_ms + config.cooldown_ms if config.cooldown_ms else 0
            return EpisodeState(cooldown_until_ts_ms=cooldown, extra=state.extra)
        return replace(state, episode=episode)
    episode = episode.with_anomaly(verdict)
    if verdict.end_ts_ms - episode.emitted_ts_ms >= config.update_interval_ms:
        out.append(Transition("update", episode, episode.seq))
        episode = replace(episode, seq=episode.seq + 1, emitted_ts_ms=verdict.end_ts_ms)
    return replace(state, episode=episode)


def _compact(state: EpisodeState) -> EpisodeState:
    """Forget the clock when nothing else is left, so that the state is empty (no bytes)."""
    if not state.history and state.episode is None and not state.cooldown_until_ts_ms:
        return EpisodeState(extra=state.extra) if state.last_ts_ms else state
    return state
