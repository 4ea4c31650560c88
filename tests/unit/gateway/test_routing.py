"""Fan-out routing and the per-socket outbox: a user hears only their own events."""

from __future__ import annotations

import asyncio

import orjson

from consumer.gateway.fanout import Subscribers, route
from consumer.gateway.outbox import Outbox


def event_value(user: str, n: int = 1) -> bytes:
    return orjson.dumps({"user_id": user, "event_id": f"{user}:s:{n}", "score": 0.5})


def messages(box: Outbox) -> list[dict]:
    return [orjson.loads(m) for m in box.take()]


def test_events_reach_only_the_sessions_of_the_keyed_user() -> None:
    subscribers = Subscribers()
    alice_phone, alice_watch, bob = Outbox(10), Outbox(10), Outbox(10)
    subscribers.add("alice", alice_phone, ["anomaly", "alert"])
    subscribers.add("alice", alice_watch, ["alert"])
    subscribers.add("bob", bob, ["anomaly", "alert"])

    routed = route("anomaly", b"alice", event_value("alice"))
    assert routed is not None
    kind, user, payload = routed
    assert subscribers.deliver(user, kind, payload) == (1, 0)  # the watch wants alerts only
    assert [m["event"]["user_id"] for m in messages(alice_phone)] == ["alice"]
    assert messages(alice_watch) == [] and messages(bob) == []

    assert subscribers.deliver("alice", "alert", {"user_id": "alice"}) == (2, 0)
    assert messages(bob) == []
    assert subscribers.deliver("carol", "anomaly", {"user_id": "carol"}) == (0, 0)


def test_removed_sessions_get_nothing_and_empty_users_are_forgotten() -> None:
    subscribers = Subscribers()
    box = Outbox(10)
    subscribers.add("alice", box, ["anomaly"])
    subscribers.remove("alice", box)
    subscribers.remove("alice", box)  # twice is harmless
    assert subscribers.deliver("alice", "anomaly", {"user_id": "alice"}) == (0, 0)
    assert subscribers.users() == 0


def test_records_that_cannot_be_attributed_are_not_routed() -> None:
    assert route("anomaly", None, event_value("alice")) is None
    assert route("anomaly", b"", event_value("alice")) is None
    assert route("anomaly", b"alice", None) is None
    assert route("anomaly", b"alice", b"not json") is None
    assert route("anomaly", b"alice", b"[1]") is None
    assert route("anomaly", b"\xff", event_value("alice")) is None
    # A record keyed by one user but naming another goes to nobody.
    assert route("anomaly", b"alice", event_value("bob")) is None
    kind, user, payload = route("alert", b"bob", event_value("bob")) or ("", "", {})
    assert (kind, user, payload["event_id"]) == ("alert", "bob", "bob:s:1")


def test_outbox_coalesces_acks_refusals_and_rejections() -> None:
    box = Outbox(10)
    for frame in (1, 2, 3):
        box.ack(frame)
    box.refuse(4, "rate_limited", 100)
    box.refuse(5, "rate_limited", 250)
    box.refuse(None, "buffer_full", 1000)
    box.reject(6, "out_of_range", "landmark 0 value 0 = 9 is outside its range")
    assert box.backlog == 7
    got = messages(box)
    assert got[0] == {"type": "ack", "frames": [1, 2, 3]}
    assert got[1]["type"] == "rejected" and got[1]["frames"][0]["frame"] == 6
    slow = {m["reason"]: m for m in got if m["type"] == "slow_down"}
    assert slow["rate_limited"] == {"type": "slow_down", "reason": "rate_limited",
                                    "retry_after_ms": 250, "refused": [4, 5]}
    assert slow["buffer_full"]["refused"] == [None]
    assert box.backlog == 0 and box.take() == []


def test_outbox_drops_the_oldest_events_beyond_its_cap() -> None:
    box = Outbox(max_events=2)
    assert box.event(b'{"n":1}') and box.event(b'{"n":2}')
    assert not box.event(b'{"n":3}')
    assert [m["n"] for m in messages(box)] == [2, 3]
    assert box.events_dropped == 1


def test_outbox_close_keeps_the_first_reason_and_wakes_the_writer() -> None:
    async def scenario() -> tuple[int, str] | None:
        box = Outbox(1)
        waiter = asyncio.create_task(box.wait())
        await asyncio.sleep(0)
        box.close(4403, "first")
        box.close(4401, "second")
        await asyncio.wait_for(waiter, 1)
        return box.closing

    assert asyncio.run(scenario()) == (4403, "first")
