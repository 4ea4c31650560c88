"""``barunrun train`` and ``barunrun evaluate`` end to end on a tiny simulated dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consumer.cli import main
from consumer.model.artifact import load_manifest, load_scorer

pytestmark = pytest.mark.integration

CONTRACT_KEYS = {
    "windows_normal", "windows_abnormal", "false_alarm_rate", "detection_rate", "roc_auc",
    "threshold",
}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> tuple[Path, Path]:
    from producer_sim.dataset import write_dataset

    root = tmp_path_factory.mktemp("sim")
    write_dataset(root / "train", normal_runners=5, abnormal_runners=0, frames=150, seed=11)
    write_dataset(root / "test", normal_runners=2, abnormal_runners=3, frames=150, seed=12,
                  faults=["trunk_lean", "stiff_arms", "hunched_head"])
    return root / "train", root / "test"


def _json_line(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_train_then_evaluate_with_report(datasets, tmp_path, capsys):
    train_dir, test_dir = datasets
    lstm, pca = tmp_path / "lstm", tmp_path / "pca"
    code = main(["train", "--normal", str(train_dir / "normal"), "--out", str(lstm),
                 "--epochs", "1", "--hop", "5", "--batch-size", "32", "--json", "--no-progress"])
    assert code == 0
    summary = _json_line(capsys.readouterr().out)
    assert summary["kind"] == "lstm_ae" and summary["calibration_runners"]
    assert main(["train", "--normal", str(train_dir), "--out", str(pca), "--model", "pca",
                 "--hop", "5", "--json", "--no-progress"]) == 0
    capsys.readouterr()

    report = tmp_path / "report"
    code = main(["evaluate", "--model", str(lstm), "--compare", str(pca),
                 "--normal", str(test_dir / "normal"), "--abnormal", str(test_dir / "abnormal"),
                 "--json", "--report", str(report)])
    assert code == 0
    result = _json_line(capsys.readouterr().out)
    assert set(result) >= CONTRACT_KEYS
    assert result["windows_normal"] > 0 and result["windows_abnormal"] > 0
    assert 0.0 <= result["false_alarm_rate"] <= 1.0 and 0.0 <= result["roc_auc"] <= 1.0
    assert result["threshold"] == pytest.approx(load_scorer(lstm).threshold)
    assert set(result["per_fault"]) == {"trunk_lean", "stiff_arms", "hunched_head"}
    assert {row["source"] for row in result["per_file"]} == {"normal", "abnormal"}
    kinds = [row["model_kind"] for row in result["comparison"]]
    assert kinds == ["lstm_ae", "pca"]
    for name in ("training_curves", "score_histogram", "roc", "joint_heatmap"):
        assert (report / f"{name}.png").stat().st_size > 1000


def test_seed_recipe_calibrates_on_training_windows(datasets, tmp_path, capsys):
    train_dir, _ = datasets
    out = tmp_path / "raw"
    assert main(["train", "--normal", str(train_dir / "normal"), "--out", str(out),
                 "--features", "raw", "--calibration-split", "0", "--epochs", "1",
                 "--hop", "10", "--json", "--no-progress"]) == 0
    manifest = load_manifest(out)
    assert manifest.feature_spec.normalization == "raw" and len(manifest.channels) == 132
    assert manifest.threshold.source.startswith("training windows")


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["evaluate", "--model", "/nonexistent/model", "--normal", "/nonexistent"], 4),
        (["train", "--normal", "/nonexistent", "--out", "/tmp/x", "--joints", "tails"], 2),
        (["train", "--normal", "/nonexistent", "--out", "/tmp/x", "--features", "raw",
          "--runner-relative"], 2),
        (["train", "--normal", "/nonexistent", "--out", "/tmp/x", "--gait-channels"], 2),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_reason(argv, code, capsys):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "error:" in err and len(err.strip().splitlines()) == 1
