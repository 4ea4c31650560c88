"""``manifest.json`` of a model directory: what the model is and how to serve it. numpy only.

Format version 1 fields: ``format_version``, ``version`` (e.g. ``ae-20261124-1a2b3c4d``),
``kind`` (``lstm_ae``, ``transformer_ae``, ``pca``), ``created_at``, ``model_file`` and its
``model_sha256`` (so a truncated copy is caught before it is parsed), ``feature_spec``,
``channels`` (names, a compatibility check against this code's pipeline), ``scaling``
(per-channel statistics), ``threshold`` (value, method and the numbers it came from),
``training`` (parameters), ``data`` (fingerprint of the training files), ``metrics`` and
``history`` (loss curves).

Format version 2 adds ``scoring`` (how per-channel errors become a score, with its per-view
error scales) and per-view scaling statistics; a version 1 manifest still loads, scoring
with the mean error as it always did.

A model trained with ``feature_spec.runner_relative`` also has ``level_scaling``: the
per-view spread of window levels among its training runners (``consumer.features.
runner_level``); its ``scoring`` scales cover each channel's error, level change and spread
change.

Kind ``classifier`` (``barunrun train-classifier``, ``consumer.classifier``) uses the same
fields, with ``threshold`` the decision threshold on P(bad form) (method one of
``DECISION_METHODS``) and a ``classifier`` section (architecture, fault names).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from consumer.errors import ModelArtifactError
from consumer.features import ChannelScaler, FeatureSpec
from consumer.model.calibration import Threshold
from consumer.model.scoring import ErrorScoring

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
MANIFEST_FILE = "manifest.json"
KIND_CLASSIFIER = "classifier"
KINDS: tuple[str, ...] = ("lstm_ae", "transformer_ae", "pca", KIND_CLASSIFIER)
# How a classifier's decision threshold on P(bad form) was chosen (on validation users).
DECISION_METHODS: tuple[str, ...] = ("max_f1", "false_alarm", "fixed")


@dataclass
class Manifest:
    version: str
    kind: str
    created_at: str
    model_file: str
    model_sha256: str
    feature_spec: FeatureSpec
    channels: list[str]
    scaling: ChannelScaler
    threshold: Threshold
    training: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    scoring: ErrorScoring = field(default_factory=ErrorScoring)
    format_version: int = FORMAT_VERSION
    # kind "classifier" only: {"arch", "faults" (the fault head's classes, in output order;
    # empty without one), "network", "decision" (how the threshold was chosen)}.
    classifier: dict[str, Any] = field(default_factory=dict)
    # feature_spec.runner_relative only: the per-view spread of window levels among the
    # training runners (consumer.features.runner_level).
    level_scaling: ChannelScaler | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "version": self.version,
            "kind": self.kind,
            "created_at": self.created_at,
            "model_file": self.model_file,
            "model_sha256": self.model_sha256,
            "feature_spec": self.feature_spec.to_dict(),
            "channels": list(self.channels),
            "scaling": self.scaling.to_dict(),
            "threshold": self.threshold.to_dict(),
            "scoring": self.scoring.to_dict(),
            "training": self.training,
            "data": self.data,
            "metrics": self.metrics,
            "history": self.history,
            # Written for classifiers only: autoencoder manifests stay byte-for-byte as before.
            **({"classifier": self.classifier} if self.kind == KIND_CLASSIFIER else {}),
            **({"level_scaling": self.level_scaling.to_dict()}
               if self.level_scaling is not None else {}),
        }

    def write(self, model_dir: Path) -> Path:
        path = model_dir / MANIFEST_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n", "utf-8")
        tmp.replace(path)  # a reader polling the directory never sees half a manifest
        return path


def read_manifest(model_dir: Path) -> Manifest:
    """Parse and check a model directory's manifest; ModelArtifactError says what to fix."""
    retrain = "train a new one with `barunrun train --normal DATA --out DIR`"
    if not model_dir.is_dir():
        raise ModelArtifactError(f"model directory {model_dir} does not exist; {retrain}")
    path = model_dir / MANIFEST_FILE
    if not path.is_file():
        raise ModelArtifactError(
            f"{path} is missing: {model_dir} is not a BarunRun model directory; {retrain}"
        )
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelArtifactError(
            f"{path} is not valid JSON ({exc}): the copy is corrupt or truncated; "
            f"copy the model directory again or {retrain}"
        ) from exc
    if not isinstance(data, dict):
        raise ModelArtifactError(f"{path} does not hold a JSON object; {retrain}")
    found = data.get("format_version")
    if found not in READABLE_FORMATS:
        raise ModelArtifactError(
            f"{path} has format_version {found!r}; this BarunRun reads formats "
            f"{', '.join(map(str, READABLE_FORMATS))}: "
            f"use the BarunRun version that wrote it, or {retrain}"
        )
    kind = data.get("kind")
    if kind not in KINDS:
        raise ModelArtifactError(
            f"{path}: unknown model kind {kind!r} (known: {', '.join(KINDS)}); {retrain}"
        )
    try:
        manifest = Manifest(
            version=_text(data, "version"),
            kind=kind,
            created_at=_text(data, "created_at"),
            model_file=_text(data, "model_file"),
            model_sha256=_text(data, "model_sha256"),
            feature_spec=FeatureSpec.from_dict(data["feature_spec"]),
            channels=[str(c) for c in data["channels"]],
            scaling=ChannelScaler.from_dict(data["scaling"]),
            threshold=_decision_threshold(data["threshold"]) if kind == KIND_CLASSIFIER
            else Threshold.from_dict(data["threshold"]),
            training=dict(data.get("training", {})),
            data=dict(data.get("data", {})),
            metrics=dict(data.get("metrics", {})),
            history=dict(data.get("history", {})),
            scoring=ErrorScoring.from_dict(data.get("scoring", {"method": "mean"})),
            format_version=int(found),
            classifier=_classifier_section(data) if kind == KIND_CLASSIFIER else {},
            level_scaling=ChannelScaler.from_dict(data["level_scaling"])
            if "level_scaling" in data else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ModelArtifactError(
            f"{path} is incompatible with this code: {detail}; {retrain}"
        ) from exc
    if Path(manifest.model_file).name != manifest.model_file:
        raise ModelArtifactError(f"{path}: model_file must be a file name inside {model_dir}")
    return manifest


def _decision_threshold(data: dict[str, Any]) -> Threshold:
    """A classifier's threshold: a probability in (0, 1), chosen by one of DECISION_METHODS.

    Same fields as an autoencoder's ``Threshold`` (the scores are validation probabilities),
    only the methods differ, so it is checked here rather than by ``Threshold.from_dict``.
    """
    method = data.get("method")
    if method not in DECISION_METHODS:
        raise ValueError(f"unknown classifier decision method {method!r}")
    # Threshold.from_dict checks every other field; it knows only the autoencoder's methods,
    # so it sees a stand-in and the real method is put back.
    threshold = Threshold.from_dict({**data, "method": "quantile"})
    if not 0.0 < threshold.value < 1.0:
        raise ValueError(f"a classifier's threshold must be in (0, 1), got {threshold.value}")
    return replace(threshold, method=method)


def _classifier_section(data: dict[str, Any]) -> dict[str, Any]:
    section = data["classifier"]
    if not isinstance(section, dict) or not isinstance(section.get("faults"), list):
        raise ValueError("classifier must be an object with a list of fault names")
    if not all(isinstance(f, str) and f for f in section["faults"]):
        raise ValueError("classifier.faults must be non-empty strings")
    return dict(section)


def _text(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} must be a non-empty string")
    return value


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(paths: Iterable[Path]) -> str:
    """sha256 over the training files' names and contents, in order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(bytes.fromhex(file_sha256(path)))
    return digest.hexdigest()
