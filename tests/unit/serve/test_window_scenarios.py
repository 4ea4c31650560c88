"""Window rules as scenarios, through the batch processor, against both window stores.

Each scenario is a list of poll batches for one runner. A token is ``[session/]frame[@+ms]``:
frame number, optional session (default s1) and extra milliseconds added to the frame's
timestamp (frames are 33 ms apart otherwise). The expected windows are ``start-end`` frame
numbers, per batch. Config unless said otherwise: size 4, hop 2, max_gap_frames 2,
max_gap_ms 500.
"""

from __future__ import annotations

import time

import pytest

from consumer.serve.batch import decode_batch
from consumer.serve.processor import BatchProcessor, BatchResult, OutputTopics
from consumer.serve.recency import Recency
from consumer.windows.rules import WindowConfig

CONFIG = WindowConfig(size=4, hop=2, max_gap_frames=2, max_gap_ms=500)
TOPICS = OutputTopics("anomalies", "dlq", "scores")
USER = "runner-1"


class Player:
    """Feeds batches of tokens through decode -> process -> save, like the loop does."""

    def __init__(self, store, kit, config: WindowConfig = CONFIG, clock=time.monotonic) -> None:
        self.store = store
        self.kit = kit
        self.records = kit.RecordFactory()
        self.scorer = kit.StepScorer(config.size)
        self.processor = BatchProcessor(
            store, config, TOPICS, Recency(60.0, clock), clock_ms=lambda: kit.NOW_MS
        )

    def batch(self, tokens: str, user: str = USER) -> BatchResult:
        recs = []
        for token in tokens.split():
            session, _, rest = token.rpartition("/")
            frame_text, _, extra = rest.partition("@+")
            frame = int(frame_text)
            ts = self.kit.BASE_TS + frame * 33 + int(extra or 0)
            recs.append(self.records.frame(user, frame, ts_ms=ts, session=session or "s1"))
        result = self.processor.process(decode_batch(recs, self.kit.NOW_MS), self.scorer)
        conflicts = self.store.save(result.updates)
        self.processor.saved(result.updates, conflicts)
        return result

    def play(self, *batches: str) -> list[list[str]]:
        return [windows_of(self.batch(tokens)) for tokens in batches]


def windows_of(result: BatchResult) -> list[str]:
    return [f"{w.start_frame}-{w.end_frame}" for w in result.windows]


def forget(store, key: tuple[str, str]) -> None:
    """Lose a stored state the way a Redis restart does."""
    if hasattr(store, "delete"):
        store.delete([key])
    else:
        store._client.delete(store.key_for(key))


SCENARIOS = {
    # frame  1 2 3 4 5 6 7 8
    # window [1 . . 4]
    #            [3 . . 6]
    #                [5 . . 8]
    "hop": (CONFIG, ["1 2 3 4 5 6 7 8"], [["1-4", "3-6", "5-8"]]),
    # frame  1 2 3 4 5 6 7 8      hop == size: tumbling
    # window [1 . . 4][5 . . 8]
    "tumbling": (
        WindowConfig(size=4, hop=4, max_gap_frames=2, max_gap_ms=500),
        ["1 2 3 4 5 6 7 8"],
        [["1-4", "5-8"]],
    ),
    # batch  |1 2 3|4 5|6|
    # window     [1 . 4]     completed in batch 2, from state + new frames
    #              [3 . 6]   completed in batch 3
    "spanning batches": (CONFIG, ["1 2 3", "4 5", "6"], [[], ["1-4"], ["3-6"]]),
    # frame  1 2 3 4 | 3 4 5 6     3 and 4 again: ignored, not re-windowed
    # window [1 . . 4]
    #                  [3 . . 6]   (its frames 3, 4 from the first batch)
    "duplicates and older": (CONFIG, ["1 2 3 4", "3 4 2 5 6"], [["1-4"], ["3-6"]]),
    # frame  1 2 3 _ _ _ 7 8 9 10    3 frames missing > max_gap_frames 2: restart at 7
    # window             [7 . . 10]
    "gap by frames": (CONFIG, ["1 2 3", "7 8 9 10"], [[], ["7-10"]]),
    # frame  1 2 3 _ 5     one frame missing <= 2: stitched
    # window [1 . . 5]
    "small gap stitched": (CONFIG, ["1 2 3 5"], [["1-5"]]),
    # frame  1 2 3 |600 ms| 4 5 6 7    more than max_gap_ms 500 between 3 and 4: restart
    # window                [4 . . 7]
    "gap by ms": (CONFIG, ["1 2 3", "4@+600 5@+600 6@+600 7@+600"], [[], ["4-7"]]),
    # frame  1 2 3 4 5 _ _ _ 9 10 11 12     restart in the middle of one batch
    # window [1 . . 4]       [9 . . . 12]   windows before the restart are still cut
    "restart mid-batch": (CONFIG, ["1 2 3 4 5 9 10 11 12"], [["1-4", "9-12"]]),
    # s1: 1 2 3 | s2: 4 5 6 7    a new session_id starts its own window
    "session change": (CONFIG, ["1 2 3", "s2/4 s2/5 s2/6 s2/7"], [[], ["4-7"]]),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(name: str, make_store, kit) -> None:
    config, batches, expected = SCENARIOS[name]
    player = Player(make_store(), kit, config)
    assert player.play(*batches) == expected


def test_duplicates_are_counted(make_store, kit) -> None:
    player = Player(make_store(), kit)
    player.batch("1 2 3 4")
    result = player.batch("3 4 2 5 6")
    assert result.ignored == {"duplicate": 3}
    assert not result.restarts


def test_gap_restarts_are_counted(make_store, kit) -> None:
    player = Player(make_store(), kit)
    result = player.batch("1 2 3 4 5 9 10 11 12 13@+900")
    assert result.restarts == {"gap": 2}


def test_sessions_keep_separate_states(make_store, kit) -> None:
    """s1: 1 2 3 | s2: 1 2 3 4 | s1: 4   -> s2 completes 1-4; s1 carries on to 1-4."""
    player = Player(make_store(), kit)
    assert player.play("1 2 3", "s2/1 s2/2 s2/3 s2/4", "4") == [[], ["1-4"], ["1-4"]]
    assert {w.session_id for w in player.batch("s2/5 s2/6").windows} == {"s2"}


def test_idle_state_expires_after_ttl(store_kind: str, make_store, kit, clock) -> None:
    """frame 1 2 3 |idle > TTL| 4 5 6 7  -> the old frames are gone: window 4-7, no 1-4.

    Expiry is not a lost state: nothing is counted as ``state_lost``.
    """
    ttl_s = 120.0 if store_kind == "memory" else 0.2
    store = make_store(ttl_s=ttl_s, clock=clock if store_kind == "memory" else None)
    # The player's own memory of writes uses the same clock and a horizon under the TTL.
    player = Player(store, kit, clock=clock)
    player.batch("1 2 3")
    if store_kind == "memory":
        clock.advance(ttl_s + 1)
    else:
        _wait_until_gone(store, (USER, "s1"))
        clock.advance(60.0)
    result = player.batch("4 5 6 7")
    assert windows_of(result) == ["4-7"]  # with the state kept: 1-4 and 3-6
    assert "state_lost" not in result.restarts


def _wait_until_gone(store, key: tuple[str, str], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while store.load([key])[key].window is not None:
        if time.monotonic() > deadline:
            pytest.fail("the state did not expire")
        time.sleep(0.05)


def test_lost_state_restarts_and_is_counted(make_store, kit) -> None:
    """frame 1 2 3 |state lost (Redis restart)| 4 5 6 7 -> window 4-7, state_lost counted."""
    store = make_store()
    player = Player(store, kit)
    player.batch("1 2 3")
    forget(store, (USER, "s1"))
    result = player.batch("4 5 6 7")
    assert windows_of(result) == ["4-7"]
    assert result.restarts == {"state_lost": 1}


def test_new_runner_is_not_a_lost_state(make_store, kit) -> None:
    result = Player(make_store(), kit).batch("1 2 3 4")
    assert windows_of(result) == ["1-4"]
    assert not result.restarts


def test_compare_and_set_refuses_a_stale_writer(make_store, kit) -> None:
    """Two consumers load the same state; the second save conflicts and writes nothing."""
    store = make_store()
    first, second = Player(store, kit), Player(store, kit)
    first.batch("1 2 3")
    key = (USER, "s1")
    loaded = store.load([key])[key]
    decoded = decode_batch([second.records.frame(USER, 4), second.records.frame(USER, 5)],
                           kit.NOW_MS)
    late = second.processor.process(decoded, second.scorer)
    first.batch("4 5 6")  # the new owner wins the race
    assert store.save(late.updates) == [key]
    assert store.load([key])[key].version == loaded.version + 1
    assert windows_of(first.batch("7 8")) == ["5-8"]  # the winner's state is intact


def test_one_load_and_one_save_per_batch_whatever_the_users(make_store, kit) -> None:
    store = make_store()
    player = Player(store, kit)
    tokens = "1 2 3 4 5"
    for user in range(3):  # warm: the Redis store loads its script on the first save
        player.batch(tokens, user=f"warm-{user}")
    before = store.round_trips
    records = [
        player.records.frame(f"runner-{u}", f) for f in range(1, 6) for u in range(50)
    ]
    result = player.processor.process(decode_batch(records, kit.NOW_MS), player.scorer)
    store.save(result.updates)
    assert len(result.updates) == 50
    assert len(result.windows) == 50
    assert store.round_trips - before == 2
    assert player.scorer.calls[-1] == 50  # every window of the batch in one model call
