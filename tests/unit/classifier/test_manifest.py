"""A classifier's manifest: the autoencoder's format with kind, threshold and fault names."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from consumer.errors import ModelArtifactError
from consumer.features import ChannelScaler, FeaturePipeline, FeatureSpec
from consumer.model.artifact import load_scorer
from consumer.model.calibration import Threshold
from consumer.model.manifest import KIND_CLASSIFIER, Manifest, read_manifest


def manifest(method: str = "max_f1", value: float = 0.4) -> Manifest:
    pipeline = FeaturePipeline(FeatureSpec())
    return Manifest(
        version="clf-20261125-00000000", kind=KIND_CLASSIFIER, created_at="2026-11-25T00:00:00Z",
        model_file="model.keras", model_sha256="0" * 64, feature_spec=pipeline.spec,
        channels=list(pipeline.channel_names),
        scaling=ChannelScaler.identity(pipeline.num_channels),
        threshold=Threshold(value, method, None, None, 10, 0.1, 0.05,  # type: ignore[arg-type]
                            {"p50": 0.1}, "validation users: 2"),
        classifier={"arch": "gru", "faults": ["limp", "trunk_lean"], "network": {}},
    )


def test_a_classifier_manifest_round_trips(tmp_path: Path) -> None:
    manifest().write(tmp_path)
    read = read_manifest(tmp_path)
    assert read.kind == KIND_CLASSIFIER
    assert read.threshold.method == "max_f1" and read.threshold.value == 0.4
    assert read.classifier["faults"] == ["limp", "trunk_lean"]


def test_autoencoder_manifests_gain_no_classifier_section() -> None:
    ae = manifest()
    ae.kind = "lstm_ae"
    assert "classifier" not in ae.to_dict()


@pytest.mark.parametrize(("change", "message"), [
    ({"threshold": {"method": "quantile"}}, "decision method"),
    ({"threshold": {"value": 1.5}}, "(0, 1)"),
    ({"classifier": {"arch": "gru"}}, "fault names"),
])
def test_a_broken_classifier_manifest_is_refused(tmp_path: Path, change: dict,
                                                 message: str) -> None:
    data = manifest().to_dict()
    for key, value in change.items():
        data[key] = {**data[key], **value} if key == "threshold" else value
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ModelArtifactError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_manifest(tmp_path)


def test_the_autoencoder_loader_names_a_classifier_directory(tmp_path: Path) -> None:
    manifest().write(tmp_path)
    (tmp_path / "model.keras").write_bytes(np.zeros(4).tobytes())
    with pytest.raises(ModelArtifactError, match="classifier_dir"):
        load_scorer(tmp_path)
