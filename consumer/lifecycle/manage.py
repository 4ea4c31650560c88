"""Manual registry operations behind ``barunrun model list|register|promote|rollback|history``.

Each takes the registry lock, changes ``current`` atomically (registry.py) and appends its
decision to the history; a consumer serving ``<registry>/current`` hot-swaps within
``model.reload_interval_s`` plus the load time, between two batches (no frame is dropped:
consumer/serve/reload.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consumer.errors import ConfigError
from consumer.lifecycle import history
from consumer.lifecycle.registry import Registry


def list_versions(registry: Registry) -> list[dict[str, Any]]:
    current = registry.current()
    decided: dict[str, dict[str, Any]] = {}
    for entry in history.read_history(registry.history_path):
        challenger = entry.get("challenger") or {}
        if challenger.get("version"):
            decided[challenger["version"]] = entry
    rows = []
    for version in registry.versions():
        m = version.manifest
        entry = decided.get(version.name, {})
        metrics = (entry.get("challenger") or {}).get("metrics") or {}
        rows.append({
            "version": version.name, "current": version.name == current, "kind": m.kind,
            "created_at": m.created_at, "threshold": m.threshold.value,
            "warm_start_from": (m.training.get("warm_start") or {}).get("from"),
            "retrain_decision": entry.get("decision"),
            "false_alarm_rate": metrics.get("false_alarm_rate"),
            "detection_rate": metrics.get("detection_rate"), "roc_auc": metrics.get("roc_auc"),
        })
    return rows


def register(registry: Registry, model_dir: Path, promote: bool, note: str = "") -> dict[str, Any]:
    with registry.locked():
        version = registry.add(model_dir)
        before = registry.current()
        after = before
        if promote:
            registry.set_current(version.name)
            after = version.name
        return history.append(registry.history_path, {
            "action": "register", "decision": "promoted" if promote else "registered",
            "version": version.name, "source": str(model_dir), "current_before": before,
            "current_after": after, "reasons": [note] if note else [],
        })


def promote(registry: Registry, name: str, note: str = "") -> dict[str, Any]:
    """Point ``current`` at ``name`` without an evaluation (an operator's decision)."""
    with registry.locked():
        return _point_current(registry, name, "promote", "promoted", note or "manual promotion")


def _point_current(
    registry: Registry, name: str, action: str, decision: str, reason: str
) -> dict[str, Any]:
    """Re-point ``current`` at an existing version and record it (the caller holds the lock)."""
    registry.get(name)
    before = registry.set_current(name)
    return history.append(registry.history_path, {
        "action": action, "decision": decision, "version": name,
        "current_before": before, "current_after": name, "reasons": [reason],
    })


def previous_version(registry: Registry) -> str:
    """The version that served before the current one became current, from the history.

    Rollbacks themselves are passed over: after rolling back from v3 to v2, the next rollback
    goes to what preceded v2 (v1), not forth to v3 again.
    """
    current = registry.current()
    if current is None:
        raise ConfigError(f"the registry {registry.root} has no current version")
    for entry in reversed(history.read_history(registry.history_path)):
        before, after = entry.get("current_before"), entry.get("current_after")
        if entry.get("action") == "rollback":
            continue
        if after == current and before and before != current:
            return str(before)
    raise ConfigError(f"the history does not say what served before {current}: "
                      "name the version (`barunrun model list`)")


def rollback(registry: Registry, name: str | None = None, note: str = "") -> dict[str, Any]:
    """Back to ``name``, or to the version that served before the current one."""
    with registry.locked():
        target = name or previous_version(registry)
        return _point_current(registry, target, "rollback", "rolled_back",
                              note or "manual rollback")
