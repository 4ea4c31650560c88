"""A real (tiny) model directory for the registry tests: PCA on a few simulated runners.

PCA needs no TensorFlow and trains in about a second, yet its manifest is a real one (the
registry reads and checks manifests); tests copy it under other version names.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def pca_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from consumer.training.train import TrainOptions, train
    from producer_sim.dataset import write_dataset

    root = tmp_path_factory.mktemp("pca")
    write_dataset(root / "data", normal_runners=4, abnormal_runners=0, frames=90, seed=5)
    options = TrainOptions(model="pca", hop=5, calibration_split=0.25)
    return train([root / "data" / "normal"], root / "model", options).model_dir
