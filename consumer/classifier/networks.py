"""The classifier networks (Keras 3). Imports TensorFlow: load only where a network is needed.

Every network maps scaled feature windows (N, T, F) to ``{"bad_form": (N, 1) sigmoid}`` and,
with a fault head, ``{"fault": (N, K) softmax}`` over the fault names. Only built-in layers
and the autoencoder's registered ones (``consumer.model.networks``), so model files load with
``safe_mode=True``.
"""

from __future__ import annotations

from typing import Any, Literal

import keras
from keras import layers

from consumer.model.networks import PositionEmbedding, TransformerBlock

Arch = Literal["lstm", "gru", "transformer"]
ARCHS: tuple[str, ...] = ("lstm", "gru", "transformer")
BAD_FORM = "bad_form"
FAULT = "fault"
DEFAULT_NETWORK: dict[str, dict[str, Any]] = {
    "lstm": {"units": 64, "dropout": 0.2},
    "gru": {"units": 64, "dropout": 0.2},
    "transformer": {"dim": 64, "heads": 4, "blocks": 2, "dropout": 0.2},
}


def network_params(arch: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    if arch not in ARCHS:
        raise ValueError(f"unknown classifier arch {arch!r}; choose from {', '.join(ARCHS)}")
    return {**DEFAULT_NETWORK[arch], **(overrides or {})}


def build_classifier(
    arch: str, window: int, channels: int, faults: int = 0, **params: Any
) -> keras.Model:
    """A classifier for (window, channels) inputs; ``faults`` >= 2 adds the fault head."""
    p = network_params(arch, params)
    inputs = keras.Input(shape=(window, channels), name="window")
    if arch in ("lstm", "gru"):
        recurrent = layers.LSTM if arch == "lstm" else layers.GRU
        x = recurrent(int(p["units"]), name="encoder")(inputs)
    else:
        dim = int(p["dim"])
        x = layers.Dense(dim, name="embed")(inputs)
        x = PositionEmbedding(window, name="positions")(x)
        for i in range(int(p["blocks"])):
            x = TransformerBlock(dim, int(p["heads"]), 2 * dim, name=f"block_{i}")(x)
        x = layers.LayerNormalization(epsilon=1e-5, name="norm")(x)
        # Mean over time: a fault shows in every stride of the window, not at one step.
        x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dropout(float(p["dropout"]), name="dropout")(x)
    x = layers.Dense(32, activation="relu", name="hidden")(x)
    outputs = {BAD_FORM: layers.Dense(1, activation="sigmoid", name=BAD_FORM)(x)}
    if faults >= 2:
        outputs[FAULT] = layers.Dense(faults, activation="softmax", name=FAULT)(x)
    return keras.Model(inputs, outputs, name=f"{arch}_classifier")
