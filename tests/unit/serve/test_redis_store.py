"""What only the Redis store has: its key layout, TTL, script cache and foreign values."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from consumer.landmarks import FRAME_WIDTH
from consumer.windows.redis_store import RedisWindowStore, state_key
from consumer.windows.rules import WindowState
from consumer.windows.store import StateUpdate

pytestmark = pytest.mark.integration

KEY = ("runner-1", "s1")


def window(count: int = 3) -> WindowState:
    return WindowState(
        count, np.arange(count, dtype=np.int64), np.arange(count, dtype=np.int64) * 33,
        np.full((count, FRAME_WIDTH), 0.5, np.float32),
    )


@pytest.fixture
def store(redis_client) -> RedisWindowStore:
    return RedisWindowStore(redis_client, f"u{uuid.uuid4().hex[:8]}", idle_ttl_s=120)


def test_one_compact_value_per_runner_and_session_with_the_idle_ttl(store, redis_client):
    assert store.save([StateUpdate(KEY, 0, window(30))]) == []
    name = store.key_for(KEY)
    assert name.endswith(":w:runner-1:s1")
    assert redis_client.type(name) == b"string"
    assert len(redis_client.get(name)) < 17 * 1024
    assert 110_000 < redis_client.pttl(name) <= 120_000


def test_keys_only_from_validated_ids() -> None:
    with pytest.raises(ValueError):
        state_key("p", ("a:b", "s1"))
    with pytest.raises(ValueError):
        state_key("p", ("a", "s*"))


def test_a_flushed_script_cache_is_reloaded(store, redis_client) -> None:
    store.save([StateUpdate(KEY, 0, window())])
    redis_client.script_flush()
    assert store.save([StateUpdate(KEY, 1, window(4))]) == []
    assert store.load([KEY])[KEY].version == 2


def test_a_retried_save_does_not_conflict_with_itself(store) -> None:
    """A pipeline re-sent after a lost reply finds its own value already there."""
    update = StateUpdate(KEY, 0, window())
    assert store.save([update]) == []
    assert store.save([update]) == []
    assert store.save([StateUpdate(KEY, 0, window(5))]) == [KEY]  # a real stale writer


def test_a_foreign_value_is_treated_as_absent_and_overwritten(store, redis_client) -> None:
    redis_client.set(store.key_for(KEY), b"not ours at all")
    loaded = store.load([KEY])[KEY]
    assert loaded.window is None and loaded.corrupt
    assert store.save([StateUpdate(KEY, loaded.version, window())]) == []
    assert store.load([KEY])[KEY].window is not None
