"""`barunrun train-classifier` end to end on a tiny simulated dataset (well under a minute)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from consumer.classifier.artifact import load_classifier
from consumer.cli import main
from consumer.model.manifest import read_manifest
from consumer.training.data import load_windows
from consumer.windows.rules import WindowConfig
from producer_sim.dataset import write_dataset

pytestmark = pytest.mark.integration


def test_train_classifier_writes_a_servable_model_and_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model_dir: Path
) -> None:
    data = tmp_path / "data"
    write_dataset(data, normal_runners=6, abnormal_runners=10, frames=180, seed=5,
                  faults=("hunched_head", "arm_crossing"))
    out, report = tmp_path / "clf", tmp_path / "report"
    code = main([
        "train-classifier", "--normal", str(data / "normal"), "--abnormal",
        str(data / "abnormal"), "--out", str(out), "--arch", "gru", "--fault-head",
        "--epochs", "2", "--hop", "6", "--split", "0.5,0.25,0.25", "--json", "--no-progress",
        "--report", str(report), "--compare-autoencoder", str(model_dir),
    ])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "classifier" and summary["arch"] == "gru"
    assert summary["faults"] == ["arm_crossing", "hunched_head"]
    users = summary["users"]
    assert users["train"] and users["val"] and users["test"]
    manifest = read_manifest(out)
    split = manifest.training["users"]
    # Held out by user: no runner on two sides.
    assert not (set(split["train"]) & set(split["val"])) and not (
        set(split["train"]) & set(split["test"]))
    test = summary["test"]
    for model in ("classifier", "autoencoder"):  # the same held-out windows for both
        for metric in ("precision", "recall", "f1", "roc_auc", "pr_auc"):
            assert metric in test[model]
        counts = test[model]["confusion_matrix"]
        assert sum(counts.values()) == test["windows_scored_by_both"]
    assert test["classifier"]["fault_head"]["classes"] == summary["faults"]
    assert sorted(p.name for p in report.iterdir()) == [
        "confusion_matrix.png", "fault_confusion.png", "roc_pr.png", "training_curves.png"]

    classifier = load_classifier(out, batch_sizes=(8, 32))  # safe_mode=True, traced
    windows = load_windows([data / "abnormal"], WindowConfig(30, 10, 5), abnormal=True)
    result = classifier.score(windows.windows[:45])  # 45: one full chunk of 32, one padded
    assert len(result) == 45
    p = result.scores[result.valid]
    assert p.size and np.all((p >= 0) & (p <= 1))
    assert result.is_anomaly.tolist() == (result.valid & (result.scores > classifier.threshold)
                                          ).tolist()
    assert result.fault(0) is None or result.fault(0)[0] in summary["faults"]


def test_train_classifier_refuses_data_without_bad_form(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str],
                                                        ) -> None:
    data = tmp_path / "data"
    write_dataset(data, normal_runners=4, abnormal_runners=0, frames=120, seed=1)
    code = main(["train-classifier", "--normal", str(data / "normal"), "--out",
                 str(tmp_path / "clf"), "--split", "0.5,0.5,0", "--no-progress"])
    assert code == 5  # DataError: a one-line reason, no model directory
    assert "bad-form windows" in capsys.readouterr().err
    assert not (tmp_path / "clf" / "manifest.json").exists()
