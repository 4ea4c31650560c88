"""Redis with a password, and with an ACL user limited to our key prefix, end to end."""

from __future__ import annotations

import pytest
import redis

from consumer.errors import ConfigError
from consumer.serve.app import ConsumerService
from consumer.stack import EmbeddedRedis, free_port
from producer_sim.publish import stream_runners

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-test-only"


@pytest.fixture
def protected_redis(tmp_path, request):
    """A redis-server of its own: ``requirepass`` or an ACL file (param)."""
    kind = request.param
    server = EmbeddedRedis(
        free_port(), tmp_path,
        password=PASSWORD if kind == "requirepass" else "",
        acl_lines=() if kind == "requirepass" else (
            "user default off",
            # Only what the consumer needs, only under its prefix.
            f"user barunrun on >{PASSWORD} resetkeys ~acl-test:* resetchannels -@all "
            # Window states (MGET, CAS script), alert-episode index (MULTI/EXEC of ZADD/HSET,
            # ZREM/HDEL, claim/release scripts, ZCARD), personal score statistics (SET).
            "+ping +mget +get +set +evalsha +script|load +client|setinfo "
            "+multi +exec +zadd +zrem +zcard +hset +hdel +hmget",
        ),
    )
    server.start()
    yield kind, server
    server.proc.stop()


@pytest.mark.parametrize("protected_redis", ["requirepass", "acl"], indirect=True)
def test_consumer_works_with_redis_credentials(
    protected_redis, settings_factory, consumers, all_windows_scored
) -> None:
    kind, server = protected_redis
    username = "" if kind == "requirepass" else "barunrun"
    settings = settings_factory(partitions=1, redis={
        "url": server.url, "username": username, "password": PASSWORD,
        "key_prefix": "acl-test",
    })
    running = consumers(settings)
    summary = stream_runners(settings, runners=2, duration_s=3, fault_rate=0.0,
                             realtime=False, seed=3, user_prefix="auth")
    all_windows_scored(settings, summary.frames_sent)
    client = redis.Redis.from_url(server.url, username=username or None, password=PASSWORD)
    try:
        for runner in summary.runners:  # the runners' window states, under the prefix
            assert client.get(f"acl-test:w:{runner.user_id}:{runner.session_id}")
    finally:
        client.close()
    assert not running.errors

    wrong = settings.with_overrides(redis={"password": "not-the-password"})
    with pytest.raises(ConfigError, match="credentials"):
        ConsumerService.build(wrong, scorer=running.service.reloader.current,
                              startup_timeout_s=5)
