"""The per-user token bucket and session cap, on an injected clock.

Bucket timeline for rate 10/s, burst 3 (one token every 0.1 s)::

    t=0.00  take take take  -> ok ok ok (bucket empty)
    t=0.00  take            -> refused, wait 0.1 s
    t=0.05  take            -> refused, wait 0.05 s
    t=0.10  take            -> ok
    t=10.0  take x3         -> ok (refilled, capped at the burst), 4th refused
"""

from __future__ import annotations

import math

import pytest

from consumer.gateway.limits import PRUNE_EVERY_S, TokenBucket, UserLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_scenario() -> None:
    bucket = TokenBucket(rate=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.1)
    assert bucket.take(0.05) == pytest.approx(0.05)
    assert bucket.take(0.10) == 0.0
    assert [bucket.take(10.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(10.0) > 0


def test_a_refused_take_takes_nothing() -> None:
    bucket = TokenBucket(rate=1, burst=5, now=0.0)
    assert bucket.take(0.0, 4) == 0.0
    assert bucket.take(0.0, 3) == pytest.approx(2.0)  # 1 left, 2 more at 1/s
    assert bucket.tokens == pytest.approx(1.0)
    assert bucket.take(2.0, 3) == 0.0


def test_more_than_the_burst_can_never_be_taken() -> None:
    bucket = TokenBucket(rate=100, burst=10, now=0.0)
    assert math.isinf(bucket.take(1e6, 11))


def test_a_clock_going_backwards_adds_no_tokens() -> None:
    bucket = TokenBucket(rate=10, burst=2, now=5.0)
    bucket.take(5.0, 2)
    assert bucket.take(4.0) > 0


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (-1, 5), (10, 0)])
def test_bucket_needs_sane_parameters(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst, 0.0)


def test_admitted_frames_never_exceed_burst_plus_rate_times_time() -> None:
    clock = Clock()
    limits = UserLimits(rate_per_s=30, burst=10, max_sessions=1, clock=clock)
    admitted = 0
    for _ in range(1000):  # a client sending at ~1000 frames/s for a second
        clock.now += 0.001
        admitted += limits.take("runner-1") == 0.0
    assert admitted <= 10 + 30 * 1.0 + 1
    assert admitted >= 30  # and it is not starved either


def test_users_have_separate_buckets() -> None:
    limits = UserLimits(rate_per_s=1, burst=2, max_sessions=1, clock=Clock())
    assert limits.take("a", 2) == 0.0
    assert limits.take("a") > 0
    assert limits.take("b", 2) == 0.0


def test_session_cap_per_user_and_release_is_idempotent() -> None:
    limits = UserLimits(rate_per_s=1, burst=1, max_sessions=2, clock=Clock())
    first, second = limits.open_session("a"), limits.open_session("a")
    assert first is not None and second is not None
    assert limits.open_session("a") is None
    assert limits.open_session("b") is not None  # other users are not affected
    limits.release(first)
    limits.release(first)  # twice: still one slot back, not two
    assert limits.sessions("a") == 1
    assert limits.open_session("a") is not None
    assert limits.open_session("a") is None


def test_idle_users_are_forgotten_busy_ones_kept() -> None:
    clock = Clock()
    limits = UserLimits(rate_per_s=10, burst=10, max_sessions=3, clock=clock)
    lease = limits.open_session("connected")
    assert lease is not None
    limits.take("visited-once")
    limits.take("drained", 10)
    assert limits.tracked_users() == 3
    clock.now += PRUNE_EVERY_S + 0.01
    limits.take("newcomer")
    # "visited-once" refilled and has no session; "connected" has a session. "drained" too
    # has refilled after 30 s at 10/s.
    assert limits.tracked_users() == 2
    assert limits.sessions("connected") == 1
