"""Sliding-window rules, pure: which frames join a window, and when a window is complete.

One window state per (user, session). For each incoming frame, in order:

* no state yet -> the window starts with this frame (``STARTED``);
* frame number <= the last accepted one -> ignored (``DUPLICATE``: a replay or a late frame);
* more than ``max_gap_frames`` frames missing, or more than ``max_gap_ms`` since the last
  frame -> the window restarts with this frame (``RESTARTED``): unrelated motion is never
  stitched into one window;
* otherwise the frame is appended (``ACCEPTED``).

Counting accepted frames since the (re)start as c = 1, 2, ..., a window of the last ``size``
frames is complete when c >= size and (c - size) % hop == 0: the first after ``size`` frames,
then one every ``hop`` frames (hop == size gives tumbling windows).

The same rules cut windows from recordings for training (``sliding_windows``), so training
and serving see the same windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from consumer.landmarks import FRAME_WIDTH

# Recordings carry no timestamps; 30 fps is the contract's frame rate.
RECORDING_FRAME_MS = 1000 / 30


class Outcome(IntEnum):
    ACCEPTED = 0
    STARTED = 1
    RESTARTED = 2
    DUPLICATE = 3


@dataclass(frozen=True, slots=True)
class WindowConfig:
    size: int = 30
    hop: int = 10
    max_gap_frames: int = 5
    max_gap_ms: int = 1000

    def __post_init__(self) -> None:
        if not 1 <= self.hop <= self.size:
            raise ValueError(f"hop must be in 1..size, got hop={self.hop} size={self.size}")
        if self.max_gap_frames < 0 or self.max_gap_ms < 0:
            raise ValueError("max_gap_frames and max_gap_ms must be >= 0")


@dataclass(frozen=True, slots=True)
class WindowState:
    """What is kept per (user, session): the last ``size`` accepted frames and counters."""

    accepted: int  # frames accepted since the window (re)started
    frames: np.ndarray  # (k,) int64 frame numbers, k <= size, oldest first
    ts_ms: np.ndarray  # (k,) int64
    values: np.ndarray  # (k, 132) float32

    @property
    def last_frame(self) -> int:
        return int(self.frames[-1])

    @property
    def last_ts_ms(self) -> int:
        return int(self.ts_ms[-1])


@dataclass(frozen=True, slots=True)
class Applied:
    """The result of applying a batch of frames of one (user, session) to its state."""

    state: WindowState | None
    outcomes: np.ndarray  # (m,) int8 Outcome per incoming frame
    windows: np.ndarray  # (w, size, 132) float32 completed windows, in order
    window_frames: np.ndarray  # (w, size) int64 frame numbers of each window
    window_ts_ms: np.ndarray  # (w, size) int64


def apply_frames(
    state: WindowState | None,
    frames: np.ndarray,
    ts_ms: np.ndarray,
    values: np.ndarray,
    config: WindowConfig,
) -> Applied:
    """Apply frames (in arrival order) to a window state; return the new state and windows."""
    outcomes = np.empty(len(frames), dtype=np.int8)
    # The sequence windows are cut from, as sources: -1 - i is kept frame i of `state`, j >= 0
    # is new frame j. A restart empties it; windows complete before a restart are cut at once.
    sequence: list[int] = []
    done: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    accepted = 0
    last_frame = last_ts = 0
    if state is not None and len(state.frames):
        sequence = [-1 - i for i in range(len(state.frames))]
        accepted, last_frame, last_ts = state.accepted, state.last_frame, state.last_ts_ms
    for i in range(len(frames)):
        frame, ts = int(frames[i]), int(ts_ms[i])
        if not sequence and accepted == 0:
            outcome = Outcome.STARTED
        elif frame <= last_frame:
            outcomes[i] = Outcome.DUPLICATE
            continue
        elif frame - last_frame - 1 > config.max_gap_frames or ts - last_ts > config.max_gap_ms:
            outcome = Outcome.RESTARTED
        else:
            outcome = Outcome.ACCEPTED
        if outcome != Outcome.ACCEPTED:
            sequence, accepted = [], 0
        outcomes[i] = outcome
        sequence.append(i)
        accepted += 1
        last_frame, last_ts = frame, ts
        if accepted >= config.size and (accepted - config.size) % config.hop == 0:
            done.append(_gather(sequence[-config.size :], state, frames, ts_ms, values))
        if len(sequence) > 2 * config.size:  # keep the working list short on long batches
            sequence = sequence[-config.size :]
    new_state = state
    if sequence and (state is None or sequence != [-1 - i for i in range(len(state.frames))]):
        tail_values, tail_frames, tail_ts = _gather(
            sequence[-config.size :], state, frames, ts_ms, values
        )
        new_state = WindowState(accepted, tail_frames, tail_ts, tail_values)
    if done:
        windows, window_frames, window_ts = (np.stack(part) for part in zip(*done, strict=True))
    else:
        windows = np.empty((0, config.size, FRAME_WIDTH), dtype=np.float32)
        window_frames = np.empty((0, config.size), dtype=np.int64)
        window_ts = np.empty((0, config.size), dtype=np.int64)
    return Applied(new_state, outcomes, windows, window_frames, window_ts)


def _gather(
    sources: list[int],
    state: WindowState | None,
    frames: np.ndarray,
    ts_ms: np.ndarray,
    values: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values, frame numbers and timestamps for a list of sources (see apply_frames)."""
    idx = np.asarray(sources, dtype=np.int64)
    kept = idx < 0
    new = ~kept
    out_values = np.empty((len(idx), FRAME_WIDTH), dtype=np.float32)
    out_frames = np.empty(len(idx), dtype=np.int64)
    out_ts = np.empty(len(idx), dtype=np.int64)
    if state is not None and kept.any():
        old = -1 - idx[kept]
        out_values[kept] = state.values[old]
        out_frames[kept] = state.frames[old]
        out_ts[kept] = state.ts_ms[old]
    out_values[new] = values[idx[new]]
    out_frames[new] = frames[idx[new]]
    out_ts[new] = ts_ms[idx[new]]
    return out_values, out_frames, out_ts


def sliding_windows(
    frames: np.ndarray,
    landmarks: np.ndarray,
    config: WindowConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of a recording by the serving rules; returns (windows, window frame numbers).

    Recordings have no timestamps: frames are taken to be 1/30 s apart, so only the
    frame-number gap rule applies (NaN rows were dropped when the CSV was loaded).
    """
    frames = np.asarray(frames, dtype=np.int64)
    ts = np.round(frames * RECORDING_FRAME_MS).astype(np.int64)
    applied = apply_frames(None, frames, ts, np.asarray(landmarks, dtype=np.float32), config)
    return applied.windows, applied.window_frames
