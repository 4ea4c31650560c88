"""The per-runner rolling state: pure updates, bytes round trip, pooled cadence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from consumer.errors import DataError
from consumer.gait import decode, encode, update
from consumer.gait.rolling import HORIZON_FRAMES, RollingGait, fold_windows
from consumer.gait.state_codec import MAGIC


def _steps_stream(cadence_spm: float, frames: int, jitter: float = 0.2, seed: int = 0):
    """Windows (start, end, step times seen) of a runner stepping at ``cadence_spm``."""
    rng = np.random.default_rng(seed)
    period = 60 * 30 / cadence_spm
    steps = np.arange(3.0, frames, period)
    for start in range(0, frames - 29, 10):
        end = start + 29
        inside = steps[(steps >= start + 4) & (steps <= end - 4)]
        yield start, end, inside + rng.normal(0, jitter, len(inside)), period


def test_cadence_from_pooled_steps_is_precise() -> None:
    state = None
    for start, end, seen, period in _steps_stream(172.0, 300):
        state = update(state, seen, start, end, period + 0.8)  # windows' own period is off
    assert abs(state.cadence_spm() - 172.0) < 1.0
    assert state.step_time_asymmetry() < 0.03


def test_a_step_seen_once_is_dropped_and_a_missed_one_still_counts() -> None:
    state = None
    for start, end, steps, period in _steps_stream(170.0, 240, jitter=0.0):
        seen = steps
        if start == 100:
            seen = np.append(seen, start + 15.3)  # a glitch in one window only
        if start in (120, 130, 140):
            seen = seen[np.abs(seen - 140.0) > 6]  # a step nobody saw
        state = update(state, seen, start, end, period)
    assert abs(state.cadence_spm() - 170.0) < 1.0


def test_update_is_pure_and_the_horizon_bounds_the_state() -> None:
    first = update(None, np.array([10.0, 20.5]), 0, 29, 10.5)
    snapshot = encode(first)
    update(first, np.array([20.6, 31.0]), 10, 39, 10.5)
    assert encode(first) == snapshot
    state = first
    for start, end, seen, period in _steps_stream(180.0, 3000):
        state = update(state, seen, start, end, period)
    assert min(state.step_times) >= state.last_end - HORIZON_FRAMES
    assert len(encode(state)) < 1000


def test_state_round_trips_through_bytes(normal_runs) -> None:
    ws = normal_runs["side"][0]
    state = fold_windows(ws.metrics, ws.frames)[-1]
    data = encode(state)
    again = decode(data)
    assert encode(again) == data
    assert again.cadence_spm() == pytest.approx(state.cadence_spm())
    assert again.summary().keys() == state.summary().keys()
    assert encode(decode(encode(RollingGait()))) == encode(RollingGait())


@pytest.mark.parametrize("data", [b"", b"nope", MAGIC + b"\x00" * 10])
def test_garbage_is_not_a_state(data: bytes) -> None:
    with pytest.raises(DataError):
        decode(data)


def test_cadence_drop_against_the_runner_usual_cadence() -> None:
    state = None
    for start, end, seen, period in _steps_stream(175.0, 600):
        state = update(state, seen, start, end, period)
    assert math.isfinite(state.cadence_drop()) and abs(state.cadence_drop()) < 0.02
    slow_period = 60 * 30 / 150.0
    steps = np.arange(state.last_end + 1, state.last_end + 400, slow_period)
    for start in range(int(state.last_end) + 1, int(state.last_end) + 370, 10):
        seen = steps[(steps >= start + 4) & (steps <= start + 25)]
        state = update(state, seen, start, start + 29, slow_period)
    assert state.cadence_spm() == pytest.approx(150.0, abs=1.5)
    assert state.cadence_drop() > 0.1  # the usual cadence did not follow the drop


def _levels(values: list[float], views: list[int] | None = None, state=None, first: int = 0):
    """States after windows 10 frames apart, from frame ``first``, whose foot strike reads
    ``values``."""
    states = []
    for k, value in enumerate(values):
        start = first + 10 * k
        view = 0 if views is None else views[k]
        state = update(state, np.array([]), start, start + 29, view=view,
                       values={"foot_strike_deg": value})
        states.append(state)
    return states


def test_a_rise_against_the_runner_usual_level_is_reported_and_never_learned() -> None:
    rng = np.random.default_rng(3)
    usual = list(2.0 + rng.normal(0, 1.0, 15))  # 5 s of the runner's own landing
    heel = list(12.0 + rng.normal(0, 1.0, 60))  # then 20 s of heel striking
    states = _levels(usual + heel)
    assert math.isnan(states[5].changes()["foot_strike_change_deg"])  # still learning
    settled = states[14].changes()["foot_strike_change_deg"]
    assert abs(settled) < 1.5
    after = [s.changes()["foot_strike_change_deg"] for s in states[30:]]
    assert min(after) > 8.0  # 20 s on, the rise is still a rise
    assert states[-1].summary()["foot_strike_change_deg"] == after[-1]
    # A drift within the hold is followed: the usual level is not frozen for good.
    drift = _levels(usual + list(np.linspace(2.0, 4.0, 90)) + [4.0] * 90)
    assert abs(drift[-1].changes()["foot_strike_change_deg"]) < 0.5


def test_a_first_odd_reading_does_not_stick() -> None:
    states = _levels([-20.0] + [2.0] * 30)
    assert abs(states[-1].changes()["foot_strike_change_deg"]) < 0.5


def test_usual_levels_belong_to_their_view() -> None:
    values = [2.0] * 15 + [12.0] * 20
    brief = [0] * 20 + [2] * 3 + [0] * 12  # the view misread as oblique for 3 windows
    states = _levels(values, brief)
    assert math.isnan(states[21].changes()["foot_strike_change_deg"])  # not read in it
    assert states[-1].changes()["foot_strike_change_deg"] > 8.0  # kept through it
    moved = [0] * 15 + [2] * 20  # the camera moved for good: learned afresh there
    states = _levels([2.0] * 15 + [7.0] * 20, moved)
    assert states[-1].usual_view == 2
    assert abs(states[-1].changes()["foot_strike_change_deg"]) < 0.5


def test_a_state_written_before_the_usual_levels_still_reads() -> None:
    state = _levels([2.0] * 12)[-1]
    again = decode(encode(state))
    assert encode(again) == encode(state)
    assert again.usual_view == state.usual_view == 0
    assert again.changes() == pytest.approx(state.changes(), nan_ok=True)
    # BRG4 was the same bytes up to the usual levels, which it did not have.
    usual_section = 5 + sum(18 + 4 * len(u.warmup) for u in state.usual)
    old = b"BRG4" + encode(state)[4:-usual_section]
    before = decode(old)
    np.testing.assert_array_equal(before.smoothed, state.smoothed)
    assert before.usual == ()
    assert math.isnan(before.changes()["foot_strike_change_deg"])
    assert update(before, np.array([]), 120, 149, view=0,
                  values={"foot_strike_deg": 2.0}).usual_view == 0


def test_a_usual_level_warming_up_round_trips() -> None:
    state = _levels([2.0, 30.0, 2.5])[-1]  # a glitch in the first second
    again = decode(encode(state))
    assert again.usual[2].warmup == pytest.approx((2.0, 30.0, 2.5))
    assert encode(again) == encode(state)
    later = _levels([2.0] * 10, state=again, first=30)[-1]
    assert later.usual[2].ready and later.usual[2].warmup == ()
    assert later.usual[2].level == pytest.approx(2.0)  # the median: the glitch is not in it


def test_a_level_the_runner_never_ran_at_is_learned_again() -> None:
    # The first 2 s read low (a tracker settling), then the runner's steady level: most of
    # the warm-up is low, and the runner is never seen there once the level is ready.
    states = _levels([-4.0] * 6 + [6.0] * 44)
    ready = next(i for i, s in enumerate(states) if s.usual[2].ready)
    assert states[ready].usual[2].level == pytest.approx(-4.0)
    changes = [s.changes()["foot_strike_change_deg"] for s in states[ready:]]
    assert all(math.isnan(c) for c in changes[:9])  # never trusted: no change reported
    assert states[-1].usual[2].trusted
    assert states[-1].usual[2].level == pytest.approx(6.0)
    assert abs(changes[-1]) < 0.5
