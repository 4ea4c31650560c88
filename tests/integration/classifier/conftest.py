"""A small classifier trained once per session on simulated runners (tens of seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.classifier.data import split_recordings
from consumer.classifier.train import ClassifierOptions, train_classifier
from consumer.model.base import Scorer
from consumer.serve.model_source import load_classifier_checked
from consumer.serve.reload import load_checked
from producer_sim.dataset import write_dataset

# The faults the serve tests stream: two the small test autoencoder mostly misses (as in
# tests/integration/serve/test_detection.py), where the classifier earns its place, and one it
# flags clearly (tests/integration/alerts/conftest.py), so that some windows get both models.
FAULTS = ("trunk_lean", "overstriding", "hunched_head")


@pytest.fixture(scope="session")
def classifier_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("classifier")
    write_dataset(root / "data", normal_runners=8, abnormal_runners=12, frames=300, seed=21,
                  faults=FAULTS, views=("side", "oblique"))
    options = ClassifierOptions(arch="gru", fault_head=True, epochs=6, patience=2, hop=4,
                                learning_rate=3e-3, network={"units": 32})
    split = split_recordings([root / "data" / "normal"], [root / "data" / "abnormal"],
                             options.window_config(), (0.75, 0.25, 0.0), "barunrun")
    return train_classifier(split, root / "model", options).model_dir


@pytest.fixture(scope="session")
def classifier(classifier_dir: Path) -> Scorer:
    return load_checked(classifier_dir, load_classifier_checked, 30)

