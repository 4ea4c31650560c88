"""Determinism: whatever the batching, and however often a batch is replayed from the state
saved before it, the same windows give the same alert messages with the same ids."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from consumer.alerts.config import EpisodeConfig
from consumer.alerts.episodes import advance
from consumer.alerts.messages import alert_message
from consumer.alerts.state import EpisodeState, decode_state, encode_state

from .helpers import windows

CONFIG = EpisodeConfig(open_windows=3, of_last=5, resolve_after_clean=3,
                       update_interval_ms=1000, cooldown_ms=2000, idle_after_ms=5000)
KEY = ("runner-1", "s1")
TEXTS = {"hunched_head": {"en": "Head up.", "ko": "고개를 드세요."}}


def messages(timeline: str, cuts: list[int], replays: set[int]) -> list[dict]:
    """Cut the windows into batches at ``cuts``; batches in ``replays`` are processed twice
    from the same stored bytes (a crash before the save), only the second one counting."""
    all_windows = windows(timeline)
    bounds = sorted({0, len(all_windows), *(c % (len(all_windows) + 1) for c in cuts)})
    stored = b""
    out: list[dict] = []
    for n, (lo, hi) in enumerate(pairwise(bounds)):
        attempts = 2 if n in replays else 1
        for _ in range(attempts):
            state, transitions = advance(decode_state(stored), all_windows[lo:hi], CONFIG)
            emitted = [alert_message(KEY, t, TEXTS, emitted_at_ms=n) for t in transitions]
        out += emitted
        stored = encode_state(state)
    return out


def without_clock(messages: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if k != "emitted_at_ms"} for m in messages]


@settings(max_examples=200, deadline=None)
@given(
    timeline=st.text(alphabet="XX..?|", min_size=1, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=8),
    replays=st.sets(st.integers(0, 8), max_size=4),
)
def test_batching_and_replays_do_not_change_the_messages(
    timeline: str, cuts: list[int], replays: set[int]
) -> None:
    one_pass = without_clock(messages(timeline, [], set()))
    assert without_clock(messages(timeline, cuts, replays)) == one_pass
    ids = [m["message_id"] for m in one_pass]
    assert len(ids) == len(set(ids))  # a message id names one message
    for alert in {m["alert_id"] for m in one_pass}:
        kinds = [m["type"] for m in one_pass if m["alert_id"] == alert]
        assert kinds[0] == "opened" and kinds.count("opened") == 1
        assert kinds.count("resolved") <= 1 and "resolved" not in kinds[:-1]
        assert [m["seq"] for m in one_pass if m["alert_id"] == alert] == list(range(len(kinds)))


def test_the_message_fields() -> None:
    state, transitions = advance(EpisodeState(), windows("..XX.X..."), CONFIG)
    opened, resolved = (alert_message(KEY, t, TEXTS, 5) for t in transitions)
    assert opened == {
        "schema": 1, "type": "opened", "alert_id": "runner-1:s1:49", "seq": 0,
        "message_id": "runner-1:s1:49:0", "user_id": "runner-1", "session_id": "s1",
        "start_frame": 20, "end_frame": 79, "start_ts_ms": 1_795_474_459_666,
        "end_ts_ms": 1_795_474_461_633, "duration_ms": 1967,
        "windows": {"count": 4, "anomalous": 3, "first": "runner-1:s1:49",
                    "last": "runner-1:s1:79"},
        "score_ratio": {"peak": 2.0, "mean": 1.625},
        "top_joints": [{"joint": "nose", "share": 0.6}, {"joint": "left_ear", "share": 0.4}],
        "fault": "hunched_head",
        "cue": {"id": "hunched_head", "severity": "moderate", "windows": 3,
                "text": "Head up.", "text_ko": "고개를 드세요."},
        "model_version": "m1", "resolved_reason": None, "emitted_at_ms": 5,
    }
    assert resolved["type"] == "resolved" and resolved["seq"] == 1
    assert resolved["resolved_reason"] == "clean"
    assert {k: v for k, v in resolved.items() if k not in ("type", "seq", "message_id",
                                                           "resolved_reason")} == {
        k: v for k, v in opened.items() if k not in ("type", "seq", "message_id",
                                                     "resolved_reason")}
    assert state.episode is None
