"""Fitting the Keras autoencoders: seeded, deterministic, with progress reported per batch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from consumer.model.networks import build_network

log = logging.getLogger(__name__)

# (epoch index, batch index, batches per epoch, logs): called after every batch and epoch end.
JIT_MIN_STEPS = 2000
ProgressFn = Callable[[int, int, int, dict[str, float]], None]


@dataclass(frozen=True)
class FitResult:
    model: keras.Model
    history: dict[str, list[float]]


class ProgressCallback(keras.callbacks.Callback):
    """Keras callback that reports batches and epochs to a ``ProgressFn`` (the CLI's bar)."""

    def __init__(self, progress: ProgressFn, steps: int) -> None:
        super().__init__()
        self.progress, self.steps, self.epoch = progress, steps, 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.progress(self.epoch, batch + 1, self.steps, {})

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = {k: float(v) for k, v in (logs or {}).items()}
        self.progress(epoch, self.steps, self.steps, values)


def seed_everything(seed: int) -> None:
    """Same seed, same model: seeds Python, numpy and TensorFlow.

    TF's op determinism is not switched on: it turns XLA off in Keras, which costs 2-3x in
    training time on CPU, and the XLA-compiled CPU training here is already bit-for-bit
    repeatable (tests/unit/model/test_artifact.py checks it).
    """
    keras.utils.set_random_seed(seed)


def fit_autoencoder(
    kind: str,
    features: np.ndarray,
    epochs: int,
    batch_size: int,
    validation_split: float,
    learning_rate: float,
    seed: int,
    network: dict[str, Any],
    progress: ProgressFn | None = None,
) -> FitResult:
    """Train an autoencoder to reconstruct (N, T, F) scaled features (Adam, MSE)."""
    seed_everything(seed)
    _, window, channels = features.shape
    model = build_network(kind, window, channels, **network)
    # Keras takes the validation windows from the end, as the seed did; files are in order,
    # so they are the last runners' windows rather than neighbours of training windows.
    train_count = len(features) - int(len(features) * validation_split)
    steps = max(1, -(-train_count // batch_size))
    # XLA makes a CPU training step 2-3x faster but costs ~10 s to compile: worth it only
    # for the real recipes, not for the quick models of tests.
    jit = steps * epochs >= JIT_MIN_STEPS
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", jit_compile=jit)
    callbacks = [ProgressCallback(progress, steps)] if progress else []
    fitted = model.fit(
        features,
        features,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=validation_split if validation_split > 0 else 0.0,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    history = {k: [float(v) for v in values] for k, values in fitted.history.items()}
    return FitResult(model, history)


def save_keras(model: keras.Model, path: Path) -> None:
    model.save(path)
