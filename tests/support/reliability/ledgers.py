"""What the topics hold, folded as it is read: frames per runner, window copies, event copies.

Ledgers keep only what an audit needs (frame numbers and timestamps per (user, session); one
copy and a count per window id and per event id), so a five-minute soak is audited without
holding its frames in memory.

* ``FrameLedger``: decodes every message of the frames topic with the contract's rules (not the
  consumer's batch decoder) and keeps the valid frames' numbers and timestamps in partition
  order; the windows they imply come from the window rules applied from scratch.
* ``ScoreLedger`` / ``EventLedger``: the score records / anomaly events by id; a second copy of
  an id must be the same window (the same frames and timestamps, model and verdict; the score
  equal up to float noise, since the model may batch a replayed window with other windows).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from consumer.frames import FrameLimits, InvalidFrame, decode_frame
from consumer.landmarks import FRAME_WIDTH
from consumer.windows.rules import WindowConfig, apply_frames

StateKey = tuple[str, str]
SCORE_REL_TOLERANCE = 1e-4
# A score's relative noise of 1e-4 moves a z-score by ~1e-4 / std (std >= 0.05).
PERSONAL_Z_TOL = 0.01
SHARE_ABS_TOLERANCE = 2e-3  # shares are rounded to 4 decimals before float noise


class FrameLedger:
    """Valid frames of the frames topic per (user, session), in partition order."""

    def __init__(self, config: WindowConfig, limits: FrameLimits) -> None:
        self._config = config
        self._limits = limits
        self._row = np.empty(FRAME_WIDTH, dtype=np.float32)
        self._frames: dict[StateKey, list[int]] = {}
        self._ts: dict[StateKey, list[int]] = {}
        self.records = 0
        self.invalid = 0
        self.ends: dict[int, int] = {}  # partition -> next offset after the last record read

    def add(self, records: Iterable[Any]) -> None:
        for record in records:
            self.records += 1
            self.ends[record.partition] = max(self.ends.get(record.partition, 0),
                                              record.offset + 1)
            # The consumer judged a frame's time against its clock when it read the frame;
            # the broker's timestamp of the record is that moment give or take the lag.
            try:
                meta = decode_frame(record.value, record.key, self._row, record.timestamp,
                                    self._limits)
            except InvalidFrame:
                self.invalid += 1
                continue
            key = (meta.user_id, meta.session_id)
            self._frames.setdefault(key, []).append(meta.frame)
            self._ts.setdefault(key, []).append(meta.ts_ms)

    @property
    def valid(self) -> int:
        return self.records - self.invalid

    @property
    def config(self) -> WindowConfig:
        return self._config

    def runners(self) -> list[StateKey]:
        return list(self._frames)

    def sequence(self, key: StateKey) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(self._frames[key], dtype=np.int64),
                np.asarray(self._ts[key], dtype=np.int64))

    def windows_of(self, key: StateKey, start: int = 0, stop: int | None = None) -> set[str]:
        """Window ids the rules yield from this key's frames[start:stop], from an empty state."""
        frames, ts = self.sequence(key)
        frames, ts = frames[start:stop], ts[start:stop]
        if not len(frames):
            return set()
        # Only the ids are needed: which frames complete a window does not depend on values.
        values = np.zeros((len(frames), FRAME_WIDTH), dtype=np.float32)
        applied = apply_frames(None, frames, ts, values, self._config)
        user, session = key
        return {f"{user}:{session}:{int(end)}" for end in applied.window_frames[:, -1]}

    def expected(self) -> set[str]:
        ids: set[str] = set()
        for key in self._frames:
            ids |= self.windows_of(key)
        return ids


def _same_score(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=SCORE_REL_TOLERANCE, abs_tol=1e-12)


@dataclass
class ScoreLedger:
    """Score records by window id: copies, and the first copy's content."""

    copies: Counter[str] = field(default_factory=Counter)
    first: dict[str, dict[str, Any]] = field(default_factory=dict)
    first_scored_at_ms: dict[str, int] = field(default_factory=dict)
    different_copies: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    anomalous: set[str] = field(default_factory=set)

    # Everything but the time the copy was made must be the same window's.
    _VOLATILE = frozenset(("scored_at_ms", "score"))

    def add(self, records: Iterable[Any]) -> None:
        for record in records:
            value = orjson.loads(record.value)
            window_id = value["window_id"]
            self.copies[window_id] += 1
            at = int(value["scored_at_ms"])
            if window_id not in self.first:
                self.first[window_id] = _slim(value)
                self.first_scored_at_ms[window_id] = at
                if value["anomaly"]:
                    self.anomalous.add(window_id)
                continue
            self.first_scored_at_ms[window_id] = min(self.first_scored_at_ms[window_id], at)
            first = self.first[window_id]
            slim = _slim(value)
            if not (_same_fields(first, slim, self._VOLATILE)
                    and _same_score(first["score"], slim["score"])):
                self.different_copies.append((first, slim))

    @property
    def ids(self) -> set[str]:
        return set(self.copies)

    @property
    def duplicated(self) -> int:
        """Copies beyond the first, over all ids."""
        return sum(self.copies.values()) - len(self.copies)

    def ids_of(self, key: StateKey) -> set[str]:
        prefix = f"{key[0]}:{key[1]}:"
        return {i for i in self.copies if i.startswith(prefix)}


def _slim(score: dict[str, Any]) -> dict[str, Any]:
    """The fields that identify a scored window (gait extras are not kept)."""
    keep = ("window_id", "user_id", "session_id", "window_start_frame", "window_end_frame",
            "window_start_ts_ms", "window_end_ts_ms", "score", "threshold", "model_version",
            "anomaly", "valid", "invalid_reason", "scored_at_ms")
    return {k: score.get(k) for k in keep}


def _same_fields(a: dict[str, Any], b: dict[str, Any], volatile: frozenset[str]) -> bool:
    return set(a) == set(b) and all(a[k] == b[k] for k in a if k not in volatile)


@dataclass
class EventLedger:
    """Anomaly events by event id: copies, and whether every copy is the same event."""

    copies: Counter[str] = field(default_factory=Counter)
    first: dict[str, dict[str, Any]] = field(default_factory=dict)
    different_copies: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    # personal_z is derived from the score (consumer/lifecycle/personal.py), so it carries
    # the score's float noise on a replay: compared with a tolerance below, like the score.
    _VOLATILE = frozenset(("emitted_at_ms", "score", "top_joints", "personal_z"))

    def add(self, records: Iterable[Any]) -> None:
        for record in records:
            event = orjson.loads(record.value)
            event_id = event["event_id"]
            self.copies[event_id] += 1
            if event_id not in self.first:
                self.first[event_id] = event
            elif not same_event(self.first[event_id], event):
                self.different_copies.append((self.first[event_id], event))

    @property
    def ids(self) -> set[str]:
        return set(self.copies)

    @property
    def duplicated(self) -> int:
        return sum(self.copies.values()) - len(self.copies)


def same_event(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same event but for its emission time and float noise in the model's numbers."""
    if not _same_fields(a, b, EventLedger._VOLATILE) or not _same_score(a["score"], b["score"]):
        return False
    z_a, z_b = a.get("personal_z"), b.get("personal_z")
    if (z_a is None) != (z_b is None) or (z_a is not None and abs(z_a - z_b) > PERSONAL_Z_TOL):
        return False
    joints_a, joints_b = a["top_joints"], b["top_joints"]
    return [j["joint"] for j in joints_a] == [j["joint"] for j in joints_b] and all(
        abs(x["share"] - y["share"]) <= SHARE_ABS_TOLERANCE
        for x, y in zip(joints_a, joints_b, strict=True)
    )
