"""``barunrun model``: ``bootstrap`` a first model on simulated data, and the model registry:
``list``, ``register``, ``promote``, ``rollback``, ``history`` (docs/model-lifecycle.md)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from consumer.commands import settings_from_args
from consumer.lifecycle import history, manage
from consumer.lifecycle.registry import Registry

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    boot = actions.add_parser(
        "bootstrap",
        help="train a first model on simulated normal runners unless OUT already holds one",
        description="Train and calibrate a model on freshly simulated normal runners into OUT, "
        "unless OUT already holds a model (deployments run this once before the consumer).",
    )
    where = boot.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, help="the model directory to create")
    where.add_argument("--registry", type=Path, metavar="ROOT",
                       help="train into this model registry as its first version and point "
                       "its `current` at it, unless it already has a current model")
    boot.add_argument("--size", choices=["test", "demo", "full"], default="demo",
                      help="training preset (docs/model.md): test ~30 s, demo ~1-2 min, full")
    boot.add_argument("--seed", type=int, default=0)
    boot.add_argument("--force", action="store_true", help="retrain even if OUT holds a model")

    def registry_arg(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--registry", type=Path, metavar="ROOT",
                         help="the model registry (default: [lifecycle] registry)")
        # Accepted after the action too (`model rollback --config X`), like every command's.
        sub.add_argument("--config", default=argparse.SUPPRESS, help="TOML config file")

    listing = actions.add_parser("list", help="versions in the registry, the current marked")
    registry_arg(listing)
    listing.add_argument("--json", action="store_true", help="one JSON array")
    reg = actions.add_parser("register", help="copy a trained model directory into the registry")
    registry_arg(reg)
    reg.add_argument("model_dir", type=Path, metavar="DIR")
    reg.add_argument("--promote", action="store_true", help="and make it the current version")
    reg.add_argument("--note", default="", help="why (kept in the history)")
    prom = actions.add_parser("promote", help="make VERSION current (no evaluation)")
    registry_arg(prom)
    prom.add_argument("version", metavar="VERSION")
    prom.add_argument("--note", default="", help="why (kept in the history)")
    back = actions.add_parser(
        "rollback", help="make VERSION, or the version that served before, current again")
    registry_arg(back)
    back.add_argument("version", metavar="VERSION", nargs="?")
    back.add_argument("--note", default="", help="why (kept in the history)")
    hist = actions.add_parser("history", help="the registry's decisions, oldest first")
    registry_arg(hist)
    hist.add_argument("--limit", type=int, default=0, help="only the last N entries")
    hist.add_argument("--json", action="store_true", help="one JSON object per line")


def bootstrap(out: Path, size: str, seed: int, force: bool = False) -> dict[str, object]:
    """Train into a scratch directory beside ``out``, then move the model into place at once,
    so a consumer watching ``out`` never sees half a model."""
    if (out / "manifest.json").is_file() and not force:
        return {"model_dir": str(out), "trained": False}
    from consumer.training.quick import train_on_simulated  # noqa: PLC0415 - loads TensorFlow

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bootstrap-", dir=out.parent) as scratch:
        model_dir = train_on_simulated(Path(scratch), size=size, seed=seed)  # type: ignore[arg-type]
        staged = out.parent / f".{out.name}.new"
        shutil.rmtree(staged, ignore_errors=True)
        shutil.move(str(model_dir), staged)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staged, out)
    manifest = json.loads((out / "manifest.json").read_text())
    log.info("bootstrapped model version=%s dir=%s", manifest.get("version"), out)
    return {"model_dir": str(out), "trained": True, "version": manifest.get("version")}


def bootstrap_registry(
    root: Path, size: str, seed: int, force: bool = False, replay_max_runs: int = 48,
    replay_frames_per_run: int = 300,
) -> dict[str, object]:
    """A first version for an empty registry: trained on simulated runners, made current, its
    normal runners the first replay pool (docs/model-lifecycle.md)."""
    from consumer.lifecycle import replay  # noqa: PLC0415

    registry = Registry(root).ensure()
    if registry.current() is not None and not force:
        return {"registry": str(root), "trained": False, "version": registry.current()}
    from consumer.training.quick import train_on_simulated  # noqa: PLC0415 - loads TensorFlow

    with registry.locked(), tempfile.TemporaryDirectory(prefix=".bootstrap-", dir=root) as scratch:
        model_dir = train_on_simulated(Path(scratch), size=size, seed=seed)  # type: ignore[arg-type]
        version = registry.add(model_dir)
        before = registry.set_current(version.name)
        files, users = replay.recordings_with_users([Path(scratch) / "data" / "normal"])
        added = replay.add_to_pool(registry.replay_dir, files, users, max_runs=replay_max_runs,
                                   frames_per_run=replay_frames_per_run, seed=seed)
        history.append(registry.history_path, {
            "action": "bootstrap", "decision": "promoted", "version": version.name,
            "current_before": before, "current_after": version.name,
            "reasons": [f"first model, simulated runners (size {size}, seed {seed})"],
            "data": {"replay_added": added},
        })
    log.info("bootstrapped registry version=%s root=%s", version.name, root)
    return {"registry": str(root), "trained": True, "version": version.name}


def _print_history(entries: list[dict[str, object]], as_json: bool) -> None:
    for entry in entries:
        if as_json:
            print(json.dumps(entry))
            continue
        challenger = entry.get("challenger") or {}
        version = entry.get("version") or (challenger.get("version") if isinstance(
            challenger, dict) else None) or "-"
        reasons = "; ".join(str(r) for r in entry.get("reasons") or []) or "-"  # type: ignore[union-attr]
        print(f"{entry.get('at')}  {entry.get('action'):<9} {entry.get('decision'):<11} "
              f"{version:<22} current {entry.get('current_before')} -> "
              f"{entry.get('current_after')}  {reasons}")


def _print_list(rows: list[dict[str, object]]) -> None:
    def fmt(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else "-"

    print(f"  {'version':<22} {'created_at':<21} {'threshold':>9} {'FAR':>6} {'det':>6} "
          f"{'AUC':>6}  warm start from")
    for row in rows:
        mark = "*" if row["current"] else " "
        print(f"{mark} {row['version']:<22} {row['created_at']:<21} {fmt(row['threshold']):>9} "
              f"{fmt(row['false_alarm_rate']):>6} {fmt(row['detection_rate']):>6} "
              f"{fmt(row['roc_auc']):>6}  {row['warm_start_from'] or '-'}")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    root = getattr(args, "registry", None) or Path(settings.lifecycle.registry)
    if args.action == "bootstrap":
        if args.registry is not None:
            lc = settings.lifecycle
            print(json.dumps(bootstrap_registry(args.registry, args.size, args.seed, args.force,
                                                lc.replay_max_runs, lc.replay_frames_per_run)))
        else:
            print(json.dumps(bootstrap(args.out, args.size, args.seed, args.force)))
        return 0
    registry = Registry(root)
    if args.action == "list":
        rows = manage.list_versions(registry)
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            _print_list(rows)
    elif args.action == "register":
        print(json.dumps(manage.register(registry, args.model_dir, args.promote, args.note)))
    elif args.action == "promote":
        print(json.dumps(manage.promote(registry, args.version, args.note)))
    elif args.action == "rollback":
        print(json.dumps(manage.rollback(registry, args.version, args.note)))
    elif args.action == "history":
        entries = history.read_history(registry.history_path)
        _print_history(entries[-args.limit:] if args.limit else entries, args.json)
    return 0
