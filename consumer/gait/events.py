"""Gait events in each window: steps (for cadence) and each foot's contact and toe-off.

*Steps.* The pelvis is lowest once per step, near mid-stance, in every view (two bounces per
stride, running-form.md); its image y peaks there. Step events are those peaks.

*Contacts and toe-offs* (side and oblique views): on a treadmill the heel is furthest ahead
of the pelvis around initial contact and the toe furthest behind it around toe-off (Zeni,
Richards & Higginson 2008, Gait & Posture 27:710-714); those peaks find each event, and the
instant is then timed where the foot stops coming down (``landing``) or starts going up
(``lift_off``). Seen from the front that motion is in depth, so frontal metrics use
mid-stance instead: the step events, with the stance foot being the lower one in the picture.

Events are found with vectorised peak picking: a frame is a peak when it is the largest
within +-``half_width`` frames and stands out from the lowest of them by a share of the
window's range; its time is refined between frames by a parabola through its neighbours.
Peaks within a few frames of a window's ends are not taken (the true peak may lie outside);
with windows hopping by a third of their length each event is inside two or three windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from consumer.gait.pose import Pose

# Step periods searched, in frames: 112-257 steps/min at 30 fps; a stride (two steps) is
# longer than the longest lag for any cadence under 225 steps/min, so it is never taken.
MIN_STEP_LAG, MAX_STEP_LAG = 7, 16
DEFAULT_STEP_PERIOD = 10.5  # 170 steps/min, used when a window shows no clear period
STEP_WIDTH_SHARE = 0.4  # a step's peak is the largest within +-0.4 step periods
STRIDE_HALF_WIDTH = 6  # a foot's contacts are a stride (>= 17 frames) apart
MIN_RISE = 0.3  # share of the window's 5-95 % range a peak must stand out by
LANDING_FRAMES = 6  # a landing is looked for up to 0.2 s after the foot's furthest reach
KINK_GRID = np.arange(0.5, LANDING_FRAMES - 0.99, 0.1)  # candidate landings after a reach
KINK_GRID.flags.writeable = False
# A kink, blurred by the low-pass filter, is found this long after the foot's first touch on
# average (tuned on simulated runners of the tuning seeds, docs/metrics.md).
LANDING_LAG_FRAMES = 0.5
FOOT_POINTS = (27, 29, 31)  # ankle, heel, toe of the left foot; +1 for the right


@dataclass(frozen=True)
class Peaks:
    mask: np.ndarray  # (N, T) bool, a peak on this frame
    time: np.ndarray  # (N, T) the peak's time (frame number, refined) where mask, else NaN


def _windowed(values: np.ndarray, half: int, fill: float) -> np.ndarray:
    padded = np.pad(values, ((0, 0), (half, half)), constant_values=fill)
    return sliding_window_view(padded, 2 * half + 1, axis=1)


def find_peaks(signal: np.ndarray, times: np.ndarray, half_width: int | np.ndarray) -> Peaks:
    """Peaks of (N, T) ``signal`` as described in the module docstring; ``half_width`` is
    one number or one per window."""
    widths = np.broadcast_to(np.asarray(half_width, dtype=np.int64), signal.shape[:1])
    largest = int(widths.max())
    offsets = np.abs(np.arange(-largest, largest + 1))
    outside = offsets[None, None, :] > widths[:, None, None]
    highest = np.where(outside, -np.inf, _windowed(signal, largest, -np.inf)).max(axis=-1)
    lowest = np.where(outside, np.inf, _windowed(signal, largest, np.inf)).min(axis=-1)
    spread = np.percentile(signal, 95, axis=1) - np.percentile(signal, 5, axis=1)
    mask = (signal >= highest) & (signal - lowest >= MIN_RISE * spread[:, None])
    # Near the window's ends the neighbourhood is cut short: keep a peak only when most of
    # it is inside (the window before or after sees the event whole).
    margin = np.maximum(widths - 1, 1)[:, None]
    index = np.arange(signal.shape[1])[None, :]
    mask &= (index >= margin) & (index <= signal.shape[1] - 1 - margin)
    prev = np.roll(signal, 1, axis=1)
    nxt = np.roll(signal, -1, axis=1)
    curvature = prev - 2 * signal + nxt
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curvature < 0, 0.5 * (prev - nxt) / curvature, 0.0)
    shift = np.clip(np.nan_to_num(shift), -0.5, 0.5)
    # Frame numbers may skip (stitched gaps): interpolate the time between neighbours.
    after = np.roll(times, -1, axis=1) - times
    step = np.where(shift >= 0, after, times - np.roll(times, 1, axis=1))
    time = np.where(mask, times + shift * step, np.nan)
    return Peaks(mask=mask, time=time)


def step_period(signal: np.ndarray) -> np.ndarray:
    """(N,) the step period in frames from the autocorrelation of (N, T) ``signal`` (NaN when
    no lag correlates clearly: standing, tracking lost)."""
    centred = signal - signal.mean(axis=1, keepdims=True)
    lags = np.arange(MIN_STEP_LAG - 1, MAX_STEP_LAG + 2)
    corr = np.empty((signal.shape[0], len(lags)))
    for j, lag in enumerate(lags):
        a, b = centred[:, :-lag], centred[:, lag:]
        denom = np.sqrt(np.sum(a * a, axis=1) * np.sum(b * b, axis=1)) + 1e-18
        corr[:, j] = np.sum(a * b, axis=1) / denom
    inner = corr[:, 1:-1]
    # The first clear local maximum, not the largest: a noisy window may correlate a little
    # better at some longer lag, but the step is the shortest period that repeats.
    local = (inner >= corr[:, :-2]) & (inner >= corr[:, 2:])
    clear = local & (inner > 0.3) & (inner >= 0.7 * inner.max(axis=1, keepdims=True))
    best = np.where(clear.any(axis=1), np.argmax(clear, axis=1), np.argmax(inner, axis=1))
    rows = np.arange(signal.shape[0])
    left, mid, right = corr[rows, best], corr[rows, best + 1], corr[rows, best + 2]
    curvature = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curvature < 0, 0.5 * (left - right) / curvature, 0.0)
    period = lags[best + 1] + np.clip(np.nan_to_num(shift), -0.5, 0.5)
    return np.where(mid > 0.3, period, np.nan)


def step_events(pose: Pose) -> tuple[Peaks, np.ndarray]:
    """Pelvis low points (image y of the hip midpoint at its largest), one per step, and
    the window's step period (frames) from the same signal."""
    _, hip_y = pose.mid(23, 24)
    period = step_period(hip_y)
    known = np.where(np.isfinite(period), period, DEFAULT_STEP_PERIOD)
    half_width = np.maximum(np.round(STEP_WIDTH_SHARE * known), 3).astype(np.int64)
    return find_peaks(hip_y, pose.t, half_width), period


def foot_height(pose: Pose, side: int) -> np.ndarray:
    """(N, T) image y of a foot (ankle, heel, toe weighted by visibility); ``side`` 0 left."""
    ids = [i + side for i in FOOT_POINTS]
    w = pose.vis[..., ids] + 1e-3
    return np.sum(pose.y[..., ids] * w, axis=-1) / np.sum(w, axis=-1)


def stance_side_at_steps(pose: Pose, steps: Peaks) -> np.ndarray:
    """(N, T) int8: at each step event the stance foot (0 left, 1 right; -1 no event)."""
    right_lower = foot_height(pose, 1) > foot_height(pose, 0)
    return np.where(steps.mask, right_lower.astype(np.int8), -1).astype(np.int8)


@dataclass(frozen=True)
class FootEvents:
    contact: Peaks  # per foot: (N, 2, T) inside
    toe_off: Peaks
    stance: np.ndarray  # (N, 2, T) bool: the foot is on the ground


def _stance_mask(contact: np.ndarray, toe_off: np.ndarray) -> np.ndarray:
    """(N, T) stance from contact to toe-off; before the first event, the opposite of it."""
    n, t = contact.shape
    idx = np.broadcast_to(np.arange(t), (n, t))
    event = contact | toe_off
    last = np.maximum.accumulate(np.where(event, idx, -1), axis=1)
    rows = np.arange(n)[:, None]
    last_is_contact = np.where(last >= 0, contact[rows, np.maximum(last, 0)], False)
    # The first event decides the frames before it: a toe-off means the foot was down.
    first = np.argmax(event, axis=1)
    first_is_toe_off = toe_off[np.arange(n), first] & event.any(axis=1)
    return np.where(last >= 0, last_is_contact, first_is_toe_off[:, None])


def _kink_fits() -> tuple[np.ndarray, np.ndarray]:
    """For each candidate landing in KINK_GRID, the least-squares solution (G, 3, J) of the
    two-line fit and its residual maker (G, J, J): constants, so a fit is two products."""
    offsets = np.arange(LANDING_FRAMES + 1, dtype=np.float64)
    rel = offsets[None, :] - KINK_GRID[:, None]  # (G, J)
    basis = np.stack([np.ones_like(rel), np.minimum(rel, 0.0), np.maximum(rel, 0.0)], -1)
    solve = np.linalg.pinv(basis)  # (G, 3, J)
    residual = np.eye(len(offsets))[None] - basis @ solve  # (G, J, J), symmetric, idempotent
    solve.flags.writeable = False
    residual.flags.writeable = False
    return solve, residual


_SOLVE, _RESIDUAL = _kink_fits()


def _kink_offsets(
    signal: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per event (rows, cols), the offset (frames) after it where two lines fitted to the
    next ``LANDING_FRAMES`` frames of ``signal`` meet, the first rising faster (coming down
    in the picture) than the second; and whether such a fit exists."""
    t = signal.shape[1]
    at = np.minimum(cols[:, None] + np.arange(LANDING_FRAMES + 1)[None, :], t - 1)
    y = signal[rows[:, None], at]  # (E, J)
    slopes = np.einsum("gij,ej->egi", _SOLVE[:, 1:], y)  # (E, G, 2): before, after
    sse = np.einsum("ej,gjk,ek->eg", y, _RESIDUAL, y)
    sse = np.where(slopes[..., 0] > slopes[..., 1], sse, np.inf)
    best = np.argmin(sse, axis=1)
    return KINK_GRID[best], np.isfinite(sse[np.arange(len(rows)), best])


def landing(
    pose: Pose, side: int, reach: Peaks, lag: float = 0.0
) -> Peaks:
    """The foot's landing after each furthest reach: the first of the heel and the toe to
    stop coming down, within ``LANDING_FRAMES`` frames.

    The swing foot is pulled back under the body before it lands (late-swing retraction),
    so the furthest reach comes a few frames early, and the heel is then far ahead of where
    it lands; contact metrics are read at the landing instead. Each of the heel's and the
    toe's image heights shows a kink where it lands (fast descent, then the slow drift of a
    foot on a belt not quite parallel to the picture); two lines fitted around it time it to
    a fraction of a frame despite the tracker's jitter. A heel strike lands on the heel, a
    forefoot strike on the toe: the earlier kink is the landing. ``lag`` (frames) is taken
    off the result.
    """
    n, t = pose.windows, pose.frames
    rows, cols = np.nonzero(reach.mask)
    mask = np.zeros((n, t), dtype=bool)
    time = np.full((n, t), np.nan)
    # Both lines need their frames: a reach too near the window's end is left to the next.
    whole = cols + LANDING_FRAMES <= t - 1
    rows, cols = rows[whole], cols[whole]
    if not len(rows):
        return Peaks(mask=mask, time=time)
    heel, heel_ok = _kink_offsets(pose.y[..., 29 + side], rows, cols)
    toe, toe_ok = _kink_offsets(pose.y[..., 31 + side], rows, cols)
    offset = np.where(heel_ok & toe_ok, np.minimum(heel, toe), np.where(heel_ok, heel, toe))
    offset = offset - lag
    found = (heel_ok | toe_ok) & (offset >= 0)
    base = np.floor(offset).astype(np.int64)
    frame_a = np.minimum(cols + base, t - 1)
    frame_b = np.minimum(frame_a + 1, t - 1)
    times = pose.t
    when = times[rows, frame_a] + (offset - base) * (times[rows, frame_b] - times[rows, frame_a])
    nearest = np.minimum(cols + np.round(offset).astype(np.int64), t - 1)
    # The event moves to the frame nearest its landing (reading values there interpolates
    # at most half a frame).
    mask[rows[found], nearest[found]] = True
    time[rows[found], nearest[found]] = when[found]
    return Peaks(mask=mask, time=time)


def lift_off(pose: Pose, side: int, behind: Peaks) -> Peaks:
    """The foot's lift-off before each furthest reach behind: a landing, time reversed."""
    backwards = Pose(x=pose.x[:, ::-1], y=pose.y[:, ::-1], z=pose.z[:, ::-1],
                     vis=pose.vis[:, ::-1], t=pose.t[:, ::-1])
    found = landing(backwards, side, Peaks(behind.mask[:, ::-1], behind.time[:, ::-1]))
    return Peaks(mask=found.mask[:, ::-1], time=found.time[:, ::-1])


def foot_events(pose: Pose, facing: np.ndarray, hip_x: np.ndarray) -> FootEvents:
    """Contacts (landing after the heel's furthest reach ahead of the pelvis) and toe-offs
    (lift-off before the toe's furthest reach behind it)."""
    contacts, toe_offs, stance = [], [], []
    for side in (0, 1):
        heel, toe = 29 + side, 31 + side
        ahead = facing[:, None] * (pose.x[..., heel] - hip_x)
        behind = -facing[:, None] * (pose.x[..., toe] - hip_x)
        reach = find_peaks(ahead, pose.t, STRIDE_HALF_WIDTH)
        c = landing(pose, side, reach, LANDING_LAG_FRAMES)
        o = lift_off(pose, side, find_peaks(behind, pose.t, STRIDE_HALF_WIDTH))
        contacts.append(c)
        toe_offs.append(o)
        stance.append(_stance_mask(c.mask, o.mask))
    return FootEvents(
        contact=Peaks(np.stack([c.mask for c in contacts], 1),
                      np.stack([c.time for c in contacts], 1)),
        toe_off=Peaks(np.stack([o.mask for o in toe_offs], 1),
                      np.stack([o.time for o in toe_offs], 1)),
        stance=np.stack(stance, axis=1),
    )
