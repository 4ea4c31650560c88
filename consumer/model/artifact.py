"""Model directories: write one, and load one as a ``Scorer`` (the consumer's entry point).

A model directory holds ``manifest.json`` (see ``consumer.model.manifest``) and the model file:
``model.keras`` for the autoencoders, loaded with ``safe_mode=True``, or ``pca.npz`` for the
PCA baseline. TensorFlow is imported only when a Keras model is loaded.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from consumer.errors import ModelArtifactError
from consumer.features import FeaturePipeline
from consumer.model.manifest import KIND_CLASSIFIER, Manifest, file_sha256, read_manifest
from consumer.model.pca import KIND_PCA, PcaReconstructor
from consumer.model.scorer import Reconstructor, WindowScorer

log = logging.getLogger(__name__)

KERAS_FILE = "model.keras"
DEFAULT_BATCH_SIZES: tuple[int, ...] = (32, 128, 256)


def model_version(kind: str, model_path: Path, created: float | None = None) -> str:
    """``ae-YYYYMMDD-xxxxxxxx`` (``pca-...`` for PCA): date and a hash of the model file."""
    prefix = "pca" if kind == KIND_PCA else "ae"
    day = time.strftime("%Y%m%d", time.gmtime(created if created is not None else time.time()))
    digest = hashlib.sha256(bytes.fromhex(file_sha256(model_path))).hexdigest()[:8]
    return f"{prefix}-{day}-{digest}"


def load_scorer(
    model_dir: str | Path, batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES
) -> WindowScorer:
    """Load a model directory once and return a ready, warmed-up ``Scorer``.

    Raises ``ModelArtifactError`` naming what is wrong and what to do when the directory is
    missing, corrupt, truncated or written for another version of this code: a hot reload can
    refuse it and keep serving the old model.
    """
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    if manifest.kind == KIND_CLASSIFIER:  # same family, other loader: say which
        raise ModelArtifactError(
            f"{model_dir} holds a classifier ({manifest.version}), not an autoencoder: serve it "
            "with [model] classifier_dir and [detectors] enabled = [\"classifier\", ...]"
        )
    pipeline, model_path = checked_files(model_dir, manifest, "model")
    where = model_dir / "manifest.json"
    if manifest.feature_spec.runner_relative and (
            manifest.level_scaling is None
            or manifest.level_scaling.channels != pipeline.runner_channels):
        raise ModelArtifactError(f"{where}: a runner_relative model needs level_scaling for "
                                 "its channels and gait channels; retrain it")
    if manifest.scoring.method != "mean" and (
            manifest.scoring.scale.shape[-1] != pipeline.num_scored_channels):
        raise ModelArtifactError(f"{where}: error scales do not match the feature channels")
    reconstructor = _load_reconstructor(manifest, model_path, pipeline, batch_sizes)
    log.info(
        "model loaded version=%s kind=%s channels=%d threshold=%.6g",
        manifest.version, manifest.kind, pipeline.num_channels, manifest.threshold.value,
    )
    return WindowScorer(
        pipeline,
        manifest.scaling,
        reconstructor,
        manifest.threshold.value,
        manifest.version,
        manifest.kind,
        scoring=manifest.scoring,
        level_scaling=manifest.level_scaling,
    )


def load_manifest(model_dir: str | Path) -> Manifest:
    """The manifest alone (no TensorFlow): for reload checks, reports and the CLI."""
    return read_manifest(Path(model_dir))


def checked_files(model_dir: Path, manifest: Manifest, what: str) -> tuple[FeaturePipeline, Path]:
    """The feature pipeline a model directory's manifest asks for, and its model file, once
    both are checked: the same channels as this code computes, matching scaling statistics,
    the file present and unchanged (its checksum). ``what`` names the model in messages."""
    pipeline = FeaturePipeline(manifest.feature_spec)
    where = model_dir / "manifest.json"
    if list(pipeline.channel_names) != manifest.channels:
        raise ModelArtifactError(
            f"{where}: the {what} was trained on {len(manifest.channels)} feature channels that "
            f"differ from the {pipeline.num_channels} this code computes for its feature spec; "
            "retrain it with this version of BarunRun"
        )
    if manifest.scaling.channels != pipeline.num_channels:
        raise ModelArtifactError(f"{where}: scaling statistics do not match the feature channels")
    model_path = model_dir / manifest.model_file
    if not model_path.is_file():
        raise ModelArtifactError(
            f"{model_path} is missing; copy the whole model directory, or retrain"
        )
    if file_sha256(model_path) != manifest.model_sha256:
        raise ModelArtifactError(
            f"{model_path} does not match the checksum in its manifest: the file is corrupt, "
            "truncated or from another training run; copy the model directory again or retrain"
        )
    return pipeline, model_path


def _load_reconstructor(
    manifest: Manifest, model_path: Path, pipeline: FeaturePipeline, batch_sizes: Sequence[int]
) -> Reconstructor:
    window, channels = manifest.feature_spec.window_size, pipeline.num_channels
    if manifest.kind == KIND_PCA:
        try:
            pca = PcaReconstructor.load(model_path)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelArtifactError(f"{model_path} cannot be read as a PCA model ({exc})") from exc
        if (pca.window, pca.channels) != (window, channels):
            raise ModelArtifactError(
                f"{model_path} expects windows ({pca.window}, {pca.channels}), the manifest "
                f"({window}, {channels}); retrain"
            )
        return pca
    return _load_keras(model_path, window, channels, batch_sizes)


def load_keras_model(model_path: Path):  # -> keras.Model (TensorFlow loads only here)
    """A model file loaded the one way BarunRun loads any: Keras safe mode (a ``Lambda`` layer
    carrying code is refused, never run), no optimizer state, a bad file a clear error."""
    import keras  # noqa: PLC0415 - TensorFlow loads only when a Keras model is served

    from consumer.model import networks  # noqa: PLC0415, F401 - registers the custom layers

    try:
        return keras.models.load_model(model_path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file; all mean the same here
        raise ModelArtifactError(
            f"{model_path} cannot be loaded as a Keras model ({type(exc).__name__}: {exc}); "
            "copy the model directory again or retrain"
        ) from exc


def _load_keras(
    model_path: Path, window: int, channels: int, batch_sizes: Sequence[int]
) -> Reconstructor:
    from consumer.model.keras_runner import KerasReconstructor  # noqa: PLC0415

    model = load_keras_model(model_path)
    expected = (None, window, channels)
    if tuple(model.input_shape) != expected or tuple(model.output_shape) != expected:
        raise ModelArtifactError(
            f"{model_path} maps {model.input_shape} -> {model.output_shape}, the manifest says "
            f"{expected}; the model file does not belong to this manifest: retrain"
        )
    return KerasReconstructor(model, batch_sizes)
