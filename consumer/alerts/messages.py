"""Alert messages (``topics.alerts``, key user_id): builders, pure.

Every field but ``emitted_at_ms`` is a function of the episode state and the windows that led
to it, so a replayed batch re-emits identical messages. ``alert_id`` is
``{user_id}:{session_id}:{end frame of the episode's first window}``, i.e. the ``event_id``
of the anomaly event that started it; ``message_id`` adds the message's ``seq`` within the
episode (``opened`` is 0, each ``update`` one more, ``resolved`` the last). Subscribers drop
duplicates by ``message_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consumer.alerts.episodes import Transition
from consumer.alerts.state import Episode
from consumer.alerts.verdicts import SEVERITIES
from consumer.windows.store import StateKey

SCHEMA_VERSION = 1
TOP_JOINTS = 3
# cue id -> language -> text (consumer/gait/cues.toml; the ids are the simulator's faults).
CueTexts = Mapping[str, Mapping[str, str]]


def alert_id(key: StateKey, episode: Episode) -> str:
    user_id, session_id = key
    return f"{user_id}:{session_id}:{episode.first_end_frame}"


def _window_id(key: StateKey, end_frame: int) -> str:
    return f"{key[0]}:{key[1]}:{end_frame}"


def _top_joints(episode: Episode) -> list[dict[str, Any]]:
    anomalous = max(1, episode.span.anomalous)
    ranked = sorted(episode.joints, key=lambda item: (-item[1], item[0]))[:TOP_JOINTS]
    return [{"joint": joint, "share": round(total / anomalous, 4)} for joint, total in ranked]


def _dominant_cue(episode: Episode, texts: CueTexts) -> dict[str, Any] | None:
    """The cue raised on most of the episode's anomalous windows (then the most severe)."""
    if not episode.cues:
        return None
    cue, windows, level = min(episode.cues, key=lambda c: (-c[1], -c[2], c[0]))
    text = texts.get(cue, {})
    return {
        "id": cue,
        "severity": SEVERITIES[min(level, len(SEVERITIES) - 1)],
        "windows": windows,
        "text": text.get("en"),
        "text_ko": text.get("ko"),
    }


def alert_message(
    key: StateKey, transition: Transition, texts: CueTexts, emitted_at_ms: int
) -> dict[str, Any]:
    episode = transition.episode
    span = episode.span
    identity = alert_id(key, episode)
    cue = _dominant_cue(episode, texts)
    return {
        "schema": SCHEMA_VERSION,
        "type": transition.kind,
        "alert_id": identity,
        "seq": transition.seq,
        "message_id": f"{identity}:{transition.seq}",
        "user_id": key[0],
        "session_id": key[1],
        "start_frame": episode.start_frame,
        "end_frame": span.last_end_frame,
        "start_ts_ms": episode.start_ts_ms,
        "end_ts_ms": span.last_end_ts_ms,
        "duration_ms": span.last_end_ts_ms - episode.start_ts_ms,
        "windows": {
            "count": span.windows,
            "anomalous": span.anomalous,
            "first": _window_id(key, episode.first_end_frame),
            "last": _window_id(key, span.last_end_frame),
        },
        "score_ratio": {
            "peak": round(span.ratio_peak, 4),
            "mean": round(span.ratio_sum / span.ratio_count, 4) if span.ratio_count else None,
        },
        "top_joints": _top_joints(episode),
        "fault": cue["id"] if cue else None,
        "cue": cue,
        "model_version": episode.model_version,
        "resolved_reason": transition.reason,
        # Wall clock when built: not part of the alert's identity (a replay differs here only).
        "emitted_at_ms": emitted_at_ms,
    }


def duration_s(transition: Transition) -> float:
    episode = transition.episode
    return max(0, episode.span.last_end_ts_ms - episode.start_ts_ms) / 1000
