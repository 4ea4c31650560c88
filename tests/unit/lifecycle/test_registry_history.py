"""The registry (versions, atomic `current`), the history file and the manual operations."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from consumer.errors import ConfigError, ModelArtifactError
from consumer.lifecycle import history, manage
from consumer.lifecycle.registry import Registry


def fake_model(folder: Path, version: str, created: str = "2026-11-25T00:00:00Z",
               sha: str | None = None, source: Path | None = None) -> Path:
    """A copy of the session's PCA model under another version name (and model hash)."""
    assert source is not None
    shutil.copytree(source, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(version=version, created_at=created)
    if sha is not None:
        manifest["model_sha256"] = sha
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture
def make(pca_model, tmp_path):
    def build(version: str, created: str = "2026-11-25T00:00:00Z", sha: str | None = None,
              name: str | None = None) -> Path:
        return fake_model(tmp_path / (name or f"src-{version}"), version, created, sha, pca_model)
    return build


def test_add_is_atomic_idempotent_and_refuses_a_different_model_under_one_name(tmp_path, make):
    registry = Registry(tmp_path / "reg")
    source = make("ae-1")
    v1 = registry.add(source)
    assert v1.name == "ae-1" and (v1.path / "manifest.json").is_file()
    assert registry.add(source).path == v1.path  # same model again: nothing new
    other = make("ae-1", sha="f" * 64, name="other")
    with pytest.raises(ModelArtifactError, match="another model"):
        registry.add(other)
    assert not [p for p in registry.root.iterdir() if p.name.startswith(".incoming")]


def test_current_is_a_relative_symlink_swapped_atomically(tmp_path, make):
    registry = Registry(tmp_path / "reg")
    registry.add(make("ae-1", "2026-11-25T00:00:00Z"))
    registry.add(make("ae-2", "2026-11-26T00:00:00Z"))
    assert registry.current() is None
    assert registry.set_current("ae-1") is None
    assert registry.set_current("ae-2") == "ae-1"
    link = registry.current_link
    assert link.is_symlink() and os.readlink(link) == "ae-2"  # relative: the volume can move
    assert (link / "manifest.json").is_file()
    assert [v.name for v in registry.versions()] == ["ae-1", "ae-2"]
    moved = tmp_path / "moved"
    registry.root.rename(moved)
    assert Registry(moved).current() == "ae-2" and (moved / "current" / "manifest.json").is_file()
    assert not [p for p in moved.iterdir() if p.name.startswith(".current")]


def test_unknown_versions_and_a_plain_current_directory_are_refused(tmp_path, make):
    registry = Registry(tmp_path / "reg")
    registry.add(make("ae-1"))
    for bad in ("ae-9", "current", "../x", ".work", ""):
        with pytest.raises(ConfigError):
            registry.set_current(bad)
    (registry.root / "current").mkdir()
    with pytest.raises(ConfigError, match="not a symlink"):
        registry.current()


def test_history_appends_lines_and_skips_a_cut_last_line(tmp_path):
    path = tmp_path / "history.jsonl"
    first = history.append(path, {"action": "retrain", "decision": "refused",
                                  "metrics": {"roc_auc": float("nan"), "far": 0.01}})
    assert first["schema"] == 1 and first["at_ms"] > 0
    assert first["metrics"]["roc_auc"] is None  # JSON has no NaN: "not measurable"
    history.append(path, {"action": "promote"})
    with path.open("a") as handle:
        handle.write('{"action": "rollb')  # a crash mid-write
    entries = history.read_history(path)
    assert [e["action"] for e in entries] == ["retrain", "promote"]


def test_promote_and_rollback_are_one_command_each_and_recorded(tmp_path, make):
    registry = Registry(tmp_path / "reg")
    for i in (1, 2, 3):
        manage.register(registry, make(f"ae-{i}", f"2026-11-2{i}T00:00:00Z"), promote=True)
    assert registry.current() == "ae-3"
    back = manage.rollback(registry)
    assert back["current_before"] == "ae-3" and registry.current() == "ae-2"
    # Rolling back again goes further back along the history, not forth to ae-3.
    manage.rollback(registry)
    assert registry.current() == "ae-1"
    manage.promote(registry, "ae-3", note="hand-checked")
    manage.rollback(registry, "ae-2")
    assert registry.current() == "ae-2"
    entries = history.read_history(registry.history_path)
    assert [(e["action"], e["current_after"]) for e in entries] == [
        ("register", "ae-1"), ("register", "ae-2"), ("register", "ae-3"),
        ("rollback", "ae-2"), ("rollback", "ae-1"), ("promote", "ae-3"), ("rollback", "ae-2"),
    ]
    rows = manage.list_versions(registry)
    assert [r["version"] for r in rows if r["current"]] == ["ae-2"]


def test_rollback_without_history_asks_for_a_version(tmp_path, make):
    registry = Registry(tmp_path / "reg")
    registry.add(make("ae-1"))
    registry.set_current("ae-1")
    with pytest.raises(ConfigError, match="name the version"):
        manage.rollback(registry)
