"""Fitting a classifier network: class-weighted losses, early stopping on held-out users."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from consumer.classifier.labels import LabelledWindows, sample_weights
from consumer.classifier.networks import BAD_FORM, FAULT, build_classifier
from consumer.training.fit import JIT_MIN_STEPS, ProgressCallback, seed_everything

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, int, dict[str, float]], None]


@dataclass(frozen=True)
class FitSettings:
    arch: str
    epochs: int
    batch_size: int
    learning_rate: float
    patience: int
    seed: int
    network: dict[str, Any]


@dataclass(frozen=True)
class ClassifierFit:
    model: keras.Model
    history: dict[str, list[float]]
    best_epoch: int  # 1-based epoch whose weights were kept
    epochs_run: int


def targets(data: LabelledWindows, fault_head: bool) -> tuple[dict[str, np.ndarray],
                                                               dict[str, np.ndarray]]:
    """Keras targets and per-window loss weights for one split."""
    weights = sample_weights(data)
    y = {BAD_FORM: data.bad_form.reshape(-1, 1)}
    w = {BAD_FORM: weights[BAD_FORM]}
    if fault_head:
        # Unknown faults get index 0 with weight 0: a valid target that teaches nothing.
        y[FAULT] = np.maximum(data.fault, 0)
        w[FAULT] = weights[FAULT]
    return y, w


def fit_classifier(
    x_train: np.ndarray,
    train: LabelledWindows,
    x_val: np.ndarray,
    val: LabelledWindows,
    settings: FitSettings,
    fault_head: bool,
    progress: ProgressFn | None = None,
) -> ClassifierFit:
    """Train on scaled features; stop when the val users' loss stops improving."""
    seed_everything(settings.seed)
    _, window, channels = x_train.shape
    faults = len(train.faults) if fault_head else 0
    model = build_classifier(settings.arch, window, channels, faults, **settings.network)
    y_train, w_train = targets(train, bool(faults))
    y_val, w_val = targets(val, bool(faults))
    losses = {BAD_FORM: "binary_crossentropy"}
    if faults:
        losses[FAULT] = "sparse_categorical_crossentropy"
    steps = max(1, -(-len(x_train) // settings.batch_size))
    # As for the autoencoder: XLA pays for its ~10 s compile only on real training runs.
    jit = steps * settings.epochs >= JIT_MIN_STEPS
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss=losses,
                  jit_compile=jit)
    # The val loss is class-weighted like the training loss, so a model that gives up on the
    # rare class does not look better on it; the best epoch's weights are kept. With a fault
    # head it is the bad-form head's loss that decides: the fault head (12 classes, fewer
    # windows each) overfits new runners epochs before the bad-form head does, and it is
    # the bad-form probability that flags windows.
    monitor = f"val_{BAD_FORM}_loss" if faults else "val_loss"
    stopper = keras.callbacks.EarlyStopping(
        monitor=monitor, mode="min", patience=settings.patience, restore_best_weights=True,
        verbose=0)
    callbacks: list[keras.callbacks.Callback] = [stopper]
    if progress:
        callbacks.append(ProgressCallback(progress, steps))
    fitted = model.fit(
        x_train, y_train, sample_weight=w_train,
        validation_data=(x_val, y_val, w_val),
        epochs=settings.epochs, batch_size=settings.batch_size, shuffle=True, verbose=0,
        callbacks=callbacks,
    )
    history = {k: [float(v) for v in values] for k, values in fitted.history.items()}
    val_loss = history.get(monitor, [])
    best = int(np.argmin(val_loss)) + 1 if val_loss else len(history.get("loss", []))
    log.info("classifier fitted arch=%s epochs_run=%d best_epoch=%d jit=%s",
             settings.arch, len(history.get("loss", [])), best, jit)
    return ClassifierFit(model, history, best, len(history.get("loss", [])))
