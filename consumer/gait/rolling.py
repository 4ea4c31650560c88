"""A runner's gait across windows: a small state kept per (user, session) beside the window,
and a pure update from each new window's events.

A 30-frame window holds about three steps, so its own cadence is coarse and it rarely holds
a whole stance of both feet; the state pools the last ``HORIZON_FRAMES`` frames of events:

* *steps* (pelvis low points): windows overlap (a hop of 10 frames in 30), so each step is
  seen by two or three windows. It is *confirmed* once two windows saw it, and dropped when
  windows that covered it missed it more often than they saw it (a tracker glitch seen
  once). Cadence is the confirmed steps over their time span, a missed step counted by
  rounding each gap to whole steps: about ten times more precise than one window's.
  Alternate step times give the step-time asymmetry of a limp.
* *stances* (side and oblique views): contact time and duration of each complete stance
  per foot, merged across windows; their left/right means give the stance-time asymmetry.
* the runner's usual cadence (``baseline_spm``): a slow average that stops following while
  the cadence is well below it, so a drop (fatigue, a low-cadence fault) stays visible.
* short averages (``SMOOTHING`` per window, about 1.5 s of frames) of the metrics read from
  a few events per window (contacts, mid-stances), which one window measures noisily;
  reset when the camera view changes;
* the runner's usual level of the metrics in ``USUAL`` (trunk lean, overstride, foot strike,
  pelvic drop): normal runners differ in these by as much as a fault moves them, and a
  camera set-up biases some of them by a few degrees, but a runner's own level is steady.
  The usual level is the median of the windows' own values over the first
  ``USUAL_MIN_FRAMES`` frames (a glitch in the first seconds must not set it), then a slow
  average that stops following while the short average is above it by more than the
  metric's ``hold``; a level is trusted only once the short average has been within
  ``hold`` of it, and learned again if that does not happen within ``USUAL_MIN_FRAMES``.
  The short average's rise above it is reported as ``<metric>_change``
  (``trunk_lean_change_deg``, ...): a fault that sets in during a run (fatigue) shows
  against the runner, not against everybody. The levels belong
  to one camera view (a view biases them): windows of another view neither update nor read
  them, and only when another view lasts ``USUAL_RESTART_FRAMES`` do they start afresh in it
  (a view misread for a few windows must not wipe a level that took seconds to learn);
* which cues fired or were shown on the last window (``raised``), for cues confirmed over
  two windows and held down to their release level (``stateful.py``).

``state_codec.encode``/``decode`` turn the state into bytes (250-550 bytes) for the consumer
to keep in Redis beside the window state.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import pairwise
from typing import Any

import numpy as np

from consumer.gait.body import FPS
from consumer.gait.specs import USUAL
from consumer.gait.window import WindowMetrics

HORIZON_FRAMES = 120  # 4 s of events pooled: about 11 steps, and a change shows within 2 s
MATCH_FRAMES = 2.5  # two sightings this close are one event
EDGE_FRAMES = 4  # a window finds no step this close to its ends, so it cannot miss one there
MIN_STEPS = 4  # confirmed steps before the pooled cadence is trusted
MIN_GAP_SHARE = 0.6  # steps closer than this share of the windows' step period are one
MIN_STANCES = 2  # per foot, before the stance-time asymmetry is reported
BASELINE_TAU_FRAMES = 900.0  # 30 s: the usual cadence follows slowly
BASELINE_HOLD_BELOW = 0.95  # below 95 % of the usual cadence it stops following
BASELINE_MIN_FRAMES = 90  # 3 s of cadence before the baseline is reported

# Metrics averaged across windows; their order is part of the stored format.
SMOOTHED: tuple[str, ...] = (
    "vertical_oscillation_rel", "elbow_angle_deg", "trunk_lean_deg", "head_forward_rel",
    "overstride_rel", "shank_angle_deg", "foot_strike_deg", "knee_flexion_stance_deg",
    "knee_flexion_swing_deg", "arm_swing_deg", "knee_rom_asymmetry", "knee_valgus_rel",
    "pelvic_drop_deg", "foot_lateral_rel", "wrist_lateral_rel",
)
SMOOTHING = 0.4  # weight of the newest window (windows hop a third of their length)
# Read from one instant per contact, 30 times a second: slower averages for these.
SLOW_SMOOTHING = {"foot_strike_deg": 0.2, "overstride_rel": 0.3, "shank_angle_deg": 0.3}


USUAL_TAU_FRAMES = 900.0  # 30 s: the usual level follows slowly
USUAL_MIN_FRAMES = 90  # 3 s of windows whose median is the first usual level
USUAL_RESTART_FRAMES = 90  # 3 s in another view: the camera moved, learn the levels afresh


@dataclass(frozen=True)
class UsualLevel:
    """A runner's usual level of one metric (``specs.USUAL``)."""

    level: float = math.nan
    frames: float = 0.0  # frames of running behind it
    warmup: tuple[float, ...] = ()  # the windows' own values until it is ready
    settled: bool = False  # the runner has run at it since it was ready
    unsettled_frames: float = 0.0  # frames since it was ready, while not settled

    @property
    def ready(self) -> bool:
        return self.frames >= USUAL_MIN_FRAMES

    @property
    def trusted(self) -> bool:
        """Ready, and seen as the runner's level: a change against it means something."""
        return self.ready and self.settled

    def follow(self, value: float, averaged: float, advanced: float, hold: float) -> UsualLevel:
        """The level after a window's own ``value`` and the new short average: the median of
        the first values; then an average of the windows' own values (the short average
        carries its first reading for seconds), each clipped to ``hold`` around the level so
        that a rise coming on moves it little, and none taken while the short average is
        above the level by more than ``hold``.

        A level the runner has not run at since it was ready (the short average never came
        within ``hold`` of it) is not trusted, and after ``USUAL_MIN_FRAMES`` more it is
        learned again: the first seconds of a session can read unlike the rest (a tracker
        settling, a runner finding their place on the belt), and a level held still against
        a rise must be one the runner was seen at."""
        if not math.isfinite(value):
            return self
        if not self.ready:
            warmup = (*self.warmup, value)
            frames = self.frames + advanced
            done = frames >= USUAL_MIN_FRAMES
            return UsualLevel(statistics.median(warmup), frames, () if done else warmup)
        above = averaged - self.level > hold
        if not self.settled:
            if not above:
                return replace(self, settled=True, unsettled_frames=0.0)
            waited = self.unsettled_frames + advanced
            if waited >= USUAL_MIN_FRAMES:
                return UsualLevel(value, 0.0, (value,))
            return replace(self, unsettled_frames=waited)
        if advanced <= 0 or above:
            return self
        clipped = min(max(value, self.level - hold), self.level + hold)
        share = advanced / min(self.frames + advanced, USUAL_TAU_FRAMES)
        return replace(self, level=self.level + share * (clipped - self.level),
                       frames=self.frames + advanced)


@dataclass(frozen=True)
class RollingGait:
    last_end: float = math.nan  # frame number of the last window's end
    step_times: tuple[float, ...] = ()  # ascending frame numbers
    hits: tuple[int, ...] = ()  # windows that saw each step
    misses: tuple[int, ...] = ()  # windows that covered it and did not
    stances: tuple[tuple[float, float, int], ...] = ()  # (contact time, frames, side 0/1)
    period_frames: float = math.nan  # average of the windows' own step periods (fallback)
    baseline_spm: float = math.nan
    baseline_frames: float = 0.0  # frames of cadence pooled into the baseline
    view: int = -1  # the last window's view (index into view.VIEWS), -1 before any
    smoothed: tuple[float, ...] = ()  # per SMOOTHED metric, its average (NaN: none yet)
    raised: int = 0  # bit c: cue table row c fired or was shown on the last window
    usual: tuple[UsualLevel, ...] = ()  # per USUAL metric (empty: none learned yet)
    usual_view: int = -1  # the view the usual levels belong to
    usual_away: float = 0.0  # frames since the last window of that view
    fps: float = field(default=FPS, compare=False)

    # The pooled values are a few dozen numbers per runner: plain Python is several times
    # faster than numpy at that size, and this runs once per window.
    @cached_property
    def _confirmed(self) -> tuple[float, ...]:
        pairs = [(t, h) for t, h, m in zip(self.step_times, self.hits, self.misses, strict=True)
                 if h >= 2 and h > m]
        if not math.isfinite(self.period_frames):
            return tuple(t for t, _ in pairs)
        kept: list[tuple[float, int]] = []
        for t, h in pairs:
            if kept and t - kept[-1][0] < MIN_GAP_SHARE * self.period_frames:
                if h > kept[-1][1]:
                    kept[-1] = (t, h)
                continue
            kept.append((t, h))
        return tuple(t for t, _ in kept)

    def confirmed(self) -> np.ndarray:
        """Step times seen by two windows or more, and more often seen than missed; of two
        closer than ``MIN_GAP_SHARE`` step periods (a double dip of the pelvis read as two
        steps), the better-seen one."""
        return np.asarray(self._confirmed, dtype=np.float64)

    @cached_property
    def _gaps(self) -> tuple[list[float], float]:
        gaps = [b - a for a, b in pairwise(self._confirmed)]
        return gaps, statistics.median(gaps) if gaps else math.nan

    def cadence_spm(self) -> float:
        """Steps per minute over the pooled steps; the windows' own estimate until enough
        steps are confirmed; NaN when nothing is known."""
        gaps, typical = self._gaps
        if len(gaps) + 1 >= MIN_STEPS and typical > 0:
            steps = sum(max(round(g / typical), 1) for g in gaps)
            return 60.0 * self.fps * steps / sum(gaps)
        if math.isfinite(self.period_frames) and self.period_frames > 0:
            return 60.0 * self.fps / self.period_frames
        return math.nan

    def step_time_asymmetry(self) -> float:
        """|mean of odd - even step times| / mean over the latest run of single steps."""
        gaps, typical = self._gaps
        # The latest unbroken run of single-step gaps keeps left and right alternating.
        run: list[float] = []
        for gap in reversed(gaps):
            if round(gap / typical) != 1:
                break
            run.append(gap)
        if len(run) < 4:
            return math.nan
        odd, even = run[0::2], run[1::2]
        return abs(sum(odd) / len(odd) - sum(even) / len(even)) / (sum(run) / len(run))

    def stance_time_asymmetry(self) -> float:
        """|left - right mean stance time| / their mean; NaN until both feet have enough."""
        means = []
        for side in (0, 1):
            frames = [d for _, d, s in self.stances if s == side]
            if len(frames) < MIN_STANCES:
                return math.nan
            means.append(statistics.median(frames))
        return abs(means[0] - means[1]) / ((means[0] + means[1]) / 2)

    def cadence_drop(self) -> float:
        """1 - cadence / usual cadence (> 0: slower than usual); NaN until known."""
        if self.baseline_frames < BASELINE_MIN_FRAMES or not math.isfinite(self.baseline_spm):
            return math.nan
        return 1.0 - self.cadence_spm() / self.baseline_spm

    def changes(self) -> dict[str, float]:
        """Per USUAL metric's change name, its average minus the runner's usual level (NaN
        until that level is trusted, and in windows of another view)."""
        averaged = dict(zip(SMOOTHED, self.smoothed, strict=False))
        same_view = self.view == self.usual_view
        out = {}
        for k, (name, spec) in enumerate(USUAL.items()):
            usual = self.usual[k] if same_view and k < len(self.usual) else UsualLevel()
            value = averaged.get(name, math.nan)
            out[spec.change] = value - usual.level if usual.trusted else math.nan
        return out

    def summary(self) -> dict[str, float]:
        """The pooled and averaged metrics, by metric name (NaN where not known yet)."""
        return dict(self._summary)

    @cached_property
    def _summary(self) -> dict[str, float]:
        pooled = dict(zip(SMOOTHED, self.smoothed, strict=False))
        pooled.update({
            "cadence_spm": self.cadence_spm(),
            "step_time_asymmetry": self.step_time_asymmetry(),
            "stance_time_asymmetry": self.stance_time_asymmetry(),
            "cadence_drop_rel": self.cadence_drop(),
        })
        pooled.update(self.changes())
        return pooled


def _merge_steps(
    state: RollingGait, seen: np.ndarray, window_start: float, window_end: float
) -> tuple[list[float], list[int], list[int]]:
    times, hits, misses = list(state.step_times), list(state.hits), list(state.misses)
    matched = [False] * len(times)
    for t in seen:
        near = [i for i, old in enumerate(times) if abs(old - t) <= MATCH_FRAMES]
        if near:
            i = min(near, key=lambda j: abs(times[j] - t))
            times[i] = (times[i] * hits[i] + t) / (hits[i] + 1)
            hits[i] += 1
            matched[i] = True
        else:
            times.append(float(t))
            hits.append(1)
            misses.append(0)
            matched.append(True)
    covered_from, covered_to = window_start + EDGE_FRAMES, window_end - EDGE_FRAMES
    for i, old in enumerate(times):
        if not matched[i] and covered_from <= old <= covered_to:
            misses[i] += 1
    keep = sorted(
        (i for i, old in enumerate(times)
         if old >= window_end - HORIZON_FRAMES and not (misses[i] >= 1 and hits[i] <= misses[i])),
        key=lambda i: times[i],
    )
    return [times[i] for i in keep], [hits[i] for i in keep], [misses[i] for i in keep]


def _merge_stances(
    state: RollingGait, contacts: np.ndarray, frames: np.ndarray, window_end: float
) -> tuple[tuple[float, float, int], ...]:
    stances = list(state.stances)
    for side in (0, 1):
        ok = np.isfinite(contacts[side]) & np.isfinite(frames[side])
        for t, d in zip(contacts[side][ok], frames[side][ok], strict=True):
            same = [i for i, (old, _, s) in enumerate(stances)
                    if s == side and abs(old - t) <= MATCH_FRAMES]
            if same:
                old_t, old_d, _ = stances[same[0]]
                stances[same[0]] = ((old_t + t) / 2, (old_d + d) / 2, side)
            else:
                stances.append((float(t), float(d), side))
    return tuple(sorted(s for s in stances if s[0] >= window_end - HORIZON_FRAMES))


def update(
    state: RollingGait | None,
    step_times: np.ndarray,
    window_start: float,
    window_end: float,
    step_period: float = math.nan,
    stance_contact: np.ndarray | None = None,
    stance_frames: np.ndarray | None = None,
    view: int = -1,
    values: dict[str, float] | None = None,
) -> RollingGait:
    """The state after one window: its step events (frame numbers, NaN ignored), the frame
    numbers of its first and last frame, its own step period (frames), its complete stances
    per foot ((2, K) contact times and durations, NaN ignored), its view and its metric
    values (for the SMOOTHED averages)."""
    state = RollingGait() if state is None else state
    seen = np.sort(np.asarray(step_times, dtype=np.float64))
    times, hits, misses = _merge_steps(state, seen[np.isfinite(seen)], window_start, window_end)
    stances = state.stances
    if stance_contact is not None and stance_frames is not None:
        stances = _merge_stances(state, stance_contact, stance_frames, window_end)
    period = state.period_frames
    if math.isfinite(step_period):
        period = step_period if not math.isfinite(period) else 0.8 * period + 0.2 * step_period
    advanced = window_end - state.last_end if math.isfinite(state.last_end) else 0.0
    advanced = max(advanced, 0.0)
    smoothed = _smoothed(state, view, values or {})
    new = replace(
        state, last_end=float(window_end), step_times=tuple(times), hits=tuple(hits),
        misses=tuple(misses), stances=stances, period_frames=period, view=view,
        smoothed=smoothed, **_usual(state, view, values or {}, smoothed, advanced),
    )
    return _with_baseline(new, advanced)


def _smoothed(state: RollingGait, view: int, values: dict[str, float]) -> tuple[float, ...]:
    """The SMOOTHED averages after a window: reset when the view changed, kept where the
    window had no value."""
    old = state.smoothed if state.view == view and state.smoothed else (math.nan,) * len(
        SMOOTHED)
    out = []
    for name, previous in zip(SMOOTHED, old, strict=True):
        value = values.get(name, math.nan)
        if not math.isfinite(value):
            out.append(previous)
        elif not math.isfinite(previous):
            out.append(float(value))
        else:
            share = SLOW_SMOOTHING.get(name, SMOOTHING)
            out.append(previous + share * (float(value) - previous))
    return tuple(out)


def _usual(
    state: RollingGait, view: int, values: dict[str, float], smoothed: tuple[float, ...],
    advanced: float,
) -> dict[str, Any]:
    """The usual levels after a window (``replace`` arguments): each follows the window's
    own value and the new short average (``UsualLevel.follow``); they start afresh when
    another view has lasted ``USUAL_RESTART_FRAMES``."""
    fresh = not state.usual or state.usual_view < 0
    if not fresh and view != state.usual_view:
        away = state.usual_away + advanced
        if away < USUAL_RESTART_FRAMES:
            return {"usual_away": away}
        fresh = True
    levels = (UsualLevel(),) * len(USUAL) if fresh else state.usual
    averaged = dict(zip(SMOOTHED, smoothed, strict=True))
    usual = tuple(
        level.follow(values.get(name, math.nan), averaged[name], advanced, spec.hold)
        for (name, spec), level in zip(USUAL.items(), levels, strict=True)
    )
    return {"usual": usual, "usual_view": view, "usual_away": 0.0}


def update_from_window(
    state: RollingGait | None, metrics: WindowMetrics, i: int, frames: np.ndarray
) -> RollingGait:
    """``update`` with window ``i`` of ``metrics``, whose frame numbers are ``frames``."""
    return update(state, metrics.step_times[i], float(frames[0]), float(frames[-1]),
                  float(metrics.step_period[i]), metrics.stance_contact[i],
                  metrics.stance_frames[i], int(metrics.view[i]),
                  {name: float(metrics.values[name][i]) for name in SMOOTHED})


def _with_baseline(state: RollingGait, advanced: float) -> RollingGait:
    cadence = state.cadence_spm()
    if len(state._confirmed) < MIN_STEPS or not math.isfinite(cadence) or advanced <= 0:
        return state
    baseline = state.baseline_spm
    if not math.isfinite(baseline):
        return replace(state, baseline_spm=cadence, baseline_frames=advanced)
    if cadence < BASELINE_HOLD_BELOW * baseline:
        return state
    share = min(1.0, advanced / BASELINE_TAU_FRAMES)
    return replace(state, baseline_spm=baseline + share * (cadence - baseline),
                   baseline_frames=state.baseline_frames + advanced)


def fold_windows(metrics: WindowMetrics, frames: np.ndarray) -> list[RollingGait]:
    """The state after each of a recording's windows, in order."""
    states: list[RollingGait] = []
    state: RollingGait | None = None
    for i in range(len(frames)):
        state = update_from_window(state, metrics, i, frames[i])
        states.append(state)
    return states
