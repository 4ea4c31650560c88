"""Score drift: the live score distribution against the calibration one, as a PSI.

Reference: quantiles of the model's scores on normal windows of runners it never trained on.
A version promoted by ``barunrun retrain`` carries ``drift_reference.json`` (deciles, p95 and
p99 of its scores on the held-out users' normal windows, the same windows it was judged on);
any other model falls back to its manifest's calibration quantiles (p50, p90, p95, p99 of the
threshold runners, which in small trainings are one or two runners: a coarse reference, see
docs/model-lifecycle.md). The quantiles cut the score axis into fixed bins that held, by
construction, known shares of the reference windows (10 % each between deciles, ...). Divided
by the threshold they are fixed score-ratio bins, the axis of ``barunrun_window_score_ratio``.

Live: the bin of each of the last ``window`` scored windows (a ring buffer of bin indexes,
per consumer process). The Population Stability Index over the bins,

    PSI = sum_i (live_i - ref_i) * ln(live_i / ref_i)        (live_i floored at 1e-4)

is ~0 when live scores look like calibration, and by the usual rule of thumb < 0.1 stable,
0.1-0.25 moving, > 0.25 shifted. Live traffic holds faulty runners too, so even a perfect
model shows some PSI (measured in docs/model-lifecycle.md). A model swap resets the buffer:
a new model's scores have a new reference.

The same computation runs on archived score records for ``barunrun retrain --if-drift``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

REFERENCE_FILE = "drift_reference.json"
REFERENCE_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
FLOOR = 1e-4


def _level(name: str) -> float | None:
    """``"p95"`` -> 0.95; None for names that are not a percentile."""
    try:
        value = float(name[1:]) / 100 if name.startswith("p") else None
    except ValueError:
        return None
    return value if value is not None and 0 < value < 1 else None


def reference_quantiles(scores: np.ndarray) -> dict[str, float]:
    """The quantiles a reference file keeps, of finite ``scores``."""
    finite = np.asarray(scores, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return {f"p{round(level * 100)}": float(np.quantile(finite, level))
            for level in REFERENCE_LEVELS} if finite.size else {}


@dataclass(frozen=True)
class DriftReference:
    """Bin edges (scores) and the share of calibration windows in each bin."""

    version: str
    edges: np.ndarray  # (B-1,) increasing score cut points
    expected: np.ndarray  # (B,) shares, summing to 1

    @classmethod
    def from_threshold(cls, version: str, threshold: Mapping[str, Any]) -> DriftReference | None:
        """From a manifest's ``threshold`` object; None when it holds no usable quantiles."""
        quantiles = threshold.get("score_quantiles") or {}
        named = sorted((level, name) for name in quantiles
                       if (level := _level(str(name))) is not None)
        edges: list[float] = []
        levels: list[float] = []
        for level, name in named:
            value = quantiles.get(name)
            if value is None or not math.isfinite(float(value)):
                continue
            if edges and float(value) <= edges[-1]:
                continue  # tied quantiles (tiny calibration sets): merge their bins
            edges.append(float(value))
            levels.append(level)
        if not edges:
            return None
        cuts = np.array([0.0, *levels, 1.0])
        return cls(version, np.asarray(edges), np.diff(cuts))

    def bins(self, scores: np.ndarray) -> np.ndarray:
        # side="left": a score equal to p50 belongs to the bin below it, as quantiles count.
        return np.searchsorted(self.edges, scores, side="left").astype(np.int8)


def psi(expected: np.ndarray, counts: np.ndarray) -> float:
    total = counts.sum()
    if total <= 0:
        return float("nan")
    live = np.maximum(counts / total, FLOOR)
    ref = np.maximum(expected, FLOOR)
    return float(np.sum((live - ref) * np.log(live / ref)))


def psi_of_scores(reference: DriftReference, scores: np.ndarray) -> float:
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores[np.isfinite(scores)]
    counts = np.bincount(reference.bins(scores), minlength=len(reference.expected))
    return psi(reference.expected, counts)


class DriftMonitor:
    """The rolling live side (module docstring). Not thread-safe: the serving loop owns it."""

    def __init__(self, window: int, min_windows: int) -> None:
        self._window = window
        self._min = min_windows
        self._ring = np.zeros(window, dtype=np.int8)
        self._filled = 0
        self._next = 0
        self._reference: DriftReference | None = None
        self._version: str | None = None

    @property
    def version(self) -> str | None:
        return self._version

    @property
    def windows(self) -> int:
        return self._filled

    def use(self, version: str, reference: DriftReference | None) -> None:
        """Follow the model serving now; a different one starts the window afresh."""
        if version == self._version:
            return
        self._version, self._reference = version, reference
        self._filled = self._next = 0

    def observe(self, scores: Iterable[float]) -> None:
        if self._reference is None:
            return
        values = np.fromiter(scores, dtype=np.float64)
        values = values[np.isfinite(values)][-self._window:]
        if not values.size:
            return
        bins = self._reference.bins(values)
        end = self._next + bins.size
        if end <= self._window:
            self._ring[self._next:end] = bins
        else:
            split = self._window - self._next
            self._ring[self._next:] = bins[:split]
            self._ring[:end - self._window] = bins[split:]
        self._next = end % self._window
        self._filled = min(self._window, self._filled + bins.size)

    def value(self) -> float:
        """PSI over the window; NaN without a reference or before ``min_windows``."""
        if self._reference is None or self._filled < self._min:
            return float("nan")
        counts = np.bincount(self._ring[:self._filled], minlength=len(self._reference.expected))
        return psi(self._reference.expected, counts)


class ReferenceBook:
    """Drift references by model version, noted whenever a model directory is loaded."""

    def __init__(self) -> None:
        self._by_version: dict[str, DriftReference | None] = {}

    def note(self, version: str, threshold: Mapping[str, Any] | None) -> None:
        self._by_version[version] = (
            DriftReference.from_threshold(version, threshold) if threshold else None
        )

    def note_dir(self, version: str, model_dir: Any) -> None:
        """From ``model_dir`` when it holds this version (no TensorFlow): its reference file,
        else its manifest's calibration quantiles."""
        self._by_version[version] = load_reference(version, model_dir)

    def get(self, version: str) -> DriftReference | None:
        return self._by_version.get(version)


class ServingDrift:
    """The serving loop's side: follow the model of each batch, export the gauges."""

    def __init__(self, monitor: DriftMonitor, references: ReferenceBook) -> None:
        self.monitor = monitor
        self.references = references

    def observe(self, version: str, scores: Iterable[float | None]) -> None:
        self.monitor.use(version, self.references.get(version))
        self.monitor.observe(s for s in scores if s is not None)

    def export(self, metrics: Any) -> None:
        metrics.score_drift.set(self.monitor.value())
        metrics.score_drift_windows.set(self.monitor.windows)


def load_reference(version: str, model_dir: Any) -> DriftReference | None:
    """The drift reference of the model in ``model_dir`` if it is ``version`` (module
    docstring: the reference file first, else the manifest's calibration quantiles)."""
    import json  # noqa: PLC0415 - only on model loads
    from pathlib import Path  # noqa: PLC0415

    folder = Path(model_dir)
    for name, key in ((REFERENCE_FILE, None), ("manifest.json", "threshold")):
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("version") != version:
            continue
        reference = DriftReference.from_threshold(version, data[key] if key else data)
        if reference is not None:
            return reference
    return None


def write_reference(model_dir: Any, version: str, scores: np.ndarray, source: str) -> None:
    """Write the reference file beside a model (before it enters the registry)."""
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    quantiles = reference_quantiles(scores)
    if not quantiles:
        return
    body = {"version": version, "source": source, "windows": int(np.isfinite(scores).sum()),
            "score_quantiles": quantiles}
    (Path(model_dir) / REFERENCE_FILE).write_text(json.dumps(body, indent=2) + "\n")
