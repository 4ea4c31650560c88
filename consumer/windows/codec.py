"""The stored form of one window state: one compact binary value per (user, session).

Layout, little-endian::

    offset  size        field
    0       8           version      u64, the compare-and-set counter (first, so the Redis
                                     script compares a fixed 8-byte prefix without parsing)
    8       1           format       u8 = 1
    9       1           (reserved)   0
    10      2           count        u16, k frames kept (k <= window size)
    12      2           width        u16, values per frame (132)
    14      2           (padding)    keeps the arrays 8-byte aligned
    16      8           accepted     u64, frames accepted since the window (re)started
    24      4           extra_len    u32
    28      4           (padding)
    32      8k          frame numbers   int64[k]
    ..      8k          timestamps ms   int64[k]
    ..      4k*width    values          float32[k, width]
    ..      extra_len   extra           opaque bytes kept beside the window (e.g. an episode
                                        tracker's state): stored and returned untouched

A full 30-frame window is about 16 KiB, against about 75 KiB as JSON, and decodes with three
``np.frombuffer`` calls (no per-value parsing).

The extra section, shared
-------------------------
Several stages keep small per-(user, session) states beside the window, saved under the same
compare-and-set (the gait stage's rolling state, the alert episode tracker's). ``pack_extra``
/ ``unpack_extra`` share ``extra`` between them as named sections::

    b"BRX1"                       magic
    then per section, by tag:     tag (4 ASCII bytes) | length u32 | payload (length bytes)

* Backward compatible: a value written before the container held only the gait stage's bare
  state (it starts with a gait state's magic, ``b"BRG4"`` or ``b"BRG5"``, never with the
  container's); it reads as ``{"gait": value}``.
* A value whose only section is the gait state is still written bare, so a consumer that
  predates the container reads it unchanged during a rolling upgrade.
* Sections with tags this code does not know are kept as they are (a newer replica's state
  survives an older replica's write).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from consumer.errors import BarunRunError
from consumer.landmarks import FRAME_WIDTH
from consumer.windows.rules import WindowState

FORMAT = 1
_HEADER = struct.Struct("<QBxHH2xQI4x")
HEADER_SIZE = _HEADER.size  # 32
VERSION_SIZE = 8
_VERSION = struct.Struct("<Q")
_MAX_VERSION = 2**64 - 1


class CorruptState(BarunRunError):
    """A stored window state cannot be decoded (foreign format, truncated, tampered)."""


@dataclass(frozen=True, slots=True)
class StoredState:
    """A decoded value: the CAS version, the window state and the opaque extra bytes."""

    version: int
    window: WindowState
    extra: bytes = b""


def next_version(version: int) -> int:
    return 1 if version >= _MAX_VERSION else version + 1


def version_prefix(version: int) -> bytes:
    """The first 8 bytes of a value written with ``version`` (what the CAS script compares)."""
    return _VERSION.pack(version)


def encode_state(version: int, window: WindowState, extra: bytes = b"") -> bytes:
    count = len(window.frames)
    header = _HEADER.pack(version, FORMAT, count, FRAME_WIDTH, window.accepted, len(extra))
    return b"".join((
        header,
        np.ascontiguousarray(window.frames, dtype="<i8").tobytes(),
        np.ascontiguousarray(window.ts_ms, dtype="<i8").tobytes(),
        np.ascontiguousarray(window.values, dtype="<f4").tobytes(),
        extra,
    ))


EXTRA_MAGIC = b"BRX1"
GAIT_SECTION = "gait"
_SECTION = struct.Struct("<4sI")


def pack_extra(sections: Mapping[str, bytes]) -> bytes:
    """The extra bytes holding ``sections`` (tag -> payload); empty payloads are left out."""
    present = {tag: payload for tag, payload in sections.items() if payload}
    if not present:
        return b""
    if set(present) == {GAIT_SECTION}:
        return present[GAIT_SECTION]  # the pre-container form (see the module docstring)
    parts = [EXTRA_MAGIC]
    for tag in sorted(present):  # sorted: equal sections always give equal bytes
        raw = tag.encode("ascii")
        if len(raw) != 4:
            raise ValueError(f"extra section tag {tag!r} must be 4 ASCII characters")
        parts += [_SECTION.pack(raw, len(present[tag])), present[tag]]
    return b"".join(parts)


def unpack_extra(extra: bytes) -> dict[str, bytes]:
    """The sections of extra bytes (``{}`` when empty); raises CorruptState when malformed."""
    if not extra:
        return {}
    if not extra.startswith(EXTRA_MAGIC):
        return {GAIT_SECTION: bytes(extra)}
    sections: dict[str, bytes] = {}
    offset = len(EXTRA_MAGIC)
    while offset < len(extra):
        if offset + _SECTION.size > len(extra):
            raise CorruptState("extra section header cut short")
        raw, length = _SECTION.unpack_from(extra, offset)
        offset += _SECTION.size
        if offset + length > len(extra):
            raise CorruptState("extra section cut short")
        try:
            tag = raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise CorruptState("extra section tag is not ASCII") from exc
        if tag in sections:
            raise CorruptState(f"extra section {tag!r} twice")
        sections[tag] = bytes(extra[offset:offset + length])
        offset += length
    return sections


def read_version(value: bytes) -> int:
    """The version of a stored value; 0 when it is too short to hold one."""
    if len(value) < VERSION_SIZE:
        return 0
    return int(_VERSION.unpack_from(value)[0])


def decode_state(value: bytes) -> StoredState:
    """Decode a stored value; raises CorruptState when it is not one we wrote."""
    if len(value) < HEADER_SIZE:
        raise CorruptState(f"value of {len(value)} bytes is shorter than the header")
    version, fmt, count, width, accepted, extra_len = _HEADER.unpack_from(value)
    if fmt != FORMAT or width != FRAME_WIDTH:
        raise CorruptState(f"unknown format {fmt} or width {width}")
    expected = HEADER_SIZE + count * (16 + 4 * width) + extra_len
    if len(value) != expected or count == 0 or accepted < count:
        raise CorruptState(f"value of {len(value)} bytes does not match its header")
    offset = HEADER_SIZE
    frames = np.frombuffer(value, dtype="<i8", count=count, offset=offset)
    offset += 8 * count
    ts_ms = np.frombuffer(value, dtype="<i8", count=count, offset=offset)
    offset += 8 * count
    values = np.frombuffer(value, dtype="<f4", count=count * width, offset=offset)
    offset += 4 * count * width
    window = WindowState(
        accepted=int(accepted),
        frames=frames.astype(np.int64, copy=False),
        ts_ms=ts_ms.astype(np.int64, copy=False),
        values=values.reshape(count, width).astype(np.float32, copy=False),
    )
    return StoredState(int(version), window, bytes(value[offset:]))
