"""The frame message of the BarunRun contract, as a client builds it (CONTRACT.md, docs/clients.md).

One UTF-8 JSON object per video frame, keyed by ``user_id``::

    {"schema": 1, "user_id": "runner-42", "session_id": "s-20261123-0700", "frame": 1234,
     "ts_ms": 1795474459123, "landmarks": [[x, y, z, visibility], ... 33 entries]}

The server rejects (dead-letters) a frame whose ids break the id pattern, whose numbers are
not finite or leave the sane ranges, or whose timestamp is over a minute in the future or a
day old; the client checks or clips each of those here so that nothing it sends is rejected.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import orjson

from barunrun_capture.errors import BadArgument
from barunrun_capture.landmarks import NUM_LANDMARKS, VALUES_PER_LANDMARK

SCHEMA_VERSION = 1
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
# The server's sane ranges: x, y may leave the picture a little (a foot out of frame), z is on
# x's scale around the hips, visibility is a probability.
XY_RANGE = (-1.0, 2.0)
Z_RANGE = (-10.0, 10.0)
VISIBILITY_RANGE = (0.0, 1.0)
DECIMALS = 5  # 1e-5 of the picture is far below a tracker's jitter; keeps messages ~2 KB


def check_id(value: str, what: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise BadArgument(
            f"{what} {value!r}: use 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit"
        )
    return value


def session_id_at(moment: datetime) -> str:
    """A session id from the capture's start time (UTC), e.g. ``s-20261123-070512``."""
    return moment.astimezone(UTC).strftime("s-%Y%m%d-%H%M%S")


def track_session_id(base: str, track: int) -> str:
    """The first person tracked keeps ``base``; a later one gets ``base-2``, ``base-3``, ..."""
    if track <= 1:
        return base
    suffix = f"-{track}"
    return base[: 64 - len(suffix)] + suffix


def within_contract(landmarks: np.ndarray) -> np.ndarray:
    """(33, 4) landmarks clipped to the contract's ranges (MediaPipe rarely leaves them)."""
    out = np.array(landmarks, dtype=np.float64, copy=True).reshape(
        NUM_LANDMARKS, VALUES_PER_LANDMARK)
    out[:, :2] = np.clip(out[:, :2], *XY_RANGE)
    out[:, 2] = np.clip(out[:, 2], *Z_RANGE)
    out[:, 3] = np.clip(out[:, 3], *VISIBILITY_RANGE)
    return out


def encode_frame(
    user_id: str, session_id: str, frame: int, ts_ms: int, landmarks: np.ndarray
) -> bytes:
    """The message value for one frame; ``landmarks`` must be finite (no person: send nothing)."""
    rows = np.round(within_contract(landmarks), DECIMALS)
    if not np.isfinite(rows).all():
        raise ValueError("landmarks must be finite; frames without a person are not sent")
    return orjson.dumps({
        "schema": SCHEMA_VERSION,
        "user_id": user_id,
        "session_id": session_id,
        "frame": int(frame),
        "ts_ms": int(ts_ms),
        "landmarks": rows.tolist(),
    })
