"""The batch processor's alert hook: one (user, session)'s completed windows of a batch ->
its new episode section, the alert messages to publish, and the transitions (for metrics).

Called by ``consumer.serve.processor.BatchProcessor`` after scoring, once per session that
completed windows, with the section it loaded; the new section is saved with the window
state (same compare-and-set), after the messages were published and flushed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from consumer.alerts.config import EpisodeConfig
from consumer.alerts.episodes import Transition, advance
from consumer.alerts.messages import CueTexts, alert_message
from consumer.alerts.state import EpisodeState, decode_state, encode_state
from consumer.alerts.verdicts import verdict_of
from consumer.errors import DataError
from consumer.serve.events import ScoredWindow, to_json
from consumer.windows.store import StateKey

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertStep:
    section: bytes
    messages: list[bytes] = field(default_factory=list)  # JSON values, in order
    transitions: list[Transition] = field(default_factory=list)


def load_episode_state(key: StateKey, section: bytes) -> EpisodeState:
    """The stored state; an unreadable one starts afresh (logged), like a corrupt window."""
    try:
        return decode_state(section)
    except DataError as exc:
        log.warning("episode state unreadable, starting afresh key=%s:%s error=%s",
                    key[0], key[1], exc)
        return EpisodeState()


class AlertStage:
    def __init__(self, config: EpisodeConfig, topic: str, cue_texts: CueTexts) -> None:
        self.config = config
        self.topic = topic
        self._texts = cue_texts

    def advance(
        self, key: StateKey, section: bytes, windows: Sequence[ScoredWindow], now_ms: int
    ) -> AlertStep:
        state = load_episode_state(key, section)
        state, transitions = advance(state, (verdict_of(w) for w in windows), self.config)
        messages = [to_json(alert_message(key, t, self._texts, now_ms)) for t in transitions]
        return AlertStep(encode_state(state), messages, transitions)
