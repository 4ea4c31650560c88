"""The loop's ``ModelSource`` when a classifier is served: one reloader per model.

Each served model (``[model] dir`` for the autoencoder, ``[model] classifier_dir`` for the
classifier) has its own ``ModelReloader``: it watches its own directory, loads and checks a
changed model off the hot path (a refused one keeps the old model serving) and reports its
version in ``barunrun_model_info``. ``DetectorModels.swap`` takes whatever each reloader has
ready between two batches and combines the current models into one ``DetectorScorer``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from consumer.gait.serving import AUTOENCODER, CLASSIFIER
from consumer.model.base import Scorer
from consumer.serve.detectors import MODEL_DETECTORS, DetectorScorer
from consumer.serve.metrics import ConsumerMetrics
from consumer.serve.reload import ModelReloader, ScorerLoader


def load_classifier_checked(model_dir: Path, batch_sizes: Sequence[int] | None = None) -> Scorer:
    """The default classifier loader (``load_checked`` then checks it as it checks the
    autoencoder). TensorFlow is imported only here, where a classifier is loaded."""
    from consumer.classifier.artifact import DEFAULT_BATCH_SIZES, load_classifier  # noqa: PLC0415

    return load_classifier(model_dir, batch_sizes or DEFAULT_BATCH_SIZES)



class DetectorModels:
    """``ModelSource`` over one reloader per served model (see the module docstring)."""

    def __init__(
        self, autoencoder: ModelReloader | None, classifier: ModelReloader | None
    ) -> None:
        self._reloaders = {name: r for name, r in
                           ((AUTOENCODER, autoencoder), (CLASSIFIER, classifier)) if r}
        self._lock = threading.Lock()
        self._members: tuple[Scorer | None, Scorer | None] = (None, None)
        self._current = self._combine(
            autoencoder.current if autoencoder else None,
            classifier.current if classifier else None,
        )

    @classmethod
    def build(
        cls,
        autoencoder: tuple[Path, Scorer, ScorerLoader] | None,
        classifier: tuple[Path, Scorer, ScorerLoader] | None,
        window_size: int,
        interval_s: float,
        metrics: ConsumerMetrics,
    ) -> DetectorModels:
        def reloader(spec: tuple[Path, Scorer, ScorerLoader] | None) -> ModelReloader | None:
            if spec is None:
                return None
            path, scorer, loader = spec
            return ModelReloader(path, scorer, window_size, interval_s, metrics, loader)

        return cls(reloader(autoencoder), reloader(classifier))

    def _combine(self, autoencoder: Scorer | None, classifier: Scorer | None) -> DetectorScorer:
        self._members = (autoencoder, classifier)
        return DetectorScorer(autoencoder, classifier)

    @property
    def current(self) -> DetectorScorer:
        return self._current

    def reloader(self, name: str) -> ModelReloader | None:
        return self._reloaders.get(name)

    def swap(self) -> DetectorScorer:
        """Between batches: take newly loaded models; return the combination to use."""
        with self._lock:
            members = tuple(
                self._reloaders[name].swap() if name in self._reloaders else None
                for name in MODEL_DETECTORS
            )
            if any(a is not b for a, b in zip(members, self._members, strict=True)):
                self._current = self._combine(members[0], members[1])
            return self._current

    def check_now(self) -> None:
        for reloader in self._reloaders.values():
            reloader.check_now()

    def start(self) -> DetectorModels:
        for reloader in self._reloaders.values():
            reloader.start()
        return self

    def stop(self) -> None:
        for reloader in self._reloaders.values():
            reloader.stop()
