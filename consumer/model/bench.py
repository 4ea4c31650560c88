"""Scoring throughput of a model directory: ``python -m consumer.model.bench MODEL_DIR``.

Scores random-but-plausible windows (a real recording's windows when ``--windows`` names an
.npy file) through the same ``Scorer.score`` the consumer calls, and prints windows/s per batch
size, with the feature pipeline's share.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

import numpy as np

from consumer.model.artifact import load_scorer
from consumer.model.scorer import WindowScorer


def measure(scorer_dir: str, batch: int, seconds: float, windows: np.ndarray) -> dict[str, float]:
    return measure_scorer(load_scorer(scorer_dir), batch, seconds, windows)


def measure_scorer(
    scorer: WindowScorer, batch: int, seconds: float, windows: np.ndarray
) -> dict[str, float]:
    """``measure`` for a loaded scorer (``barunrun bench`` loads its model once)."""
    rng = np.random.default_rng(0)
    picks = windows[rng.integers(0, len(windows), batch)]
    scorer.score(picks)  # warm caches
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        scorer.score(picks)
        done += batch
    total = time.perf_counter() - started
    feature_started = time.perf_counter()
    reps = max(1, done // batch // 4)
    for _ in range(reps):
        scorer.pipeline.transform(picks)
    feature_ms = (time.perf_counter() - feature_started) / reps * 1000
    return {
        "batch": batch,
        "windows_per_s": done / total,
        "ms_per_batch": total / (done / batch) * 1000,
        "feature_ms_per_batch": feature_ms,
    }


def synthetic_windows(count: int = 1024, size: int = 30) -> np.ndarray:
    """Smooth random landmark tracks with high visibility: scoring cost does not depend on form."""
    rng = np.random.default_rng(1)
    base = rng.uniform(0.3, 0.7, (count, 1, 33, 4))
    drift = np.cumsum(rng.normal(0, 0.003, (count, size, 33, 4)), axis=1)
    windows = base + drift
    windows[..., 3] = 0.95
    return windows.reshape(count, size, 132).astype(np.float32)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model_dir")
    parser.add_argument("--batch", type=int, nargs="+", default=[256, 32, 1000])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--windows", help=".npy file of (N, 30, 132) windows")
    args = parser.parse_args(argv)
    windows = np.load(args.windows) if args.windows else synthetic_windows()
    for batch in args.batch:
        print(json.dumps(measure(args.model_dir, batch, args.seconds, windows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
