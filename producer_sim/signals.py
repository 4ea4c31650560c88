"""Deterministic signals of time: smooth random wobble, fault ramps, per-block random streams.

Everything here is a pure function of the frame number (and a seed), so that any chunk
``[start, start + count)`` of a session can be computed on its own and agrees with every
other chunk: the streaming simulator relies on that.
"""

from __future__ import annotations

import numpy as np

# Random streams are keyed by (seed, stream, block); SeedSequence wants non-negative entropy,
# and the jitter filter reaches a few frames before frame 0.
_BLOCK_OFFSET = 1 << 40


class Wobble:
    """A few smooth random signals: unit-RMS sums of low-frequency sinusoids.

    Real runners vary from stride to stride (cadence by about 1-2 %, posture by a degree or
    two); a sum of three incommensurate sinusoids between ``f_lo`` and ``f_hi`` Hz gives that
    slow, irregular drift with a closed-form integral (the gait phase integrates cadence).
    """

    def __init__(
        self, rng: np.random.Generator, n_signals: int, n_terms: int = 3,
        f_lo: float = 0.03, f_hi: float = 0.3,
    ) -> None:
        self._omega = 2 * np.pi * rng.uniform(f_lo, f_hi, size=(n_signals, n_terms))
        self._phase = rng.uniform(0, 2 * np.pi, size=(n_signals, n_terms))
        # A sinusoid has RMS 1/sqrt(2); n independent ones sum to RMS sqrt(n/2) * amplitude.
        self._amp = np.sqrt(2.0 / n_terms)

    def value(self, t: np.ndarray) -> np.ndarray:
        """(T, n_signals) values at times ``t`` (seconds)."""
        arg = t[:, None, None] * self._omega + self._phase
        return self._amp * np.sin(arg).sum(axis=2)

    def integral(self, t: np.ndarray) -> np.ndarray:
        """(T, n_signals) integrals from 0 to ``t`` (seconds)."""
        arg = t[:, None, None] * self._omega + self._phase
        terms = (np.cos(self._phase) - np.cos(arg)) / self._omega
        return self._amp * terms.sum(axis=2)


def ramp(frames: np.ndarray, onset: int, end: int | None, ramp_frames: int) -> np.ndarray:
    """Fault weight per frame: rising from ``onset`` (already > 0 there) to 1 over
    ``ramp_frames``, and back down to 0 by ``end`` (still > 0 there, 0 after it)."""
    x = frames.astype(np.float64)
    weight = np.clip((x - (onset - 1)) / ramp_frames, 0.0, 1.0)
    if end is not None:
        weight -= np.clip((x - (end + 1 - ramp_frames)) / ramp_frames, 0.0, 1.0)
    return weight


def _rise_integral(x: np.ndarray, start: float, width: float) -> np.ndarray:
    """Integral from -inf to ``x`` of clip((s - start) / width, 0, 1) ds."""
    inside = np.clip(x - start, 0.0, width)
    return inside**2 / (2 * width) + np.maximum(x - start - width, 0.0)


def ramp_integral(
    frames: np.ndarray, onset: int, end: int | None, ramp_frames: int
) -> np.ndarray:
    """Integral of ``ramp`` over frames, from far before the onset up to each frame."""
    x = frames.astype(np.float64)
    total = _rise_integral(x, onset - 1, ramp_frames)
    if end is not None:
        total -= _rise_integral(x, end + 1 - ramp_frames, ramp_frames)
    return total


def block_normals(
    seed: int, stream: int, start: int, count: int, width: int, block: int = 64
) -> np.ndarray:
    """Standard normals (count, width) for frames [start, start+count), the same in any chunk."""
    first, last = start // block, (start + count - 1) // block
    parts = [
        np.random.default_rng([seed, stream, b + _BLOCK_OFFSET]).standard_normal((block, width))
        for b in range(first, last + 1)
    ]
    table = np.concatenate(parts)
    offset = start - first * block
    return table[offset:offset + count]


def block_events(
    seed: int, stream: int, start: int, count: int, rate_per_frame: float,
    mean_frames: float, max_frames: int, block: int = 256,
) -> list[tuple[int, int]]:
    """Random (first_frame, length) events overlapping [start, start+count), chunk-independent.

    Events arrive as a Poisson process; lengths are geometric with the given mean, capped.
    """
    if rate_per_frame <= 0 or count <= 0:
        return []
    events: list[tuple[int, int]] = []
    first = (start - max_frames) // block
    for b in range(first, (start + count - 1) // block + 1):
        rng = np.random.default_rng([seed, stream, b + _BLOCK_OFFSET])
        n = rng.poisson(rate_per_frame * block)
        begins = b * block + rng.integers(0, block, size=n)
        lengths = np.minimum(rng.geometric(1.0 / max(mean_frames, 1.0), size=n), max_frames)
        for begin, length in zip(begins.tolist(), lengths.tolist(), strict=True):
            if begin < start + count and begin + length > start:
                events.append((begin, length))
    return events


def smoothed_normals(
    seed: int, stream: int, start: int, count: int, width: int, correlation: float,
    taps: int = 8,
) -> np.ndarray:
    """Unit-variance normals correlated in time (a truncated AR(1) as an FIR filter).

    The filter needs ``taps - 1`` frames of history, drawn from the same block stream, so
    every chunk sees the same values.
    """
    raw = block_normals(seed, stream, start - (taps - 1), count + taps - 1, width)
    kernel = correlation ** np.arange(taps)
    kernel /= np.sqrt(np.sum(kernel**2))
    out = np.zeros((count, width))
    for lag, k in enumerate(kernel):
        out += k * raw[taps - 1 - lag: taps - 1 - lag + count]
    return out
