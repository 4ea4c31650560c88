"""The autoencoder networks (Keras 3). Imports TensorFlow: load only where a network is needed.

Custom layers are registered under the ``barunrun`` package so that ``.keras`` files load with
``safe_mode=True``: no Lambda layers, no pickled Python code.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

KIND_LSTM = "lstm_ae"
KIND_TRANSFORMER = "transformer_ae"


def build_lstm_autoencoder(window: int, channels: int, units: int = 64) -> keras.Model:
    """The seed network: LSTM encoder, RepeatVector, LSTM decoder, per-step Dense."""
    inputs = keras.Input(shape=(window, channels), name="window")
    encoded = layers.LSTM(units, name="encoder")(inputs)
    repeated = layers.RepeatVector(window, name="repeat")(encoded)
    decoded = layers.LSTM(units, return_sequences=True, name="decoder")(repeated)
    outputs = layers.TimeDistributed(layers.Dense(channels), name="reconstruction")(decoded)
    return keras.Model(inputs, outputs, name=KIND_LSTM)


@keras.saving.register_keras_serializable(package="barunrun")
class PositionEmbedding(layers.Layer):
    """Adds a learned embedding of the time step to each step of a (batch, T, d) sequence."""

    def __init__(self, length: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.length = length

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.positions = self.add_weight(
            name="positions",
            shape=(self.length, int(input_shape[-1])),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
        )

    def call(self, inputs: Any) -> Any:
        return inputs + self.positions

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "length": self.length}


@keras.saving.register_keras_serializable(package="barunrun")
class TransformerBlock(layers.Layer):
    """Pre-norm self-attention and feed-forward, each with a residual connection."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.dim, self.heads, self.ff_dim, self.dropout = dim, heads, ff_dim, dropout
        self.norm1 = layers.LayerNormalization(epsilon=1e-5)
        self.attention = layers.MultiHeadAttention(
            num_heads=heads, key_dim=max(dim // heads, 1), dropout=dropout
        )
        self.norm2 = layers.LayerNormalization(epsilon=1e-5)
        self.ff1 = layers.Dense(ff_dim, activation="gelu")
        self.ff2 = layers.Dense(dim)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.norm1.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.norm2.build(input_shape)
        self.ff1.build(input_shape)
        self.ff2.build((*input_shape[:-1], self.ff_dim))

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = self.norm1(inputs)
        x = inputs + self.attention(x, x, training=training)
        return x + self.ff2(self.ff1(self.norm2(x)))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "dim": self.dim, "heads": self.heads, "ff_dim": self.ff_dim, "dropout": self.dropout,
        }


def build_transformer_autoencoder(
    window: int,
    channels: int,
    dim: int = 64,
    heads: int = 4,
    blocks: int = 2,
    latent: int = 32,
) -> keras.Model:
    """Transformer encoder -> pooled latent vector -> transformer decoder.

    The pooled bottleneck matters: without it self-attention can copy its input through, and
    an autoencoder that reconstructs anything flags nothing.
    """
    inputs = keras.Input(shape=(window, channels), name="window")
    x = layers.Dense(dim, name="embed")(inputs)
    x = PositionEmbedding(window, name="encoder_positions")(x)
    for i in range(blocks):
        x = TransformerBlock(dim, heads, 2 * dim, name=f"encoder_block_{i}")(x)
    x = layers.LayerNormalization(epsilon=1e-5, name="encoder_norm")(x)
    code = layers.Dense(latent, name="latent")(layers.GlobalAveragePooling1D(name="pool")(x))
    x = layers.RepeatVector(window, name="repeat")(code)
    x = layers.Dense(dim, name="expand")(x)
    x = PositionEmbedding(window, name="decoder_positions")(x)
    for i in range(blocks):
        x = TransformerBlock(dim, heads, 2 * dim, name=f"decoder_block_{i}")(x)
    x = layers.LayerNormalization(epsilon=1e-5, name="decoder_norm")(x)
    outputs = layers.Dense(channels, name="reconstruction")(x)
    return keras.Model(inputs, outputs, name=KIND_TRANSFORMER)


def build_network(kind: str, window: int, channels: int, **params: Any) -> keras.Model:
    if kind == KIND_LSTM:
        return build_lstm_autoencoder(window, channels, units=int(params.get("units", 64)))
    if kind == KIND_TRANSFORMER:
        keys = ("dim", "heads", "blocks", "latent")
        return build_transformer_autoencoder(
            window, channels, **{k: int(params[k]) for k in keys if k in params}
        )
    raise ValueError(f"unknown network kind {kind!r}")
