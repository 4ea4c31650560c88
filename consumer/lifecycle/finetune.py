"""Warm-start fine-tuning: the champion's network trained on, instead of a new one from scratch.

This is the incremental learning BarunRun offers (partial_fit-style, in epochs rather than
per sample): the challenger starts from the champion's weights and keeps its feature spec and
channel scaling (the weights only mean something with the scaling they were trained with),
trains ``finetune_epochs`` epochs at ``finetune_learning_rate`` on

    the new normal windows (archive + labels, training users)
  + a replay sample of older normal windows (the registry's pool, replay.py), at most
    ``replay_ratio`` of them per new window, against catastrophic forgetting,

and is then calibrated afresh with the champion's plan (error scales, then the threshold, on
runners it did not train on): the training set's validation users when there are any
(``calibration``: the val split of ``barunrun dataset --from-archive``), else a
``calibration_split`` of the new runners, as ``barunrun train`` does. Several calibration
runners matter: with one, the error scales and threshold are that runner's, and other runners'
false-alarm rate lands anywhere (measured in docs/model-lifecycle.md). A model that is not a
Keras autoencoder (PCA) has no warm start: retrain it with ``--full``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from consumer.errors import DataError
from consumer.features import FeaturePipeline
from consumer.model.artifact import model_version
from consumer.model.manifest import Manifest, data_fingerprint, file_sha256, read_manifest
from consumer.model.scorer import WindowScorer
from consumer.training.calibrate import CalibrationPlan, calibrate
from consumer.training.data import WindowSet, load_windows, split_groups
from consumer.training.train import TrainOptions, TrainResult
from consumer.windows.rules import WindowConfig

log = logging.getLogger(__name__)

WARM_KINDS = ("lstm_ae", "transformer_ae")


def options_of(manifest: Manifest, **overrides: Any) -> TrainOptions:
    """The champion's training recipe as ``TrainOptions`` (what ``--full`` retrains with)."""
    names = {f.name for f in dataclasses.fields(TrainOptions)} - {"spec"}
    values = {k: v for k, v in manifest.training.items() if k in names}
    if isinstance(values.get("joints"), list):
        values["joints"] = tuple(values["joints"])
    values["spec"] = manifest.feature_spec  # exactly the champion's features
    values.update(overrides)
    return TrainOptions(**values)


@dataclass(frozen=True)
class FinetunePlan:
    epochs: int = 3
    learning_rate: float = 5e-4
    replay_ratio: float = 1.0
    seed: int = 0
    # False: keep the champion's error scales and threshold (only the weights move, a few
    # epochs at a low rate); True: calibrate both afresh on the calibration runners.
    recalibrate: bool = False


def merge(sets: Sequence[WindowSet]) -> WindowSet:
    """One WindowSet of several (each loaded with its own labels file)."""
    offsets = np.cumsum([0, *[len(s.files) for s in sets[:-1]]])
    return WindowSet(
        windows=np.concatenate([s.windows for s in sets]),
        end_frames=np.concatenate([s.end_frames for s in sets]),
        file_index=np.concatenate([s.file_index + o for s, o in zip(sets, offsets, strict=True)])
        .astype(np.int32),
        labels=np.concatenate([s.labels for s in sets]),
        files=tuple(f for s in sets for f in s.files),
        groups=tuple(g for s in sets for g in s.groups),
        views=tuple(v for s in sets for v in s.views),
    )


def finetune(
    champion_dir: Path, new_normal: Sequence[Path], replay: Sequence[Path], out_dir: Path,
    plan: FinetunePlan, calibration: Sequence[Path] = (),
) -> TrainResult:
    """Fine-tune the champion into ``out_dir`` (module docstring); returns what train returns."""
    import keras  # noqa: PLC0415 - TensorFlow only where a model trains

    from consumer.model import networks  # noqa: PLC0415, F401 - registers the custom layers
    from consumer.model.artifact import KERAS_FILE  # noqa: PLC0415
    from consumer.model.keras_runner import KerasReconstructor  # noqa: PLC0415
    from consumer.training.fit import JIT_MIN_STEPS, seed_everything  # noqa: PLC0415

    started = time.perf_counter()
    champion = read_manifest(champion_dir)
    if champion.kind not in WARM_KINDS:
        raise DataError(f"a {champion.kind} model has no warm start; retrain with --full")
    if champion.feature_spec.runner_relative:
        raise DataError(f"{champion.version} reads windows against the runner "
                        "(runner_relative): fine-tuning it is not supported; retrain with --full")
    options = options_of(champion, seed=plan.seed)
    config = options.window_config()
    windows = load_windows(new_normal, config)
    if calibration:
        held_out = load_windows(calibration, config)
        held = set(held_out.groups) - set(windows.groups)
        train_groups = set(windows.groups)
        windows = merge([windows, held_out])
    else:
        train_groups, held = split_groups(windows.groups, options.calibration_split,
                                          options.seed)
    in_training = np.isin(windows.window_groups, sorted(train_groups))
    pipeline = FeaturePipeline(champion.feature_spec)
    scaler = champion.scaling
    batch = pipeline.transform_in_chunks(windows.windows[in_training])
    features, valid, views = batch.features, batch.valid, batch.view
    x_new = scaler.transform(features[valid], views[valid])
    x_replay = _replay_windows(pipeline, scaler, replay, config, len(x_new), plan)
    x = np.concatenate([x_new, x_replay]) if len(x_replay) else x_new
    if len(x_new) < 2:
        raise DataError("fewer than 2 usable new training windows: nothing to fine-tune on")
    log.info("fine-tuning from=%s new_windows=%d replay_windows=%d held_out=%d epochs=%d",
             champion.version, len(x_new), len(x_replay), len(held), plan.epochs)

    seed_everything(plan.seed)
    model = keras.models.load_model(champion_dir / champion.model_file, compile=False,
                                    safe_mode=True)
    # Same rule as a fresh training: XLA's ~10 s compile pays only for long runs.
    steps = max(1, -(-len(x) // options.batch_size)) * plan.epochs
    model.compile(optimizer=keras.optimizers.Adam(plan.learning_rate), loss="mse",
                  jit_compile=steps >= JIT_MIN_STEPS)
    # Shuffled here, not by Keras: validation_split takes the last windows, which would
    # otherwise be all replay windows.
    order = np.random.default_rng(plan.seed).permutation(len(x))
    fitted = model.fit(x[order], x[order], epochs=plan.epochs, batch_size=options.batch_size,
                       validation_split=options.validation_split, shuffle=True, verbose=0)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / KERAS_FILE)

    calibration_plan = CalibrationPlan(
        options.scoring_method(pipeline.spec), options.top_k, options.error_quantile,
        options.threshold_method, options.k, options.quantile, options.seed)
    reconstructor = KerasReconstructor(model, jit=False)
    if plan.recalibrate:
        calibrated = calibrate(
            WindowScorer(pipeline, scaler, reconstructor, np.inf, "calibrating", champion.kind),
            windows, in_training, held, calibration_plan)
        threshold, scoring, metrics = (calibrated.threshold, calibrated.scorer.scoring,
                                       calibrated.metrics)
        scale_runners, threshold_runners = calibrated.scale_runners, calibrated.threshold_runners
    else:
        threshold, scoring = champion.threshold, champion.scoring
        scale_runners = champion.training.get("error_scale_runners", [])
        threshold_runners = champion.training.get("threshold_runners", [])
        scorer = WindowScorer(pipeline, scaler, reconstructor, threshold.value, "check",
                              champion.kind, scoring=scoring)
        held_windows = windows.windows[~in_training]
        scores = scorer.analyse(held_windows).scores if len(held_windows) else np.zeros(0)
        finite = scores[np.isfinite(scores)]
        metrics = {"calibration_windows": int(finite.size),
                   "calibration_false_alarm_rate": float(np.mean(finite > threshold.value))
                   if finite.size else None, "threshold_from": champion.version}
    seconds = time.perf_counter() - started
    history = {k: [float(v) for v in values] for k, values in fitted.history.items()}
    files = list(windows.files)
    manifest = dataclasses.replace(
        champion,
        version=model_version(champion.kind, out_dir / KERAS_FILE),
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        model_file=KERAS_FILE,
        model_sha256=file_sha256(out_dir / KERAS_FILE),
        threshold=threshold,
        scoring=scoring,
        training={
            **champion.training,
            "warm_start": {"from": champion.version, "epochs": plan.epochs,
                           "learning_rate": plan.learning_rate,
                           "new_windows": len(x_new), "replay_windows": len(x_replay),
                           "recalibrated": plan.recalibrate},
            "train_runners": sorted(train_groups),
            "calibration_runners": sorted(held),
            "error_scale_runners": scale_runners,
            "threshold_runners": threshold_runners,
            "train_windows": len(x),
            "rejected_windows": int((~valid).sum()),
            "seconds": round(seconds, 1),
        },
        data={"files": [str(p) for p in files], "fingerprint": data_fingerprint(files),
              "windows": len(windows)},
        metrics=metrics,
        history=history,
    )
    manifest.write(out_dir)  # last: a directory with a manifest is complete
    log.info("fine-tuned model written dir=%s version=%s threshold=%.6g seconds=%.1f",
             out_dir, manifest.version, threshold.value, seconds)
    return TrainResult(out_dir, manifest, seconds)


def _replay_windows(
    pipeline: FeaturePipeline, scaler: Any, replay: Sequence[Path], config: WindowConfig,
    new_count: int, plan: FinetunePlan,
) -> np.ndarray:
    """Scaled feature windows from the replay pool, at most replay_ratio x new_count."""
    limit = int(plan.replay_ratio * new_count)
    if not replay or limit <= 0:
        return np.zeros((0, pipeline.spec.window_size, pipeline.num_channels), np.float32)
    pool: WindowSet = load_windows(replay, config)
    rows = np.arange(len(pool))
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(plan.seed + 1).choice(rows, limit, replace=False))
    batch = pipeline.transform_in_chunks(pool.windows[rows])
    features, valid, views = batch.features, batch.valid, batch.view
    return scaler.transform(features[valid], views[valid])
