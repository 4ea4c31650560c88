"""The open-episode index in Redis, so that episodes whose runner stopped sending are found
and resolved (sweep.py) without reading every window state.

* ``{prefix}:alerts:open``, a sorted set: member ``user_id:session_id`` (ids hold no ``:``),
  score = the wall-clock ms after which the episode counts as idle (refreshed by every batch
  that saves the session while its episode is open), or a sweeper's claim.
* ``{prefix}:alerts:snap``, a hash: member -> the episode section as last saved, so that an
  episode whose window state expired (every consumer down for the whole TTL) can still be
  resolved.

The index is a hint, the window state the truth: entries are added *before* the state is
saved and removed *after*, so the index holds every open episode (and at worst a few closed
ones, which a sweep removes). ``IndexingStore`` does that around a ``WindowStore``'s save.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import redis

from consumer.alerts.state import SECTION, section_is_cooling, section_is_open
from consumer.errors import RedisUnavailable
from consumer.windows.codec import CorruptState, unpack_extra
from consumer.windows.store import Loaded, StateKey, StateUpdate, WindowStore

# Claims due members atomically (two sweepers never take the same one): returns them with
# the score they were due at, and moves them to the claim's end.
CLAIM_SCRIPT = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], member) end
return due
"""
# Removes a member only if it still carries our claim: a batch that saved it meanwhile (the
# runner came back) has moved its score, and its entry must stay.
RELEASE_SCRIPT = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
"""


def member(key: StateKey) -> str:
    return f"{key[0]}:{key[1]}"


def key_of(name: str | bytes) -> StateKey:
    text = name.decode() if isinstance(name, bytes) else name
    user_id, _, session_id = text.partition(":")
    return user_id, session_id


def episode_section(extra: bytes) -> bytes:
    try:
        return unpack_extra(extra).get(SECTION, b"")
    except CorruptState:
        return b""


class OpenEpisodeIndex:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self.open_key = f"{prefix}:alerts:open"
        self.snap_key = f"{prefix}:alerts:snap"
        self._claim = client.register_script(CLAIM_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)

    def _run(self, what: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except redis.RedisError as exc:
            raise RedisUnavailable(f"redis {what} of the open-episode index failed: {exc}") from exc

    def mark_open(self, entries: Sequence[tuple[StateKey, bytes]], idle_at_ms: int) -> None:
        """Index open episodes (with their sections), idle from ``idle_at_ms`` on."""
        def call() -> None:
            pipe = self._client.pipeline(transaction=True)
            pipe.zadd(self.open_key, {member(key): idle_at_ms for key, _ in entries})
            pipe.hset(self.snap_key, mapping={member(key): section for key, section in entries})
            pipe.execute()
        self._run("update", call)

    def forget(self, keys: Sequence[StateKey]) -> None:
        names = [member(key) for key in keys]

        def call() -> None:
            pipe = self._client.pipeline(transaction=True)
            pipe.zrem(self.open_key, *names)
            pipe.hdel(self.snap_key, *names)
            pipe.execute()
        self._run("removal", call)

    def claim_due(self, now_ms: int, claim_until_ms: int, limit: int) -> list[StateKey]:
        due = self._run("claim", lambda: self._claim(
            keys=[self.open_key], args=[now_ms, claim_until_ms, limit]))
        return [key_of(name) for name in due]

    def release(self, key: StateKey, claimed_ms: int) -> bool:
        """Remove a claimed entry unless a batch re-indexed it meanwhile."""
        done = self._run("release", lambda: self._release(
            keys=[self.open_key, self.snap_key], args=[member(key), claimed_ms]))
        return bool(done)

    def snapshots(self, keys: Sequence[StateKey]) -> dict[StateKey, bytes]:
        if not keys:
            return {}
        values = self._run("read", lambda: self._client.hmget(
            self.snap_key, [member(key) for key in keys]))
        return {key: value for key, value in zip(keys, values, strict=True) if value}

    def count(self) -> int:
        return int(self._run("count", lambda: self._client.zcard(self.open_key)))


class IndexingStore:
    """A ``WindowStore`` that keeps the open-episode index in step with the saved states."""

    def __init__(
        self, inner: WindowStore, index: OpenEpisodeIndex, idle_after_ms: int,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._inner = inner
        self._index = index
        self._idle_after_ms = idle_after_ms
        self._clock_ms = clock_ms
        # Keys this process indexed as open: one whose state then lost its section altogether
        # (resolved, and the cooldown over, within one batch) is still removed. Keys indexed
        # by another process before a rebalance are left to the sweep, which removes entries
        # whose episode is closed.
        self._indexed: set[StateKey] = set()

    def load(self, keys: Sequence[StateKey]) -> dict[StateKey, Loaded]:
        return self._inner.load(keys)

    def save(self, updates: Sequence[StateUpdate]) -> list[StateKey]:
        opened: list[tuple[StateKey, bytes]] = []
        closed: list[StateKey] = []
        for update in updates:
            section = episode_section(update.extra)
            if section_is_open(section):
                opened.append((update.key, section))
            elif section_is_cooling(section) or update.key in self._indexed:
                closed.append(update.key)  # resolved lately: its entry goes
        if opened:
            self._index.mark_open(opened, self._clock_ms() + self._idle_after_ms)
            self._indexed.update(key for key, _ in opened)
        conflicts = self._inner.save(updates)
        refused = set(conflicts)
        done = [key for key in closed if key not in refused]
        if done:
            self._index.forget(done)
            self._indexed.difference_update(done)
        return conflicts

    def ping(self) -> None:
        self._inner.ping()
