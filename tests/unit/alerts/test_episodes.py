"""The episode state machine as scenario tables: windows in, alert transitions out.

Config for every table: an episode opens when 3 of the last 5 windows are anomalous (the last
one among them), resolves after 3 clean windows in a row; updates at most every 1000 ms of
window time (3 windows), cooldown 2000 ms (6 windows), idle after 5000 ms.

Timeline notation (helpers.py): X anomalous, . clean, ? not scored, | a 40 s pause.
Expected: (window index where it was emitted, kind, seq, first window, last window).
"""

from __future__ import annotations

import pytest

from consumer.alerts.config import EpisodeConfig
from consumer.alerts.episodes import advance, resolve_idle
from consumer.alerts.state import EpisodeState, decode_state, encode_state

from .helpers import windows

CONFIG = EpisodeConfig(open_windows=3, of_last=5, resolve_after_clean=3,
                       update_interval_ms=1000, cooldown_ms=2000, idle_after_ms=5000)


def run(timeline: str, config: EpisodeConfig = CONFIG) -> list[tuple]:
    """Feed windows one at a time (through the stored bytes, as batches would)."""
    state, out = EpisodeState(), []
    for i, verdict in enumerate(windows(timeline)):
        state, transitions = advance(decode_state(encode_state(state)), [verdict], config)
        for t in transitions:
            first = (t.episode.first_end_frame - 29) // 10
            last = (t.episode.span.last_end_frame - 29) // 10
            out.append((i, t.kind, t.seq, first, last) + ((t.reason,) if t.reason else ()))
    return out


SCENARIOS = [
    # timeline                  expected transitions
    ("..........", []),
    ("XX...XX...", []),  # never 3 of the last 5
    ("X...X...X.", []),
    ("X.X.X", [(4, "opened", 0, 0, 4)]),  # 3 of the last 5, the first one starts it
    ("XXX...", [(2, "opened", 0, 0, 2), (5, "resolved", 1, 0, 2, "clean")]),
    # A clean window inside the episode joins it when an anomalous one follows.
    ("XXX.X...", [(2, "opened", 0, 0, 2), (7, "resolved", 1, 0, 4, "clean")]),
    ("XXX..X..X...", [(2, "opened", 0, 0, 2), (5, "update", 1, 0, 5), (8, "update", 2, 0, 8),
                      (11, "resolved", 3, 0, 8, "clean")]),
    # Updates: on anomalous windows, at most every 3 windows; none in the clean tail.
    ("XXXXXXXXXX...", [(2, "opened", 0, 0, 2), (5, "update", 1, 0, 5),
                       (8, "update", 2, 0, 8), (12, "resolved", 3, 0, 9, "clean")]),
    ("XXXX.X...", [(2, "opened", 0, 0, 2), (5, "update", 1, 0, 5),
                   (8, "resolved", 2, 0, 5, "clean")]),
    ("XXX..X...", [(2, "opened", 0, 0, 2), (5, "update", 1, 0, 5),
                   (8, "resolved", 2, 0, 5, "clean")]),
    ("XXX.X.....", [(2, "opened", 0, 0, 2), (7, "resolved", 1, 0, 4, "clean")]),
    # Windows that could not be scored are neutral: 3 scored clean windows resolve.
    ("XXX?.?.?.", [(2, "opened", 0, 0, 2), (8, "resolved", 1, 0, 2, "clean")]),
    # Cooldown: 6 windows after a resolution nothing opens; then the next anomalous window
    # with 3 of the last 5 does, starting at the first of them.
    ("XXX...XXXXXXX...", [(2, "opened", 0, 0, 2), (5, "resolved", 1, 0, 2, "clean"),
                          (11, "opened", 0, 7, 11), (15, "resolved", 1, 7, 12, "clean")]),
    # Idle: the first window after a long pause resolves the open episode (as of its last
    # window) before it counts for anything; stale anomalies do not combine with new ones.
    ("XXX|X", [(2, "opened", 0, 0, 2), (3, "resolved", 1, 0, 2, "idle")]),
    ("XX|XX", []),
    ("XXX|XXX", [(2, "opened", 0, 0, 2), (3, "resolved", 1, 0, 2, "idle"),
                 (5, "opened", 0, 3, 5)]),
]


@pytest.mark.parametrize(("timeline", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenarios(timeline: str, expected: list[tuple]) -> None:
    assert run(timeline) == expected


def test_a_batch_gives_what_windows_one_by_one_give() -> None:
    timeline = "X.XX.XXXXXX...X..XXX|XXXX....."
    state, batch = advance(EpisodeState(), windows(timeline), CONFIG)
    one_by_one = run(timeline)
    assert [(t.kind, t.seq) for t in batch] == [(kind, seq) for _, kind, seq, *_ in one_by_one]
    assert state == advance(EpisodeState(), windows(timeline), CONFIG)[0]


def test_no_cooldown_reopens_at_the_next_k_of_n() -> None:
    config = EpisodeConfig(3, 5, 3, 1000, 0, 5000)
    assert run("XXX...XXX", config) == [
        (2, "opened", 0, 0, 2), (5, "resolved", 1, 0, 2, "clean"), (8, "opened", 0, 6, 8)]


def test_k_equal_n_needs_an_unbroken_run() -> None:
    config = EpisodeConfig(4, 4, 2, 1000, 0, 5000)
    assert run("XXX.XXX.XXXX..", config) == [
        (11, "opened", 0, 8, 11), (13, "resolved", 1, 8, 11, "clean")]


def test_normal_windows_leave_no_state() -> None:
    state, _ = advance(EpisodeState(), windows("..." * 20), CONFIG)
    assert encode_state(state) == b""
    state, _ = advance(EpisodeState(), windows("X" + "." * 6), CONFIG)
    assert encode_state(state) == b""  # the lone anomaly left the last 5


def test_cooldown_is_remembered_then_forgotten() -> None:
    state, _ = advance(EpisodeState(), windows("XXX..."), CONFIG)
    assert state.episode is None and state.cooldown_until_ts_ms > 0
    state, _ = advance(state, windows("......", first_index=6), CONFIG)
    assert encode_state(state) == b""


def test_idle_resolution_by_the_sweep_matches_the_next_window_after_a_pause() -> None:
    opened, _ = advance(EpisodeState(), windows("XXXX"), CONFIG)
    swept, by_sweep = resolve_idle(opened, CONFIG)
    _, by_window = advance(opened, windows("|X", first_index=4), CONFIG)
    assert by_sweep is not None and by_window[0] == by_sweep
    assert (by_sweep.kind, by_sweep.reason, by_sweep.seq) == ("resolved", "idle", 1)
    assert swept.episode is None
    # Nothing to resolve: the sweep of a closed state emits nothing.
    assert resolve_idle(swept, CONFIG)[1] is None


def test_episode_aggregates() -> None:
    _, transitions = advance(EpisodeState(), windows("XX.X..."), CONFIG)
    resolved = transitions[-1]
    span = resolved.episode.span
    assert (span.windows, span.anomalous) == (4, 3)
    assert span.ratio_peak == 2.0 and span.ratio_sum == 2.0 * 3 + 0.5
    assert dict(resolved.episode.joints) == pytest.approx({"nose": 1.8, "left_ear": 1.2})
    assert resolved.episode.cues == (("hunched_head", 3, 1),)
