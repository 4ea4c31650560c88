"""Classifier model directories: load one as a ``WindowClassifier``.

The directory is the autoencoder's format (``consumer.model.manifest``) with ``kind:
classifier``: ``manifest.json`` (feature spec, channels, scaling, the decision threshold, the
fault names) and ``model.keras``, checked in the same order as ``load_scorer`` checks an
autoencoder (manifest, channels this code computes, file checksum) and loaded with
``safe_mode=True``. Every failure is a ``ModelArtifactError`` naming the file and what to do.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from consumer.classifier.scorer import WindowClassifier
from consumer.errors import ModelArtifactError
from consumer.model.artifact import checked_files, load_keras_model
from consumer.model.keras_runner import DEFAULT_BATCH_SIZES
from consumer.model.manifest import KIND_CLASSIFIER, file_sha256, read_manifest

log = logging.getLogger(__name__)

KERAS_FILE = "model.keras"


def classifier_version(model_path: Path, created: float | None = None) -> str:
    """``clf-YYYYMMDD-xxxxxxxx``: date and a hash of the model file (as ``ae-...``)."""
    day = time.strftime("%Y%m%d", time.gmtime(created if created is not None else time.time()))
    digest = hashlib.sha256(bytes.fromhex(file_sha256(model_path))).hexdigest()[:8]
    return f"clf-{day}-{digest}"


def load_classifier(
    model_dir: str | Path, batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES, jit: bool = True
) -> WindowClassifier:
    """Load a classifier directory once and return a ready, traced ``WindowClassifier``."""
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    where = model_dir / "manifest.json"
    if manifest.kind != KIND_CLASSIFIER:
        raise ModelArtifactError(
            f"{where}: kind {manifest.kind!r} is an autoencoder, not a classifier; give the "
            "directory `barunrun train-classifier --out` wrote"
        )
    pipeline, model_path = checked_files(model_dir, manifest, "classifier")
    faults = tuple(manifest.classifier["faults"])
    predictor = _load_keras(
        model_path, manifest.feature_spec.window_size, pipeline.num_channels, len(faults),
        batch_sizes, jit,
    )
    log.info("classifier loaded version=%s arch=%s channels=%d faults=%d threshold=%.4g",
             manifest.version, manifest.classifier.get("arch"), pipeline.num_channels,
             len(faults), manifest.threshold.value)
    return WindowClassifier(pipeline, manifest.scaling, predictor, manifest.threshold.value,
                            manifest.version, faults)


def _load_keras(
    model_path: Path, window: int, channels: int, faults: int, batch_sizes: Sequence[int],
    jit: bool,
):  # -> KerasClassifier (imported lazily: TensorFlow loads only here)
    from consumer.classifier.networks import BAD_FORM, FAULT  # noqa: PLC0415
    from consumer.classifier.runner import KerasClassifier, output_shapes  # noqa: PLC0415

    model = load_keras_model(model_path)
    expected = {BAD_FORM: (None, 1), **({FAULT: (None, faults)} if faults else {})}
    found = output_shapes(model)
    if tuple(model.input_shape) != (None, window, channels) or found != expected:
        raise ModelArtifactError(
            f"{model_path} maps {model.input_shape} -> {found}, the manifest says "
            f"{(None, window, channels)} -> {expected}; the model file does not belong to "
            "this manifest: retrain"
        )
    return KerasClassifier(model, batch_sizes, jit=jit)
