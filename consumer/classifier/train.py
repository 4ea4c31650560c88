"""Train a classifier on labelled windows split by user; choose its threshold; evaluate it.

Steps: features of the train and val users' windows with the one pipeline
(``consumer.features``, the same ``FeatureSpec`` presets as ``barunrun train``); channel
scaling fitted on the training users (the autoencoder's rule); the network fitted with
class-balanced loss weights and early stopping on the val users; the decision threshold
chosen on the val users' probabilities; the test users scored, with the autoencoder beside
it when one is given; the model directory written, manifest last.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from consumer.classifier.data import SplitData
from consumer.classifier.evaluate import Evaluation, classify, evaluate
from consumer.classifier.labels import LabelledWindows
from consumer.classifier.metrics import (
    best_f1_threshold,
    binary_summary,
    json_ready,
    threshold_at_false_alarm,
)
from consumer.classifier.networks import ARCHS, network_params
from consumer.classifier.scorer import WindowClassifier
from consumer.errors import DataError
from consumer.features import ChannelScaler, FeaturePipeline, FeatureSpec
from consumer.model.base import Scorer
from consumer.model.calibration import Threshold
from consumer.model.manifest import KIND_CLASSIFIER, Manifest, data_fingerprint, file_sha256
from consumer.training.train import FeatureChoice, TrainOptions
from consumer.windows.rules import WindowConfig

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, int, dict[str, float]], None]
Decision = Literal["max_f1", "false_alarm", "fixed"]
# A decision threshold must stay strictly inside (0, 1) to be a probability threshold.
EDGE = 1e-6


@dataclass(frozen=True)
class ClassifierOptions:
    arch: str = "lstm"
    fault_head: bool = False
    features: FeatureChoice = "kinematic"
    joints: str | tuple[str, ...] | None = None
    spec: FeatureSpec | None = None  # overrides features/joints (experiments, tests)
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 4
    seed: int = 0
    hop: int = 3  # training windows' stride
    eval_hop: int = 5  # held-out users' windows (as `barunrun evaluate`)
    window_size: int = 30
    max_gap_frames: int = 5
    decision: Decision = "max_f1"
    false_alarm: float = 0.05  # decision "false_alarm": this share of val normal windows
    threshold: float = 0.5  # decision "fixed"
    network: dict[str, Any] = field(default_factory=dict)

    def feature_spec(self) -> FeatureSpec:
        # The autoencoder's presets, so that both models can share one spec.
        return TrainOptions(features=self.features, joints=self.joints, spec=self.spec,
                            window_size=self.window_size).feature_spec()

    def window_config(self, evaluation: bool = False) -> WindowConfig:
        hop = self.eval_hop if evaluation else self.hop
        return WindowConfig(size=self.window_size, hop=hop, max_gap_frames=self.max_gap_frames)


@dataclass(frozen=True)
class ClassifierTrainResult:
    model_dir: Path
    manifest: Manifest
    evaluation: Evaluation | None
    seconds: float


def scaling_method(spec: FeatureSpec) -> str:
    """The autoencoder's rule (``consumer.training.train``): none for raw, per view for
    kinematic features."""
    return {"raw": "none", "body": "standard"}.get(spec.normalization, "per_view")


def choose_threshold(
    y: np.ndarray, probability: np.ndarray, options: ClassifierOptions, source: str
) -> Threshold:
    """The decision threshold on the val users' probabilities (``options.decision``)."""
    keep = np.isfinite(probability)
    y, probability = y[keep].astype(bool), probability[keep].astype(np.float64)
    if options.decision == "max_f1":
        value = best_f1_threshold(y, probability)
    elif options.decision == "false_alarm":
        value = threshold_at_false_alarm(probability[~y], options.false_alarm)
    else:
        value = options.threshold
    value = float(np.clip(value, EDGE, 1.0 - EDGE))
    normal = probability[~y] if (~y).any() else probability
    return Threshold(
        value=value,
        method=options.decision,  # type: ignore[arg-type]  # DECISION_METHODS (manifest.py)
        k=None,
        quantile=1.0 - options.false_alarm if options.decision == "false_alarm" else None,
        n_windows=len(probability),
        score_mean=float(normal.mean()),
        score_std=float(normal.std()),
        score_quantiles={f"p{q}": float(np.quantile(normal, q / 100)) for q in (50, 90, 95, 99)},
        source=source,
    )


def _scaled(pipeline: FeaturePipeline, scaler: ChannelScaler | None, data: LabelledWindows,
            ) -> tuple[np.ndarray, LabelledWindows, ChannelScaler, int]:
    batch = pipeline.transform_in_chunks(data.windows)
    features, valid, views = batch.features, batch.valid, batch.view
    if scaler is None:
        if valid.sum() < 2:
            raise DataError("fewer than 2 usable training windows after the feature rules")
        scaler = ChannelScaler.fit(features[valid], scaling_method(pipeline.spec),  # type: ignore[arg-type]
                                   views[valid], pipeline.view_count)
    return (scaler.transform(features[valid], views[valid]), data.subset(valid), scaler,
            int((~valid).sum()))


def train_classifier(
    split: SplitData,
    out_dir: str | Path,
    options: ClassifierOptions | None = None,
    autoencoder: Scorer | None = None,
    progress: ProgressFn | None = None,
) -> ClassifierTrainResult:
    """Train, choose the threshold, evaluate on the test users and write ``out_dir``."""
    options = options or ClassifierOptions()
    if options.arch not in ARCHS:
        raise DataError(f"unknown arch {options.arch!r}; choose from {', '.join(ARCHS)}")
    for name, part in (("train", split.train), ("val", split.val)):
        if not part.bad_form.any() or part.bad_form.all():
            raise DataError(f"the {name} users need both normal and bad-form windows "
                            f"({int(part.bad_form.sum())} of {len(part)} are bad form)")
    fault_head = options.fault_head and len(split.train.faults) >= 2
    if options.fault_head and not fault_head:
        log.warning("fault head skipped: the training users name %d fault(s), it needs 2",
                    len(split.train.faults))
    started = time.perf_counter()
    out_dir = Path(out_dir)
    pipeline = FeaturePipeline(options.feature_spec())
    x_train, train, scaler, rejected = _scaled(pipeline, None, split.train)
    x_val, val, _, _ = _scaled(pipeline, scaler, split.val)
    log.info("training classifier arch=%s windows=%d (bad form %d, rejected %d) val=%d "
             "channels=%d faults=%d", options.arch, len(train), int(train.bad_form.sum()),
             rejected, len(val), pipeline.num_channels, len(train.faults) if fault_head else 0)
    from consumer.classifier.artifact import KERAS_FILE, classifier_version  # noqa: PLC0415
    from consumer.classifier.fit import FitSettings, fit_classifier  # noqa: PLC0415 - loads TF
    from consumer.classifier.runner import KerasClassifier  # noqa: PLC0415

    network = network_params(options.arch, options.network)
    fitted = fit_classifier(
        x_train, train, x_val, val,
        FitSettings(options.arch, options.epochs, options.batch_size, options.learning_rate,
                    options.patience, options.seed, network),
        fault_head, progress,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    fitted.model.save(out_dir / KERAS_FILE)
    faults = train.faults if fault_head else ()
    version = classifier_version(out_dir / KERAS_FILE)
    # Threshold and evaluation score once: not worth an XLA compilation (serving uses XLA).
    classifier = WindowClassifier(pipeline, scaler, KerasClassifier(fitted.model, jit=False),
                                  0.5, version, faults)
    val_probability, _ = classify(classifier, split.val.windows)
    threshold = choose_threshold(split.val.bad_form.astype(bool), val_probability, options,
                                 f"validation users: {len(split.users['val'])}")
    classifier = classifier.with_threshold(threshold.value)
    evaluation = evaluate(classifier, split.test, autoencoder) if split.test is not None \
        and len(split.test) else None
    seconds = time.perf_counter() - started
    manifest = Manifest(
        version=version,
        kind=KIND_CLASSIFIER,
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        model_file=KERAS_FILE,
        model_sha256=file_sha256(out_dir / KERAS_FILE),
        feature_spec=pipeline.spec,
        channels=list(pipeline.channel_names),
        scaling=scaler,
        threshold=threshold,
        training={
            **{k: v for k, v in asdict(options).items() if k not in ("spec", "network")},
            "joints": pipeline.spec.joints,
            "users": split.users,
            "train_windows": len(train),
            "train_bad_form_windows": int(train.bad_form.sum()),
            "val_windows": len(val),
            "rejected_windows": rejected,
            "best_epoch": fitted.best_epoch,
            "epochs_run": fitted.epochs_run,
            "seconds": round(seconds, 1),
        },
        data={"files": [str(p) for p in split.files],
              "fingerprint": data_fingerprint(split.files)},
        metrics=json_ready({
            "validation": binary_summary(split.val.bad_form, val_probability, threshold.value),
            **({"test": evaluation.summary} if evaluation is not None else {}),
        }),
        history=fitted.history,
        classifier={
            "arch": options.arch,
            "faults": list(faults),
            "network": network,
            "decision": {"method": options.decision, "false_alarm": options.false_alarm}
            if options.decision == "false_alarm" else {"method": options.decision},
        },
    )
    manifest.write(out_dir)  # last: a directory with a manifest is complete
    log.info("classifier written dir=%s version=%s threshold=%.4g seconds=%.1f",
             out_dir, version, threshold.value, seconds)
    return ClassifierTrainResult(out_dir, manifest, evaluation, seconds)
