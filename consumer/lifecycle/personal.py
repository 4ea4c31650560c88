"""Personal baselines: each runner's running score statistics give a window a personal z-score.

The global threshold says "abnormal for runners like the calibration ones"; ``personal_z``
says "unusual for this runner": (log score - the runner's EWMA mean) / EWMA std, from the
runner's windows *before* this one. It is null until the runner has ``min_windows`` scored
windows (before that a mean and spread are noise), and for windows the model could not score.

Statistics (per runner, on log scores, which are roughly normal where raw scores are skewed):
an exponentially weighted mean and variance (West's incremental form) with weight
``max(1/n, alpha)``, alpha from ``half_life_windows``: a plain running mean and variance
(Welford) for the first windows, then an EWMA that forgets. Once past ``min_windows`` each
update is clipped to mean +- 3 std, so that a burst of bad form moves the baseline slowly
(and a fault stays visible in personal_z for a while) while a lasting change is still learnt.
The std is floored at 0.05 (a 5 % score change) so that a very steady runner's z stays sane.

Where they live (Redis), and why replays give the same numbers:

* Per (user, session), section ``pers`` of the window state's extra bytes
  (consumer/windows/codec.py): saved with the window under the same compare-and-set, in the
  same round trip. A replayed batch (at-least-once) meets the stats as they were before it,
  so a replayed event carries the same ``personal_z``.
* Per user, ``{prefix}:u:{user_id}``: the latest session stats, written once per batch (one
  pipeline, after the window save) and read (one MGET per batch, only for sessions that have
  no ``pers`` section yet) to seed a new session: a runner's baseline carries over from one
  run to the next for ``user_ttl_s``. ``PersonalStore`` does both around a ``WindowStore``.
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import redis

from consumer.frames import ID_RE
from consumer.windows.codec import CorruptState, pack_extra, unpack_extra
from consumer.windows.store import Loaded, StateKey, StateUpdate, WindowStore

log = logging.getLogger(__name__)

SECTION = "pers"
FIELD = "personal_z"
_FORMAT = 1
_STATS = struct.Struct("<BIdd")  # format, n, mean, var
STD_FLOOR = 0.05
CLIP_STD = 3.0
_TINY = 1e-12


@dataclass(frozen=True)
class PersonalConfig:
    min_windows: int = 30
    half_life_windows: float = 300.0

    @property
    def alpha(self) -> float:
        return 1.0 - 0.5 ** (1.0 / self.half_life_windows)


class RunningStats:
    """One runner's EWMA mean / variance of log scores (module docstring)."""

    __slots__ = ("mean", "n", "var")

    def __init__(self, n: int = 0, mean: float = 0.0, var: float = 0.0) -> None:
        self.n, self.mean, self.var = n, mean, var

    @classmethod
    def unpack(cls, payload: bytes) -> RunningStats:
        """From a section payload; anything unreadable starts afresh (it is only a baseline)."""
        if len(payload) != _STATS.size:
            return cls()
        fmt, n, mean, var = _STATS.unpack(payload)
        if fmt != _FORMAT or not (math.isfinite(mean) and math.isfinite(var) and var >= 0):
            return cls()
        return cls(n, mean, var)

    def pack(self) -> bytes:
        return _STATS.pack(_FORMAT, min(self.n, 2**32 - 1), self.mean, self.var)

    def z(self, x: float, config: PersonalConfig) -> float | None:
        if self.n < config.min_windows:
            return None
        return (x - self.mean) / max(math.sqrt(self.var), STD_FLOOR)

    def update(self, x: float, config: PersonalConfig) -> None:
        if self.n >= config.min_windows:
            spread = CLIP_STD * max(math.sqrt(self.var), STD_FLOOR)
            x = min(max(x, self.mean - spread), self.mean + spread)
        self.n += 1
        weight = max(1.0 / self.n, config.alpha)
        diff = x - self.mean
        step = weight * diff
        self.mean += step
        self.var = (1.0 - weight) * (self.var + diff * step)

    def observe(self, score: float | None, config: PersonalConfig) -> float | None:
        """personal_z of this score against the stats so far, then learn from it."""
        if score is None or not math.isfinite(score):
            return None
        x = math.log(max(score, _TINY))
        z = self.z(x, config)
        self.update(x, config)
        return None if z is None else round(z, 3)


EMPTY = RunningStats().pack()


def user_key(prefix: str, user_id: str) -> str:
    if not ID_RE.fullmatch(user_id):
        raise ValueError(f"refusing a Redis key from an unvalidated user id {user_id!r}")
    return f"{prefix}:u:{user_id}"


def section_of(extra: bytes) -> bytes | None:
    """The ``pers`` payload of a window state's extra bytes; None when absent or unreadable."""
    try:
        return unpack_extra(extra).get(SECTION)
    except CorruptState:
        return None


class PersonalStore:
    """A ``WindowStore`` that seeds new sessions from, and keeps up to date, the per-user
    baseline key (module docstring). Its Redis calls are one MGET and one pipeline per batch
    at most; a failed seed read or write costs a cold start, never the batch."""

    def __init__(
        self, inner: WindowStore, client: redis.Redis, prefix: str, ttl_s: int
    ) -> None:
        self._inner = inner
        self._client = client
        self._prefix = prefix
        self._ttl_ms = max(1, int(ttl_s * 1000))
        self._loaded: dict[StateKey, bytes] = {}  # section per key as loaded (or seeded)
        self.round_trips = 0

    def load(self, keys: Sequence[StateKey]) -> dict[StateKey, Loaded]:
        loaded = self._inner.load(keys)
        self._loaded = {}
        missing: list[StateKey] = []
        for key in keys:
            section = section_of(loaded[key].extra)
            if section is None:
                missing.append(key)
            else:
                self._loaded[key] = section
        if missing:
            seeds = self._read_seeds(sorted({user for user, _ in missing}))
            for key in missing:
                seed = seeds.get(key[0]) or EMPTY
                state = loaded[key]
                try:
                    sections = unpack_extra(state.extra)
                except CorruptState:
                    continue  # the processor starts every stage afresh anyway
                sections[SECTION] = seed
                loaded[key] = replace(state, extra=pack_extra(sections))
                self._loaded[key] = seed
        return loaded

    def save(self, updates: Sequence[StateUpdate]) -> list[StateKey]:
        conflicts = self._inner.save(updates)
        refused = set(conflicts)
        latest: dict[str, bytes] = {}
        for update in updates:
            if update.key in refused:
                continue
            section = section_of(update.extra)
            if section and section != self._loaded.get(update.key):
                latest[update.key[0]] = section  # a user's last session in the batch wins
                self._loaded[update.key] = section
        if latest:
            self._write_seeds(latest)
        return conflicts

    def ping(self) -> None:
        self._inner.ping()

    def _read_seeds(self, users: list[str]) -> dict[str, bytes]:
        try:
            self.round_trips += 1
            values = self._client.mget([user_key(self._prefix, u) for u in users])
        except redis.RedisError as exc:
            log.warning("personal baselines not read (sessions start cold) error=%s", exc)
            return {}
        return {u: bytes(v) for u, v in zip(users, values, strict=True) if v}

    def _write_seeds(self, sections: dict[str, bytes]) -> None:
        try:
            pipe = self._client.pipeline(transaction=False)
            for user, section in sections.items():
                pipe.set(user_key(self._prefix, user), section, px=self._ttl_ms)
            self.round_trips += 1
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("personal baselines not saved users=%d error=%s", len(sections), exc)


class PersonalStage:
    """The pure part the batch processor calls: stats from a session's section, z per window."""

    def __init__(self, config: PersonalConfig) -> None:
        self.config = config

    def start(self, section: bytes | None) -> RunningStats:
        return RunningStats.unpack(section or b"")

    def observe(self, stats: RunningStats, score: float | None) -> dict[str, Any]:
        return {FIELD: stats.observe(score, self.config)}
