"""Recency: active users and recently written states, forgotten after the horizon."""

from __future__ import annotations

from consumer.serve.recency import Recency


def test_keys_are_forgotten_after_the_horizon(kit) -> None:
    clock = kit.FakeClock()
    seen = Recency(60, clock)
    seen.touch(["a", "b"])
    clock.advance(30)
    seen.touch(["b"])
    assert seen.count() == 2
    clock.advance(31)
    assert seen.count() == 1 and not seen.seen_recently("a") and seen.seen_recently("b")
    clock.advance(30)
    assert seen.count() == 0
