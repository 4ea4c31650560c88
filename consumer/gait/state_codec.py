"""The rolling gait state as bytes, for the consumer to keep in Redis beside the window.

Layout, little-endian: a 53-byte header (magic ``BRG5``, step and stance counts, view, the
cue conditions last raised, last window end, step period, usual cadence and its frames, fps),
then 10 bytes per step (time f64, hits u8, misses u8), 13 per stance (contact time f64,
frames f32, side u8), 8 per smoothed metric (``rolling.SMOOTHED`` order), then the usual
levels' view (i8) and frames away from it (f32) and per usual level (``specs.USUAL`` order)
its level f64, frames f32, frames unsettled f32, settled u8, and the count u8 and f32
values of its warm-up (none once it is ready): 250-550 bytes for a runner.
``BRG4`` states (written before the usual levels existed) still decode, without them, so
that runners streaming through an upgrade keep their state.
"""

from __future__ import annotations

import math
import struct

from consumer.errors import DataError
from consumer.gait.rolling import SMOOTHED, RollingGait, UsualLevel
from consumer.gait.specs import USUAL

MAGIC = b"BRG5"
PREVIOUS_MAGIC = b"BRG4"
MAGICS = (MAGIC, PREVIOUS_MAGIC)  # what a stored gait state starts with
_HEADER = struct.Struct("<4sHHbIddddd")
_STEP = struct.Struct("<dBB")
_STANCE = struct.Struct("<dfB")
_SMOOTH = struct.Struct("<d")
_USUAL_HEAD = struct.Struct("<bf")
_USUAL = struct.Struct("<dffBB")
_WARMUP = struct.Struct("<f")


def encode(state: RollingGait) -> bytes:
    smoothed = state.smoothed or (math.nan,) * len(SMOOTHED)
    usual = state.usual or (UsualLevel(),) * len(USUAL)
    head = _HEADER.pack(MAGIC, len(state.step_times), len(state.stances), state.view,
                        state.raised, state.last_end, state.period_frames, state.baseline_spm,
                        state.baseline_frames, state.fps)
    steps = b"".join(
        _STEP.pack(t, min(h, 255), min(m, 255))
        for t, h, m in zip(state.step_times, state.hits, state.misses, strict=True)
    )
    stances = b"".join(_STANCE.pack(t, d, s) for t, d, s in state.stances)
    return (head + steps + stances + b"".join(_SMOOTH.pack(v) for v in smoothed)
            + _USUAL_HEAD.pack(state.usual_view, state.usual_away)
            + b"".join(_encode_usual(u) for u in usual))


def _encode_usual(usual: UsualLevel) -> bytes:
    warmup = usual.warmup[-255:]
    return (_USUAL.pack(usual.level, usual.frames, usual.unsettled_frames, usual.settled,
                        len(warmup))
            + b"".join(_WARMUP.pack(v) for v in warmup))


def _decode_usual(data: bytes, offset: int, count: int) -> tuple[tuple[UsualLevel, ...], int]:
    """``count`` usual levels from ``offset``, and the offset after them."""
    levels = []
    for _ in range(count):
        if len(data) < offset + _USUAL.size:
            raise DataError("rolling gait state cut short")
        level, frames, unsettled, settled, n = _USUAL.unpack_from(data, offset)
        offset += _USUAL.size
        if len(data) < offset + n * _WARMUP.size:
            raise DataError("rolling gait state cut short")
        warmup = tuple(_WARMUP.unpack_from(data, offset + i * _WARMUP.size)[0]
                       for i in range(n))
        offset += n * _WARMUP.size
        levels.append(UsualLevel(level, float(frames), warmup, bool(settled), float(unsettled)))
    return tuple(levels), offset


def decode(data: bytes) -> RollingGait:
    """The state from ``encode``'s bytes (or a ``BRG4`` state's); DataError when they are
    not one."""
    if len(data) < _HEADER.size or data[:4] not in MAGICS:
        raise DataError("not a rolling gait state")
    magic, steps, stances, view, raised, last_end, period, baseline, baseline_frames, fps = (
        _HEADER.unpack_from(data))
    smooth_at = _HEADER.size + steps * _STEP.size + stances * _STANCE.size
    usual_at = smooth_at + len(SMOOTHED) * _SMOOTH.size
    usual: tuple[UsualLevel, ...] = ()
    usual_head = (-1, 0.0)
    end = usual_at
    if magic == MAGIC:
        if len(data) < usual_at + _USUAL_HEAD.size:
            raise DataError("rolling gait state cut short")
        usual_head = _USUAL_HEAD.unpack_from(data, usual_at)
        usual, end = _decode_usual(data, usual_at + _USUAL_HEAD.size, len(USUAL))
    if len(data) != end:
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
        usual=usual, usual_view=int(usual_head[0]), usual_away=float(usual_head[1]),
    )
