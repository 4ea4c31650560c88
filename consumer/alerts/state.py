"""The episode tracker's state per (user, session), and its bytes (the ``epis`` section of
the window state's extra, saved under the window's compare-and-set).

Section layout: ``u8 format (1) | u8 flags (bit 0: an episode is open, bit 1: cooling down)
| JSON``. The flags byte lets the open-episode index (index.py) tell open from closed without
parsing the JSON. A runner with nothing to remember (no anomalous window in the last n, no
episode, no cooldown) has no section at all: normal runners cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from consumer.alerts.verdicts import WindowVerdict
from consumer.errors import DataError

SECTION = "epis"
FORMAT = 1
FLAG_OPEN = 1
FLAG_COOLING = 2


@dataclass(frozen=True, slots=True)
class Span:
    """Aggregates over a run of windows (the episode's span, or the clean tail after it)."""

    windows: int = 0
    anomalous: int = 0
    ratio_sum: float = 0.0
    ratio_count: int = 0
    ratio_peak: float = 0.0
    last_end_frame: int = 0
    last_end_ts_ms: int = 0

    def add(self, verdict: WindowVerdict) -> Span:
        ratio = verdict.ratio
        return Span(
            windows=self.windows + 1,
            anomalous=self.anomalous + int(verdict.anomalous),
            ratio_sum=self.ratio_sum + (ratio or 0.0),
            ratio_count=self.ratio_count + int(ratio is not None),
            ratio_peak=max(self.ratio_peak, ratio or 0.0),
            last_end_frame=verdict.end_frame,
            last_end_ts_ms=verdict.end_ts_ms,
        )

    def join(self, later: Span) -> Span:
        if not later.windows:
            return self
        return Span(
            self.windows + later.windows, self.anomalous + later.anomalous,
            self.ratio_sum + later.ratio_sum, self.ratio_count + later.ratio_count,
            max(self.ratio_peak, later.ratio_peak), later.last_end_frame, later.last_end_ts_ms,
        )


@dataclass(frozen=True, slots=True)
class Episode:
    """An open episode: from its first anomalous window to its last one (the span), plus the
    windows seen since the last anomalous one (the tail, which joins the span if another
    anomalous window comes before ``resolve_after_clean`` clean ones)."""

    first_end_frame: int  # the first window's end frame: the alert id's last part
    start_frame: int
    start_ts_ms: int
    span: Span
    tail: Span = Span()
    clean_run: int = 0  # clean (scored, not anomalous) windows in a row
    joints: tuple[tuple[str, float], ...] = ()  # summed shares over anomalous windows, by name
    cues: tuple[tuple[str, int, int], ...] = ()  # (id, windows raised, top severity), by id
    seq: int = 0  # messages emitted so far
    emitted_ts_ms: int = 0  # window time of the last message
    model_version: str = ""

    def with_anomaly(self, verdict: WindowVerdict) -> Episode:
        joints = dict(self.joints)
        for joint, share in verdict.top_joints:
            joints[joint] = joints.get(joint, 0.0) + share
        cues = {cue: (n, level) for cue, n, level in self.cues}
        for cue, level in verdict.cues:
            n, top = cues.get(cue, (0, 0))
            cues[cue] = (n + 1, max(top, level))
        return Episode(
            self.first_end_frame, self.start_frame, self.start_ts_ms,
            self.span.join(self.tail).add(verdict), Span(), 0,
            tuple(sorted(joints.items())),
            tuple(sorted((cue, n, level) for cue, (n, level) in cues.items())),
            self.seq, self.emitted_ts_ms, verdict.model_version or self.model_version,
        )

    def to_json(self) -> list[Any]:
        return [self.first_end_frame, self.start_frame, self.start_ts_ms, _span_json(self.span),
                _span_json(self.tail), self.clean_run, [list(j) for j in self.joints],
                [list(c) for c in self.cues], self.seq, self.emitted_ts_ms, self.model_version]

    @classmethod
    def from_json(cls, row: list[Any]) -> Episode:
        (first, start, start_ts, span, tail, clean_run, joints, cues, seq, emitted_ts,
         version) = row
        return cls(int(first), int(start), int(start_ts), Span(*span), Span(*tail),
                   int(clean_run), tuple((str(j), float(s)) for j, s in joints),
                   tuple((str(c), int(n), int(level)) for c, n, level in cues), int(seq),
                   int(emitted_ts), str(version))


@dataclass(frozen=True, slots=True)
class EpisodeState:
    """Closed: the last ``of_last`` windows from the first anomalous one (``history``). Open:
    the ``episode``. ``last_ts_ms``: the last window's end, to notice idle gaps."""

    history: tuple[WindowVerdict, ...] = ()
    episode: Episode | None = None
    cooldown_until_ts_ms: int = 0  # no episode opens before this window time
    last_ts_ms: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # fields a newer version wrote

    @property
    def empty(self) -> bool:
        return not self.history and self.episode is None and not self.cooldown_until_ts_ms


def _span_json(span: Span) -> list[Any]:
    return [span.windows, span.anomalous, span.ratio_sum, span.ratio_count, span.ratio_peak,
            span.last_end_frame, span.last_end_ts_ms]


def encode_state(state: EpisodeState) -> bytes:
    """The section bytes; empty for a state with nothing to remember."""
    if state.empty:
        return b""
    flags = (FLAG_OPEN if state.episode else 0) | (
        FLAG_COOLING if state.cooldown_until_ts_ms else 0)
    body = {
        **state.extra,
        "h": [v.to_json() for v in state.history],
        "e": state.episode.to_json() if state.episode else None,
        "c": state.cooldown_until_ts_ms,
        "t": state.last_ts_ms,
    }
    return bytes((FORMAT, flags)) + orjson.dumps(body)


def decode_state(section: bytes) -> EpisodeState:
    """The state in section bytes (empty bytes: the empty state); DataError when malformed."""
    if not section:
        return EpisodeState()
    if len(section) < 2 or section[0] != FORMAT:
        raise DataError("not an episode state of a known format")
    try:
        body = orjson.loads(section[2:])
        known = {k: body.pop(k) for k in ("h", "e", "c", "t")}
        return EpisodeState(
            history=tuple(WindowVerdict.from_json(v) for v in known["h"]),
            episode=Episode.from_json(known["e"]) if known["e"] else None,
            cooldown_until_ts_ms=int(known["c"]),
            last_ts_ms=int(known["t"]),
            extra=body,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"episode state unreadable: {exc}") from exc


def section_is_open(section: bytes) -> bool:
    return len(section) >= 2 and bool(section[1] & FLAG_OPEN)


def section_is_cooling(section: bytes) -> bool:
    return len(section) >= 2 and bool(section[1] & FLAG_COOLING)
