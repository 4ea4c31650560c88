"""Window states in Redis: one binary value per (user, session), two round trips per batch.

Key: ``{prefix}:w:{user_id}:{session_id}``, built only from ids the frame decoder validated
(``ID_RE``: no ``:``, spaces or glob characters, so no key injection and no collisions).
Value: ``codec.encode_state`` (version first).

* ``load``: one ``MGET`` for every key of the batch.
* ``save``: one pipeline of ``EVALSHA`` of the compare-and-set script below, one call per
  changed key. The script writes only when the stored version prefix still equals the one we
  loaded (or the key is gone), and refreshes the idle TTL with ``PX``. If Redis lost its
  script cache (restart, ``SCRIPT FLUSH``) the calls answer NOSCRIPT: the script is loaded and
  only those calls are sent again.

Redis errors become ``RedisUnavailable`` (retriable); the serving loop backs off.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from consumer.errors import RedisUnavailable
from consumer.frames import ID_RE
from consumer.settings import RedisSettings
from consumer.windows.codec import (
    CorruptState,
    decode_state,
    encode_state,
    read_version,
    version_prefix,
)
from consumer.windows.store import Loaded, StateKey, StateUpdate

log = logging.getLogger(__name__)

# Returns 1 when written, 0 on a version conflict. A value equal to ours counts as written: a
# pipeline retried after a lost reply must not report its own first write as a conflict.
CAS_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
if cur and string.len(cur) >= 8 and string.sub(cur, 1, 8) ~= ARGV[1] then
  if cur == ARGV[2] then return 1 end
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


def state_key(prefix: str, key: StateKey) -> str:
    user_id, session_id = key
    if not (ID_RE.fullmatch(user_id) and ID_RE.fullmatch(session_id)):
        raise ValueError(f"refusing a Redis key from unvalidated ids {key!r}")
    return f"{prefix}:w:{user_id}:{session_id}"


def connect_redis(settings: RedisSettings) -> redis.Redis:
    """A client for the configured Redis; secrets from settings, never logged."""
    options: dict[str, Any] = {
        "socket_timeout": settings.socket_timeout_s,
        "socket_connect_timeout": settings.socket_timeout_s,
        # One immediate retry replaces a connection that died with a restarted server;
        # longer outages are the serving loop's backoff, which also pauses the partitions.
        "retry": Retry(NoBackoff(), 1),
        "retry_on_timeout": False,
    }
    if settings.username:
        options["username"] = settings.username
    if settings.password is not None:
        options["password"] = settings.password.get_secret_value()
    if settings.ssl_ca_certs and settings.url.startswith("rediss://"):
        options["ssl_ca_certs"] = settings.ssl_ca_certs
    return redis.Redis.from_url(settings.url, **options)


class RedisWindowStore:
    """A ``WindowStore`` on Redis (see the module docstring for the layout and round trips)."""

    def __init__(self, client: redis.Redis, prefix: str, idle_ttl_s: float) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = str(max(1, round(idle_ttl_s * 1000)))
        self._sha: str | None = None
        self.round_trips = 0

    def key_for(self, key: StateKey) -> str:
        return state_key(self._prefix, key)

    def load(self, keys: Sequence[StateKey]) -> dict[StateKey, Loaded]:
        if not keys:
            return {}
        names = [self.key_for(key) for key in keys]
        try:
            self.round_trips += 1
            values = self._client.mget(names)
        except _UNAVAILABLE as exc:
            raise RedisUnavailable(f"redis MGET failed: {exc}") from exc
        except redis.RedisError as exc:
            raise RedisUnavailable(f"redis refused MGET: {exc}") from exc
        loaded: dict[StateKey, Loaded] = {}
        for key, name, value in zip(keys, names, values, strict=True):
            if value is None:
                loaded[key] = Loaded()
                continue
            try:
                stored = decode_state(value)
            except CorruptState as exc:
                log.warning("window state unreadable, starting over key=%s error=%s", name, exc)
                loaded[key] = Loaded(version=read_version(value), corrupt=True)
                continue
            loaded[key] = Loaded(stored.version, stored.window, stored.extra)
        return loaded

    def save(self, updates: Sequence[StateUpdate]) -> list[StateKey]:
        if not updates:
            return []
        calls = [
            (
                self.key_for(u.key),
                version_prefix(u.expected_version),
                encode_state(u.new_version, u.window, u.extra),
            )
            for u in updates
        ]
        results = self._run_cas(calls)
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            log.info("redis lost the window script (restart?); loading it again")
            self._sha = None
            retried = self._run_cas([calls[i] for i in missing])
            for i, result in zip(missing, retried, strict=True):
                results[i] = result
        conflicts: list[StateKey] = []
        for update, result in zip(updates, results, strict=True):
            if isinstance(result, Exception):
                raise RedisUnavailable(f"redis window save failed: {result}") from result
            if int(result) == 0:
                conflicts.append(update.key)
        return conflicts

    def _run_cas(self, calls: Sequence[tuple[str, bytes, bytes]]) -> list[Any]:
        try:
            if self._sha is None:
                self.round_trips += 1
                self._sha = str(self._client.script_load(CAS_SCRIPT))
            pipe = self._client.pipeline(transaction=False)
            for name, expected, value in calls:
                pipe.evalsha(self._sha, 1, name, expected, value, self._ttl_ms)
            self.round_trips += 1
            return list(pipe.execute(raise_on_error=False))
        except _UNAVAILABLE as exc:
            raise RedisUnavailable(f"redis window save failed: {exc}") from exc
        except redis.RedisError as exc:
            raise RedisUnavailable(f"redis refused the window save: {exc}") from exc

    def ping(self) -> None:
        try:
            self._client.ping()
        except redis.RedisError as exc:
            raise RedisUnavailable(f"redis PING failed: {exc}") from exc

