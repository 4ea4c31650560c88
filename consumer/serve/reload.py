"""Hot model reload: watch the model directory, load a changed model off the hot path, swap.

A background thread looks at the directory every ``reload_interval_s`` (a cheap ``stat`` of
its files; the directory may be a symlink that deployment re-points). When anything changed,
it loads the model there and checks it (window size, threshold, a canary score). A good one
waits in a slot until the loop swaps it in between two batches; a bad one is refused: the
old model keeps serving, ``barunrun_model_reloads_total{result="refused"}`` counts it and
``barunrun_model_reload_refused`` stays 1 (alertable) until a good model replaces it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from consumer.errors import ModelArtifactError
from consumer.landmarks import FRAME_WIDTH
from consumer.model.base import Scorer
from consumer.serve.metrics import ConsumerMetrics

log = logging.getLogger(__name__)

ScorerLoader = Callable[[Path], Scorer]
Signature = tuple[str, tuple[tuple[str, int, int], ...]]


def default_loader(model_dir: Path, batch_sizes: Sequence[int] | None = None) -> Scorer:
    # TensorFlow is imported only here, where a model is loaded.
    from consumer.model.artifact import DEFAULT_BATCH_SIZES, load_scorer  # noqa: PLC0415

    return load_scorer(model_dir, batch_sizes or DEFAULT_BATCH_SIZES)


def load_checked(model_dir: Path, loader: ScorerLoader, window_size: int) -> Scorer:
    """Load a model and check that this consumer can serve it; ModelArtifactError if not."""
    if not model_dir.is_dir():
        raise ModelArtifactError(f"model directory {model_dir} does not exist")
    try:
        scorer = loader(model_dir)
    except ModelArtifactError:
        raise
    except Exception as exc:  # a broken artifact can fail anywhere inside a model library
        raise ModelArtifactError(f"model in {model_dir} failed to load: {exc!r}") from exc
    if scorer.window_size != window_size:
        raise ModelArtifactError(
            f"model {scorer.version} scores {scorer.window_size}-frame windows but "
            f"window.size is {window_size}"
        )
    if not (math.isfinite(scorer.threshold) and scorer.threshold > 0):
        raise ModelArtifactError(f"model {scorer.version} has threshold {scorer.threshold}")
    try:
        canary = scorer.score(np.zeros((1, window_size, FRAME_WIDTH), dtype=np.float32))
    except Exception as exc:  # same: any failure of a trial score means "do not serve it"
        raise ModelArtifactError(f"model {scorer.version} failed a trial score: {exc!r}") from exc
    if len(canary) != 1:
        raise ModelArtifactError(f"model {scorer.version} returned {len(canary)} scores for 1")
    return scorer


def directory_signature(model_dir: Path) -> Signature:
    """What changes when any file of the model directory changes (or the symlink moves)."""
    real = os.path.realpath(model_dir)
    files: list[tuple[str, int, int]] = []
    try:
        for root, _dirs, names in os.walk(real):
            for name in names:
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue  # removed while we looked; the next look sees the new state
                files.append((os.path.relpath(path, real), st.st_mtime_ns, st.st_size))
    except OSError:
        pass
    return real, tuple(sorted(files))


class ModelReloader:
    """Holds the serving model and a background watcher (see the module docstring)."""

    def __init__(
        self,
        model_dir: Path,
        initial: Scorer,
        window_size: int,
        interval_s: float,
        metrics: ConsumerMetrics,
        loader: ScorerLoader = default_loader,
    ) -> None:
        self._dir = model_dir
        self._current = initial
        self._window_size = window_size
        self._interval_s = interval_s
        self._metrics = metrics
        self._loader = loader
        self._seen = directory_signature(model_dir)
        self._pending: Scorer | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="barunrun-reload", daemon=True)
        metrics.set_model(initial.version)

    @property
    def current(self) -> Scorer:
        return self._current

    def start(self) -> ModelReloader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def swap(self) -> Scorer:
        """Between batches: take a newly loaded model if one waits; return the one to use."""
        with self._lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            previous = self._current
            self._current = pending
            self._metrics.set_model(pending.version, previous.version)
            log.info("model swapped in version=%s previous=%s", pending.version, previous.version)
        return self._current

    def check_now(self) -> None:
        """One look at the directory (the watcher's step; tests call it directly)."""
        signature = directory_signature(self._dir)
        if signature == self._seen:
            return
        self._seen = signature
        try:
            scorer = load_checked(self._dir, self._loader, self._window_size)
        except ModelArtifactError as exc:
            self._metrics.model_reloads.labels("refused").inc()
            self._metrics.model_reload_refused.set(1)
            log.error(
                "model reload refused dir=%s serving=%s reason=%s",
                self._dir, self._current.version, exc,
            )
            return
        self._metrics.model_reloads.labels("loaded").inc()
        self._metrics.model_reload_refused.set(0)
        log.info("model loaded for swap version=%s dir=%s", scorer.version, self._dir)
        with self._lock:
            self._pending = scorer

    def _watch(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.check_now()
