"""The rolling gait state as bytes, for the consumer to keep in Redis beside the window.

Layout, little-endian: a 53-byte header (magic ``BRG4``, step and stance counts, view, the
cue conditions last raised, last window end, step period, usual cadence and its frames, fps),
then 10 bytes per step (time
f64, hits u8, misses u8), 13 per stance (contact time f64, frames f32, side u8) and 8 per
smoothed metric (``rolling.SMOOTHED`` order): 300-700 bytes for a runner.
"""

from __future__ import annotations

import math
import struct

from consumer.errors import DataError
from consumer.gait.rolling import SMOOTHED, RollingGait

MAGIC = b"BRG4"
_HEADER = struct.Struct("<4sHHbIddddd")
_STEP = struct.Struct("<dBB")
_STANCE = struct.Struct("<dfB")
_SMOOTH = struct.Struct("<d")


def encode(state: RollingGait) -> bytes:
    smoothed = state.smoothed or (math.nan,) * len(SMOOTHED)
    head = _HEADER.pack(MAGIC, len(state.step_times), len(state.stances), state.view,
                        state.raised, state.last_end, state.period_frames, state.baseline_spm,
                        state.baseline_frames, state.fps)
    steps = b"".join(
        _STEP.pack(t, min(h, 255), min(m, 255))
        for t, h, m in zip(state.step_times, state.hits, state.misses, strict=True)
    )
    stances = b"".join(_STANCE.pack(t, d, s) for t, d, s in state.stances)
    return head + steps + stances + b"".join(_SMOOTH.pack(v) for v in smoothed)


def decode(data: bytes) -> RollingGait:
    """The state from ``encode``'s bytes; DataError when they are not one."""
    if len(data) < _HEADER.size or data[:4] != MAGIC:
        raise DataError("not a rolling gait state")
    _, steps, stances, view, raised, last_end, period, baseline, baseline_frames, fps = (
        _HEADER.unpack_from(data))
    smooth_at = _HEADER.size + steps * _STEP.size + stances * _STANCE.size
    if len(data) != smooth_at + len(SMOOTHED) * _SMOOTH.size:
        raise DataError("rolling gait state of the wrong length")
    offset = _HEADER.size
    step_rows = [_STEP.unpack_from(data, offset + i * _STEP.size) for i in range(steps)]
    offset += steps * _STEP.size
    stance_rows = [_STANCE.unpack_from(data, offset + i * _STANCE.size) for i in range(stances)]
    return RollingGait(
        last_end=last_end, step_times=tuple(r[0] for r in step_rows),
        hits=tuple(r[1] for r in step_rows), misses=tuple(r[2] for r in step_rows),
        stances=tuple((float(t), float(d), int(s)) for t, d, s in stance_rows),
        period_frames=period, baseline_spm=baseline, baseline_frames=baseline_frames,
        view=view, raised=raised, fps=fps,
        smoothed=tuple(_SMOOTH.unpack_from(data, smooth_at + i * _SMOOTH.size)[0]
                       for i in range(len(SMOOTHED))),
    )
