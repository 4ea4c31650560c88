"""Train a posture model on normal recordings and calibrate its threshold on held-out runners.

Steps: cut windows by the serving rules; split runners into training and calibration (never
calibrate on windows the model trained on, unless ``calibration_split`` is 0, which is the seed
recipe); compute features with the one pipeline; fit channel statistics and the model; score
the calibration runners through the same scorer the consumer uses; write the model directory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from consumer.errors import DataError
from consumer.features import ChannelScaler, FeaturePipeline, FeatureSpec
from consumer.features.runner_level import fit_level_scaling, relative_inputs
from consumer.model.artifact import model_version
from consumer.model.manifest import Manifest, data_fingerprint, file_sha256
from consumer.model.pca import KIND_PCA, PCA_FILE, PcaReconstructor
from consumer.model.scorer import Reconstructor, WindowScorer
from consumer.model.scoring import DEFAULT_ERROR_QUANTILE, DEFAULT_TOP_K, deviation_scales
from consumer.training.calibrate import CalibrationPlan, calibrate
from consumer.training.data import load_windows, split_groups
from consumer.windows.rules import WindowConfig

log = logging.getLogger(__name__)

ModelChoice = Literal["lstm", "transformer", "pca"]
MODEL_KINDS = MappingProxyType({"lstm": "lstm_ae", "transformer": "transformer_ae", "pca": "pca"})
ProgressFn = Callable[[int, int, int, dict[str, float]], None]
TRAIN_SCORE_WINDOWS = 20000  # training windows scored for the manifest's metrics


FeatureChoice = Literal["kinematic", "body", "raw"]


@dataclass(frozen=True)
class TrainOptions:
    features: FeatureChoice = "kinematic"
    model: ModelChoice = "lstm"
    joints: str | tuple[str, ...] | None = None  # None: the feature preset's joints
    spec: FeatureSpec | None = None  # overrides features/joints entirely (experiments)
    epochs: int = 15
    batch_size: int = 32
    seed: int = 0
    calibration_split: float = 0.2
    threshold_method: Literal["mean_std", "quantile"] = "quantile"
    k: float = 3.0
    quantile: float = 0.97
    # "auto": normalized_top_k for body and kinematic features, mean for raw (the seed's).
    scoring: Literal["auto", "mean", "normalized_top_k"] = "auto"
    top_k: int = DEFAULT_TOP_K
    error_quantile: float = DEFAULT_ERROR_QUANTILE
    validation_split: float = 0.1
    learning_rate: float = 2e-3
    hop: int = 2  # training windows' stride (the seed used 1)
    window_size: int = 30
    max_gap_frames: int = 5
    network: dict[str, Any] = field(default_factory=dict)  # e.g. {"units": 64}
    pca_variance: float = 0.95
    runner_relative: bool = False  # FeatureSpec.runner_relative (kinematic and body features)
    gait_channels: bool = False  # FeatureSpec.gait_channels (runner_relative kinematic only)

    def feature_spec(self) -> FeatureSpec:
        if self.spec is not None:
            return self.spec
        if self.features == "raw":
            if self.runner_relative:
                raise DataError("--runner-relative needs kinematic or body features")
            return FeatureSpec.raw(self.joints or "all", self.window_size)
        if self.features == "body":
            return FeatureSpec.body(self.joints or "running", window_size=self.window_size,
                                    runner_relative=self.runner_relative)
        return FeatureSpec(joints=self.joints or "running", window_size=self.window_size,
                           runner_relative=self.runner_relative,
                           gait_channels=self.gait_channels)

    def scoring_method(self, spec: FeatureSpec) -> str:
        if self.scoring != "auto":
            return self.scoring
        return "mean" if spec.normalization == "raw" else "normalized_top_k"

    def window_config(self) -> WindowConfig:
        return WindowConfig(size=self.window_size, hop=self.hop, max_gap_frames=self.max_gap_frames)


@dataclass(frozen=True)
class TrainResult:
    model_dir: Path
    manifest: Manifest
    seconds: float


def train(
    normal_paths: Sequence[str | Path],
    out_dir: str | Path,
    options: TrainOptions | None = None,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train, calibrate and write a model directory to ``out_dir``; see the module docstring."""
    options = options or TrainOptions()
    if options.model not in MODEL_KINDS:
        raise DataError(f"unknown model {options.model!r}; choose from {', '.join(MODEL_KINDS)}")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    windows = load_windows(normal_paths, options.window_config())
    train_groups, held_groups = split_groups(
        windows.groups, options.calibration_split, options.seed
    )
    in_training = np.isin(windows.window_groups, sorted(train_groups))
    pipeline = FeaturePipeline(options.feature_spec())
    training_part = windows.subset(in_training)
    batch = pipeline.transform_in_chunks(training_part.windows)
    features, valid, views = batch.features, batch.valid, batch.view
    if valid.sum() < 2:
        raise DataError("fewer than 2 usable training windows after the feature rules")
    scaling = {"raw": "none", "body": "standard"}.get(pipeline.spec.normalization, "per_view")
    level_scaling, deviation_scale = None, None
    if pipeline.spec.runner_relative:
        level_scaling = fit_level_scaling(features[valid], batch.gait[valid], views[valid],
                                          pipeline.view_count, scaling)
        relative = relative_inputs(features, valid, views, training_part.runs,
                                   level_scaling.std, batch.gait)
        features = relative.features
        deviation_scale = deviation_scales(relative.deviations[valid], views[valid],
                                           pipeline.view_count)
    scaler = ChannelScaler.fit(features[valid], scaling, views[valid], pipeline.view_count)
    x = scaler.transform(features[valid], views[valid])
    log.info(
        "training kind=%s windows=%d (rejected %d) channels=%d runners=%d held_out=%d",
        MODEL_KINDS[options.model], len(x), int((~valid).sum()), x.shape[-1],
        len(train_groups), len(held_groups),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    kind = MODEL_KINDS[options.model]
    reconstructor, model_file, history, network = _fit_and_save(kind, x, options, out_dir, progress)
    plan = CalibrationPlan(
        options.scoring_method(pipeline.spec), options.top_k, options.error_quantile,
        options.threshold_method, options.k, options.quantile, options.seed)
    calibrated = calibrate(WindowScorer(pipeline, scaler, reconstructor, np.inf, "calibrating",
                                        kind, level_scaling=level_scaling),
                           windows, in_training, held_groups, plan, deviation_scale)
    threshold = calibrated.threshold
    first = training_part.subset(np.arange(min(len(training_part), TRAIN_SCORE_WINDOWS)))
    train_scores = calibrated.scorer.analyse(first.windows, first.runs).scores
    train_scores = train_scores[np.isfinite(train_scores)]
    seconds = time.perf_counter() - started
    manifest = Manifest(
        version=model_version(kind, out_dir / model_file),
        kind=kind,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        model_file=model_file,
        model_sha256=file_sha256(out_dir / model_file),
        feature_spec=pipeline.spec,
        channels=list(pipeline.channel_names),
        scaling=scaler,
        threshold=threshold,
        training={
            **{k: v for k, v in asdict(options).items() if k not in ("spec", "network")},
            "joints": pipeline.spec.joints,
            "network": network,
            "train_runners": sorted(train_groups),
            "calibration_runners": sorted(held_groups),
            "error_scale_runners": calibrated.scale_runners,
            "threshold_runners": calibrated.threshold_runners,
            "train_windows": len(x),
            "rejected_windows": int((~valid).sum()),
            "seconds": round(seconds, 1),
        },
        data={
            "files": [str(p) for p in windows.files],
            "fingerprint": data_fingerprint(windows.files),
            "windows": len(windows),
        },
        metrics={
            "train_score_mean": float(np.mean(train_scores)),
            "train_false_alarm_rate": float(np.mean(train_scores > threshold.value)),
            **calibrated.metrics,
        },
        history=history,
        scoring=calibrated.scorer.scoring,
        level_scaling=level_scaling,
    )
    manifest.write(out_dir)  # last: a directory with a manifest is complete
    log.info("model written dir=%s version=%s threshold=%.6g seconds=%.1f",
             out_dir, manifest.version, threshold.value, seconds)
    return TrainResult(out_dir, manifest, seconds)


def _fit_and_save(
    kind: str, x: np.ndarray, options: TrainOptions, out_dir: Path, progress: ProgressFn | None
) -> tuple[Reconstructor, str, dict[str, list[float]], dict[str, Any]]:
    if kind == KIND_PCA:
        pca = PcaReconstructor.fit(x, options.pca_variance)
        pca.save(out_dir / PCA_FILE)
        if progress:
            progress(0, 1, 1, {})
        network = {"variance": options.pca_variance, "components": pca.n_components}
        return pca, PCA_FILE, {}, network
    from consumer.model.artifact import KERAS_FILE  # noqa: PLC0415
    from consumer.model.keras_runner import KerasReconstructor  # noqa: PLC0415 - loads TF
    from consumer.training.fit import fit_autoencoder  # noqa: PLC0415

    network = {"units": 64} if kind == "lstm_ae" else {"dim": 64, "heads": 4, "blocks": 2,
                                                        "latent": 32}
    network.update(options.network)
    fitted = fit_autoencoder(
        kind, x, options.epochs, options.batch_size, options.validation_split,
        options.learning_rate, options.seed, network, progress,
    )
    fitted.model.save(out_dir / KERAS_FILE)
    # Calibration scores once: not worth an XLA compilation (serving loads with XLA).
    return KerasReconstructor(fitted.model, jit=False), KERAS_FILE, fitted.history, network
