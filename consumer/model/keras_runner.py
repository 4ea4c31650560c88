"""Runs a Keras autoencoder over batches with a compiled ``tf.function`` at fixed batch shapes.

``model.predict`` costs tens of milliseconds per call whatever the batch; a traced function over
a few fixed shapes costs only the arithmetic. Batches are split into chunks of the largest
configured size and the rest is zero-padded up to the smallest size that holds it, so the
function is traced once per configured size (at load time) and never again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZES: tuple[int, ...] = (32, 128, 256)


def batch_plan(n: int, sizes: Sequence[int]) -> list[tuple[int, int, int]]:
    """Chunks (start, stop, padded size) covering n windows with the configured sizes."""
    sizes = sorted(set(int(s) for s in sizes))
    largest = sizes[-1]
    plan: list[tuple[int, int, int]] = []
    start = 0
    while n - start >= largest:
        plan.append((start, start + largest, largest))
        start += largest
    if start < n:
        rest = n - start
        plan.append((start, n, next(s for s in sizes if s >= rest)))
    return plan


class FixedShapeFunction:
    """``fn`` (a batch (B, T, F) -> (B, K) tensor function) as a ``tf.function`` traced once
    per configured batch size at load, run over any number of windows in padded chunks."""

    def __init__(
        self, fn: Any, window: int, channels: int, width: int,
        batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES, jit: bool = True,
    ) -> None:
        if not batch_sizes or any(int(s) < 1 for s in batch_sizes):
            raise ValueError(f"batch sizes must be positive integers, got {batch_sizes}")
        self.batch_sizes = tuple(sorted(set(int(s) for s in batch_sizes)))
        self.window, self.channels, self.width = window, channels, width
        # XLA fuses the LSTM steps (about 20% faster on CPU, for ~2 s more at load); a model
        # with an op XLA cannot compile falls back to the plain graph.
        try:
            self._fn = self._compile(fn, jit=jit)
        except (tf.errors.OpError, ValueError, NotImplementedError) as exc:
            log.warning("XLA compilation failed, using the plain graph: %s", exc)
            self._fn = self._compile(fn, jit=False)

    def _compile(self, fn: Any, jit: bool) -> Any:
        compiled = tf.function(fn, reduce_retracing=False, jit_compile=jit)
        for size in self.batch_sizes:  # trace now, not on the first live batch
            compiled(tf.zeros((size, self.window, self.channels), tf.float32))
        return compiled

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """(N, width) for (N, T, F) features; N may be any size, including 0."""
        n = features.shape[0]
        out = np.empty((n, self.width), dtype=np.float32)
        buffer = np.zeros((self.batch_sizes[-1], self.window, self.channels), dtype=np.float32)
        for start, stop, size in batch_plan(n, self.batch_sizes):
            count = stop - start
            chunk = features[start:stop]
            if count != size:
                batch = buffer[:size]
                batch[:count] = chunk
                batch[count:] = 0.0
                chunk = batch
            out[start:stop] = self._fn(tf.convert_to_tensor(chunk)).numpy()[:count]
        return out


class KerasReconstructor:
    """Per-channel reconstruction errors of a Keras autoencoder, batched at fixed shapes."""

    def __init__(
        self, model: keras.Model, batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES, jit: bool = True
    ):
        self.model = model
        _, self.window, self.channels = model.input_shape
        self._errors = FixedShapeFunction(self._channel_errors, self.window, self.channels,
                                          self.channels, batch_sizes, jit)
        self.batch_sizes = self._errors.batch_sizes

    def _channel_errors(self, x: tf.Tensor) -> tf.Tensor:
        reconstruction = self.model(x, training=False)
        return tf.reduce_mean(tf.square(reconstruction - x), axis=1)

    def channel_errors(self, features: np.ndarray) -> np.ndarray:
        """(N, F) mean squared error per channel; N may be any size, including 0."""
        return self._errors(features)
