"""`barunrun model bootstrap --registry`: first version, current, replay pool, history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from consumer.cli import main
from consumer.lifecycle import history, replay
from consumer.lifecycle.registry import Registry


def test_bootstrap_fills_an_empty_registry_once(tmp_path, pca_model, monkeypatch, capsys):
    calls: list[int] = []

    def fake_train(out_dir: Path, size: str = "test", seed: int = 0) -> Path:
        # What train_on_simulated leaves: out/data/normal (+ labels) and out/model.
        calls.append(seed)
        shutil.copytree(pca_model.parent / "data", out_dir / "data")
        shutil.copytree(pca_model, out_dir / "model")
        return out_dir / "model"

    monkeypatch.setattr("consumer.training.quick.train_on_simulated", fake_train)
    root = tmp_path / "registry"
    assert main(["model", "bootstrap", "--registry", str(root), "--size", "test"]) == 0
    first = json.loads(capsys.readouterr().out)
    registry = Registry(root)
    assert first["trained"] and registry.current() == first["version"]
    # All 4 runners: fewer than the quarter of replay_max_runs (48) one run may add.
    assert len(replay.pool_files(registry.replay_dir)) == 4
    assert (registry.replay_dir / "labels.csv").is_file()
    assert main(["model", "bootstrap", "--registry", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["trained"] is False and calls == [0]
    entries = history.read_history(registry.history_path)
    assert [(e["action"], e["current_after"]) for e in entries] == [
        ("bootstrap", first["version"])]
    assert main(["model", "list", "--registry", str(root), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["version"], r["current"]) for r in rows] == [(first["version"], True)]
