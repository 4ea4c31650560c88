"""Runs a Keras classifier over batches with a compiled ``tf.function`` at fixed batch shapes.

The same pattern as the autoencoder's ``consumer.model.keras_runner``: ``model.predict`` costs
tens of milliseconds per call whatever the batch, so batches are split into chunks of the
largest configured size, the rest zero-padded to the smallest size that holds it, and the
function is traced once per size at load time, never on a live batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from consumer.classifier.networks import BAD_FORM, FAULT
from consumer.model.keras_runner import DEFAULT_BATCH_SIZES, FixedShapeFunction

log = logging.getLogger(__name__)


def output_shapes(model: keras.Model) -> dict[str, tuple[int | None, ...]]:
    """Output name -> shape (Keras reports the shapes of a dict-output model as a list)."""
    return {name: tuple(t.shape) for name, t in zip(model.output_names, model.outputs,
                                                    strict=True)}


class KerasClassifier:
    """P(bad form) and the fault head's probabilities for scaled feature windows."""

    def __init__(
        self, model: keras.Model, batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES, jit: bool = True
    ) -> None:
        self.model = model
        _, self.window, self.channels = model.input_shape
        outputs = output_shapes(model)
        self.faults = int(outputs[FAULT][-1]) if FAULT in outputs else 0
        self._predict = FixedShapeFunction(self._outputs, self.window, self.channels,
                                           1 + self.faults, batch_sizes, jit)
        self.batch_sizes = self._predict.batch_sizes

    def _outputs(self, x: tf.Tensor) -> tf.Tensor:
        out = self.model(x, training=False)
        parts = [out[BAD_FORM]] + ([out[FAULT]] if self.faults else [])
        return tf.concat(parts, axis=-1)  # one tensor: one device-to-host copy per chunk

    def predict(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(N,) P(bad form) and (N, K) fault probabilities (None without a fault head)."""
        out = self._predict(features)
        return out[:, 0], (out[:, 1:] if self.faults else None)
