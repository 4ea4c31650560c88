"""Each runner's own channel levels, so that a model can read channels relative to the runner.

Normal runners differ in exactly the levels some faults move (trunk lean, head position,
elbow angle: docs/model.md), so a fault can stay inside the population's range while it is
far outside the runner's own. A model trained with ``FeatureSpec.runner_relative`` sees each
window's channels minus the runner's usual level, and is scored also on how far the window's
level and spread (log standard deviation over the window) moved from the runner's usual ones.

Per (user, session), in time order, pure functions of the windows (the consumer keeps the
state beside the window in Redis; training, calibration and evaluation fold each recording's
windows the same way):

* the levels are the running mean of the windows' own levels and spreads over the first
  ``WARMUP_FRAMES`` frames, then a moving average (time constant ``TAU_FRAMES``) of values
  clipped to ``hold`` around the level (the per-view spread of window levels among the
  training runners), so that a fault setting in moves them little;
* a window is read against them only once they are ready (warm-up done) and in their camera
  view; before that (and in another view) the window is read against its own level, so its
  level changes are zero and only its shape is scored;
* windows of another view neither update nor read them; after ``RESTART_FRAMES`` in another
  view they start afresh there (a view misread for a moment must not wipe them);
* gait channels (``gait_channels.py``) keep a usual value the same way, and are read from
  the runner's recent average (``RECENT_FRAMES``) rather than from one window.

A fault present from the runner's first step is learned as their level: only its shape
remains visible. That is the gait cues' limit too (docs/metrics.md). The gait cues' usual
levels (``consumer.gait.rolling.UsualLevel``) follow the same pattern for a few scalar
metrics, with a median warm-up and a trust rule because they raise cues on their own; here
a level change is one scored channel among many, so a plain mean serves.
"""

from __future__ import annotations

import math
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from consumer.errors import DataError
from consumer.features.scaling import MIN_VIEW_WINDOWS, ChannelScaler, ScalingMethod

# 5 s at 30 fps: a window's gait metrics are read from two or three steps, and the mean of
# 3 s of them left levels noisy enough to cost 0.003-0.011 ROC AUC on windows after the
# warm-up (docs/model.md, "Gait channels").
WARMUP_FRAMES = 150
# After the warm-up the levels follow with this time constant (5 min): slowly enough that a
# fault setting in during a run stays visible for minutes (measured: 30 s absorbed much of
# a fault within the simulator's 20-s sessions), fast enough for a camera moved mid-run.
TAU_FRAMES = 9000.0
RESTART_FRAMES = 90.0
# Gait channels are scored on an average of the windows' values over about this many frames
# (1 s): a window reads two or three steps; a limp or a cadence shows over several.
RECENT_FRAMES = 30.0
SPREAD_HOLD = 0.4  # log units: a window's spread is clipped to x1.5 around the usual one
_SPREAD_FLOOR = 1e-3
MAGIC = b"BRL2"
SECTION = "rlvl"  # the consumer's window-state section (consumer.windows.codec.pack_extra)
_HEAD = struct.Struct("<4sHbffd")  # magic, channels, view, frames, away, last end


@dataclass(frozen=True)
class RunnerLevels:
    """One runner's usual channel levels and spreads (module docstring)."""

    level: np.ndarray  # (C,) float64; NaN before the first window
    spread: np.ndarray  # (C,) float64, log std over a window
    # (C,) float64: the last second's average of the windows' levels, which gait channels
    # are scored on (a window's gait metrics come from two or three steps: noisy). Kept for
    # every channel so that the state stays one shape; reading the joint channels' level
    # changes from it too was measured no better (false alarms rose past 5 % on seed 3).
    recent: np.ndarray
    frames: float = 0.0
    view: int = -1
    away: float = 0.0  # frames seen in another view since the last in this one
    last_end: float = math.nan

    @classmethod
    def empty(cls, channels: int) -> RunnerLevels:
        return cls(np.full(channels, np.nan), np.full(channels, np.nan),
                   np.full(channels, np.nan))

    @property
    def ready(self) -> bool:
        return self.frames >= WARMUP_FRAMES

    def follow(
        self, level: np.ndarray, spread: np.ndarray, view: int, end_frame: float,
        hold: np.ndarray, window_size: int,
    ) -> RunnerLevels:
        """The levels after one valid window: its own ``level`` and ``spread`` (C,: the
        channels, then any gait channels; NaN where not shown), camera ``view``, last frame
        number, and ``hold`` (C,) for this view."""
        advanced = float(window_size if not math.isfinite(self.last_end)
                         else min(max(end_frame - self.last_end, 0.0), window_size))
        state = replace(self, last_end=float(end_frame))
        if state.view >= 0 and view != state.view:
            away = state.away + advanced
            if away < RESTART_FRAMES:
                return replace(state, away=away)
            state = RunnerLevels.empty(len(level))
        if state.view < 0:
            return replace(state, level=level.astype(np.float64), spread=spread.astype(
                np.float64), recent=level.astype(np.float64), frames=advanced, view=view,
                away=0.0, last_end=float(end_frame))
        step = min(advanced / RECENT_FRAMES, 1.0)
        recent = np.where(np.isfinite(state.recent),
                          state.recent + step * (level - state.recent), level)
        recent = np.where(np.isfinite(level), recent, state.recent)
        # A channel the window does not show (NaN: a gait metric out of view) keeps its
        # level; one seen for the first time starts from the window's value.
        level = np.where(np.isfinite(level), level, state.level)
        current = np.where(np.isfinite(state.level), state.level, level)
        total = state.frames + advanced
        if not state.ready:  # the plain mean of the first seconds
            share = advanced / total if total > 0 else 1.0
            new_level = current + share * (level - current)
            new_spread = state.spread + share * (spread - state.spread)
        else:
            share = advanced / TAU_FRAMES
            new_level = current + share * (
                np.clip(level, current - hold, current + hold) - current)
            new_spread = state.spread + share * (
                np.clip(spread, state.spread - SPREAD_HOLD, state.spread + SPREAD_HOLD)
                - state.spread)
        return replace(state, level=new_level, spread=new_spread, recent=recent, frames=total,
                       away=0.0)

    def encode(self) -> bytes:
        head = _HEAD.pack(MAGIC, len(self.level), self.view, self.frames, self.away,
                          self.last_end)
        return head + b"".join(values.astype("<f4").tobytes()
                               for values in (self.level, self.spread, self.recent))

    @classmethod
    def decode(cls, data: bytes, channels: int) -> RunnerLevels:
        """From ``encode``'s bytes; DataError when they are not levels of ``channels``."""
        if len(data) < _HEAD.size or data[:4] != MAGIC:
            raise DataError("not runner levels")
        _, count, view, frames, away, last_end = _HEAD.unpack_from(data)
        if count != channels or len(data) != _HEAD.size + 12 * count:
            raise DataError(f"runner levels of {count} channels, the model has {channels}")
        values = np.frombuffer(data, dtype="<f4", offset=_HEAD.size).astype(np.float64)
        level, spread, recent = (values[i * count:(i + 1) * count].copy() for i in range(3))
        return cls(level, spread, recent, float(frames), int(view), float(away),
                   float(last_end))


def window_summary(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, F) level (mean over time) and spread (log std over time) of (N, T, F) features."""
    level = features.mean(axis=1, dtype=np.float64)
    spread = np.log(features.std(axis=1, dtype=np.float64) + _SPREAD_FLOOR)
    return level, spread


def fit_level_scaling(
    features: np.ndarray, gait: np.ndarray, views: np.ndarray, view_count: int,
    method: ScalingMethod,
) -> ChannelScaler:
    """How much window levels differ among the training runners, per view: the unit in which
    a runner's own levels hold still and level changes are scored. ``features`` (N, T, F) and
    ``gait`` (N, G) of valid training windows. Gait metrics are in their own units (degrees,
    leg lengths, shares), so they are not floored against the channels' spreads; a metric a
    view never shows gets a unit spread there (its change is always 0)."""
    channels = ChannelScaler.fit(features.mean(axis=1, keepdims=True), method, views, view_count)
    if gait.shape[1] == 0:
        return channels
    rows = []
    for v in range(channels.view_count):
        chosen = gait if channels.view_count == 1 else gait[views == v]
        seen = np.isfinite(chosen).sum(axis=0)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, std = np.nanmean(chosen, axis=0), np.nanstd(chosen, axis=0)
        usable = (seen >= MIN_VIEW_WINDOWS) & np.isfinite(std) & (std > 1e-6)
        rows.append((np.where(usable, mean, 0.0), np.where(usable, std, 1.0)))
    mean = np.concatenate([channels.mean, np.stack([r[0] for r in rows])], axis=1)
    std = np.concatenate([channels.std, np.stack([r[1] for r in rows])], axis=1)
    return ChannelScaler(channels.method, mean.astype(np.float32), std.astype(np.float32))


@dataclass(frozen=True)
class Runs:
    """How a batch's windows belong to runners: consecutive spans, each one runner's windows
    in time order with the levels before its first (None: a runner seen for the first time),
    and every window's last frame number."""

    spans: Sequence[tuple[RunnerLevels | None, int]]
    end_frames: np.ndarray  # (N,)

    @classmethod
    def one(cls, end_frames: np.ndarray) -> Runs:
        """One runner's windows, seen for the first time (a recording, a session)."""
        return cls(((None, len(end_frames)),), np.asarray(end_frames))

    @classmethod
    def of_files(cls, file_index: np.ndarray, end_frames: np.ndarray) -> Runs:
        """Each recording a runner seen for the first time (windows grouped by file, in time
        order, as ``consumer.training.data`` cuts them)."""
        if len(file_index) == 0:
            return cls((), np.zeros(0, dtype=np.int64))
        cuts = np.flatnonzero(np.diff(file_index)) + 1
        counts = np.diff(np.concatenate([[0], cuts, [len(file_index)]]))
        return cls(tuple((None, int(c)) for c in counts), np.asarray(end_frames))


@dataclass(frozen=True)
class RelativeInputs:
    features: np.ndarray  # (N, T, F) minus the runner's level (or the window's own)
    # (N, 2F + G): squared level change in hold units, squared spread change, and each gait
    # channel's squared change in hold units (0 where the window does not show it)
    deviations: np.ndarray
    levels: tuple[RunnerLevels, ...]  # each span's levels after its last window


def relative_inputs(
    features: np.ndarray, valid: np.ndarray, views: np.ndarray, runs: Runs | None,
    hold: np.ndarray, gait: np.ndarray | None = None,
) -> RelativeInputs:
    """The model's inputs for (N, T, F) features of windows in ``runs`` order; ``hold`` is
    (V, F + G) for the channels and the (N, G) ``gait`` values (NaN: not shown), whose levels
    the runner's levels keep after the channels'. Without ``runs`` every window is read
    against its own level."""
    n, window_size, channels = features.shape
    gait = np.zeros((n, 0)) if gait is None else gait
    own_level, own_spread = window_summary(features)
    # A gait value has no spread over its window: a constant one, never scored.
    level = np.concatenate([own_level, gait], axis=1)
    spread = np.concatenate([own_spread, np.full_like(gait, math.log(_SPREAD_FLOOR))], axis=1)
    base_level, base_spread = level.copy(), spread.copy()
    shown = level.copy()  # what each level change is read from
    finals: list[RunnerLevels] = []
    rows = np.clip(views.astype(np.intp), 0, hold.shape[0] - 1)
    if runs is not None:
        i = 0
        for before, count in runs.spans:
            state = before if before is not None else RunnerLevels.empty(level.shape[1])
            for j in range(i, i + count):
                if not valid[j]:
                    continue
                read = state.ready and views[j] == state.view
                if read:
                    base_level[j], base_spread[j] = state.level, state.spread
                state = state.follow(level[j], spread[j], int(views[j]),
                                     float(runs.end_frames[j]), hold[rows[j]], window_size)
                if read:
                    shown[j, channels:] = state.recent[channels:]
            finals.append(state)
            i += count
        if i != n:
            raise ValueError(f"runs cover {i} windows of {n}")
    relative = features - base_level[:, None, :channels].astype(np.float32)
    with np.errstate(invalid="ignore"):
        level_change = np.nan_to_num(((shown - base_level) / hold[rows]) ** 2, nan=0.0)
    deviations = np.concatenate([level_change[:, :channels],
                                 (spread[:, :channels] - base_spread[:, :channels]) ** 2,
                                 level_change[:, channels:]], axis=1)
    deviations[~valid] = 0.0
    return RelativeInputs(relative.astype(np.float32), deviations.astype(np.float32),
                          tuple(finals))
