"""The one feature pipeline shared by training, evaluation and serving.

``FeatureSpec`` says what to compute (joints, normalisation, angle channels, missing-data
rules); ``FeaturePipeline`` computes it for a batch of raw windows; ``ChannelScaler`` holds the
per-channel normalisation statistics fitted on training data. numpy only: no TensorFlow here.
"""

from consumer.features.pipeline import (
    REASON_BAD_SHAPE,
    REASON_GAP_TOO_LONG,
    REASON_NO_BODY_SCALE,
    REASON_TOO_FEW_OBSERVED,
    FeatureBatch,
    FeaturePipeline,
)
from consumer.features.scaling import ChannelScaler
from consumer.features.spec import FeatureSpec, parse_joints

__all__ = [
    "REASON_BAD_SHAPE",
    "REASON_GAP_TOO_LONG",
    "REASON_NO_BODY_SCALE",
    "REASON_TOO_FEW_OBSERVED",
    "ChannelScaler",
    "FeatureBatch",
    "FeaturePipeline",
    "FeatureSpec",
    "parse_joints",
]
