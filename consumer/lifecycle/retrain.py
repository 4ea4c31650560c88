"""``barunrun retrain``: archive + labels -> challenger -> same held-out users -> promote or not.

One run, under the registry lock:

1. (``if_drift``) PSI of the champion's archived scores against its calibration scores
   (drift.py); below ``drift_threshold`` (or too few scores) the run stops: ``skipped``.
2. A training set from the archive and the label store (consumer/labels/training_set.py):
   split by user into train / val / test with the configured salt, so a user keeps their
   side as the archive grows and no model is ever judged on a runner it trained on.
3. The challenger: a warm-start fine-tune of the champion (finetune.py) on the train users'
   normal runs plus the replay pool, calibrated on the val users' normal runs; or with
   ``full`` a new network from scratch with the champion's recipe (``barunrun train``'s code,
   which holds out its own calibration runners) on train + val normal runs and the pool.
4. Champion and challenger scored on the same windows of the test users
   (consumer/training/evaluate.py), judged by promote.py.
5. Promoted: the challenger is copied into the registry and ``current`` re-pointed
   (registry.py); serving consumers hot-swap it between two batches. A sample of the new
   normal runs joins the replay pool. Refused: nothing changes.
6. Every outcome is appended to the model history (history.py) with both models' metrics,
   data sizes and times.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from consumer.errors import DataError
from consumer.lifecycle import history, replay
from consumer.lifecycle.drift import load_reference, psi_of_scores, write_reference
from consumer.lifecycle.promote import Tolerances, Verdict, decide
from consumer.lifecycle.registry import WORK_DIR, Registry
from consumer.settings import Settings
from consumer.windows.rules import WindowConfig

log = logging.getLogger(__name__)

SUMMARY_KEYS = (
    "model_version", "threshold", "windows_normal", "windows_abnormal", "windows_ambiguous",
    "windows_rejected", "false_alarm_rate", "detection_rate", "roc_auc",
    "detection_at_false_alarm", "false_alarm_rate_normal_files",
)


@dataclass(frozen=True)
class RetrainRequest:
    full: bool = False
    if_drift: bool = False
    dry_run: bool = False  # evaluate and record, never promote
    include_unlabelled: bool = False
    seed: int = 0
    epochs: int | None = None  # overrides finetune_epochs / full_epochs
    archive_dir: Path | None = None
    labels_db: Path | None = None
    keep_work: bool = False


def tolerances(settings: Settings) -> Tolerances:
    lc = settings.lifecycle
    return Tolerances(lc.far_tolerance, lc.detection_tolerance, lc.auc_tolerance,
                      lc.min_eval_windows)


def registry_of(settings: Settings) -> Registry:
    return Registry(settings.lifecycle.registry)


def archive_drift(settings: Settings, root: Path, version: str,
                  model_dir: Path) -> dict[str, Any]:
    """PSI of the latest archived scores of ``version`` (module docstring, step 1)."""
    from consumer.archive.reader import read_scores  # noqa: PLC0415

    lc = settings.lifecycle
    reference = load_reference(version, model_dir)
    if reference is None or not (root / "scores").is_dir():
        return {"psi": None, "windows": 0, "threshold": lc.drift_threshold}
    table = read_scores(root)
    versions = np.asarray(table.column("model_version").to_pylist(), dtype=object)
    scores = table.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    at = table.column("scored_at_ms").to_numpy(zero_copy_only=False)
    mine = np.flatnonzero((versions == version) & np.isfinite(scores))
    latest = mine[np.argsort(at[mine], kind="stable")][-lc.drift_window:]
    value = psi_of_scores(reference, scores[latest]) if len(latest) >= lc.drift_min_windows \
        else float("nan")
    return {"psi": value, "windows": len(latest), "threshold": lc.drift_threshold}


def _existing(*paths: Path) -> list[Path]:
    return [p for p in paths if p.is_dir() and any(p.glob("*.csv"))]


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    out = {k: result.get(k) for k in SUMMARY_KEYS}
    out["per_fault"] = {fault: {k: v for k, v in info.items() if k != "by_view"}
                        for fault, info in result.get("per_fault", {}).items()}
    return out


def retrain(settings: Settings, request: RetrainRequest) -> dict[str, Any]:
    """One retrain run (module docstring); returns the history entry it appended."""
    registry = registry_of(settings)
    with registry.locked():
        return _retrain_locked(settings, request, registry)


def _retrain_locked(
    settings: Settings, request: RetrainRequest, registry: Registry
) -> dict[str, Any]:
    started = time.perf_counter()
    lc, a = settings.lifecycle, settings.archive
    champion_name = registry.current()
    if champion_name is None:
        raise DataError(f"the registry {registry.root} has no current model: run "
                        "`barunrun model bootstrap --registry` or `barunrun model register DIR "
                        "--promote` first")
    champion = registry.get(champion_name)
    mode = "full" if request.full else "finetune"
    root = request.archive_dir or Path(a.dir)
    entry: dict[str, Any] = {"action": "retrain", "mode": mode, "current_before": champion_name,
                             "archive": str(root)}

    if request.if_drift:
        drift = archive_drift(settings, root, champion_name, champion.path)
        entry["drift"] = drift
        if drift["psi"] is None or not np.isfinite(drift["psi"]) \
                or drift["psi"] < lc.drift_threshold:
            why = (f"score drift PSI {drift['psi']:.3f} below {lc.drift_threshold}"
                   if drift["psi"] is not None and np.isfinite(drift["psi"])
                   else f"too few archived scores of {champion_name} to judge drift "
                        f"({drift['windows']} < {lc.drift_min_windows})")
            entry.update(decision="skipped", reasons=[why], current_after=champion_name,
                         seconds={"total": round(time.perf_counter() - started, 2)})
            return history.append(registry.history_path, entry)

    work = Path(lc.workdir) if lc.workdir else registry.root / WORK_DIR
    run_dir = work / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:6]}"
    try:
        entry.update(_run(settings, request, registry, champion, run_dir, root))
    finally:
        if not request.keep_work:
            shutil.rmtree(run_dir, ignore_errors=True)
    entry["seconds"]["total"] = round(time.perf_counter() - started, 2)
    record = history.append(registry.history_path, entry)
    log.info("retrain %s mode=%s champion=%s challenger=%s reasons=%s", record["decision"], mode,
             champion_name, record.get("challenger", {}).get("version"), record["reasons"])
    return record


def _run(
    settings: Settings, request: RetrainRequest, registry: Registry, champion: Any,
    run_dir: Path, root: Path,
) -> dict[str, Any]:
    from consumer.labels.training_set import dataset_from_archive  # noqa: PLC0415

    lc = settings.lifecycle
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    dataset = run_dir / "dataset"
    built = dataset_from_archive(settings, root, dataset, labels_db=request.labels_db,
                                 include_unlabelled=request.include_unlabelled)
    seconds["dataset"] = round(time.perf_counter() - t0, 2)
    splits = built["splits"]
    data: dict[str, Any] = {
        "users": {name: len(info["users"]) for name, info in splits.items()},
        "windows": {name: info["windows"] for name, info in splits.items()},
        "label_submissions": built["source"]["submissions"],
        "eval_users": splits["test"]["users"],
    }
    train_only = _existing(dataset / "train" / "normal")
    val_normal = _existing(dataset / "val" / "normal")
    train_normal = [*train_only, *val_normal]
    test_normal = _existing(dataset / "test" / "normal")
    test_abnormal = _existing(dataset / "test" / "abnormal")
    if not train_normal:
        raise DataError("the archive and labels give no normal training run: label some runs "
                        "normal (or use --include-unlabelled)")
    if not test_normal:
        return {"decision": "refused", "data": data, "seconds": seconds,
                "reasons": ["no labelled normal runs of held-out (test) users to judge on"],
                "current_after": champion.name}

    pool = replay.pool_paths(registry.replay_dir)
    t0 = time.perf_counter()
    challenger_dir = run_dir / "challenger"
    trained = _train(settings, request, champion, train_only, val_normal, pool,
                     challenger_dir)
    seconds["train"] = round(time.perf_counter() - t0, 2)
    warm = trained.manifest.training.get("warm_start", {})
    data["train_windows"] = trained.manifest.training.get("train_windows")
    data["replay_windows"] = warm.get("replay_windows") if warm else None
    data["replay_files"] = len(replay.pool_files(registry.replay_dir))

    t0 = time.perf_counter()
    champion_run, challenger_run = _evaluate(settings, champion.path, challenger_dir,
                                             test_normal, test_abnormal)
    champion_eval, challenger_eval = champion_run.summary, challenger_run.summary
    seconds["evaluate"] = round(time.perf_counter() - t0, 2)
    verdict: Verdict = decide(champion_eval, challenger_eval, tolerances(settings))
    out: dict[str, Any] = {
        "champion": {"version": champion.name, "metrics": _summary(champion_eval)},
        "challenger": {"version": trained.manifest.version, "metrics": _summary(challenger_eval),
                       "train_seconds": trained.seconds},
        "tolerances": tolerances(settings).as_dict(),
        "judged": verdict.judged,
        "reasons": verdict.reasons,
        "data": data,
        "seconds": seconds,
    }
    if not verdict.promote:
        return {**out, "decision": "refused", "current_after": champion.name}
    if request.dry_run:
        return {**out, "decision": "refused", "current_after": champion.name,
                "reasons": ["dry run: would have been promoted"]}
    # The drift monitor's reference: the new model's scores on the held-out users' normal
    # windows (drift.py), written before the directory enters the registry.
    normal = challenger_run.labels == "normal"
    write_reference(challenger_dir, trained.manifest.version, challenger_run.scores[normal],
                    f"held-out normal windows of users {', '.join(data['eval_users'])}")
    version = registry.add(challenger_dir)
    registry.set_current(version.name)
    files, users = replay.recordings_with_users(train_normal)
    data["replay_added"] = replay.add_to_pool(
        registry.replay_dir, files, users, max_runs=lc.replay_max_runs,
        frames_per_run=lc.replay_frames_per_run, seed=request.seed)
    return {**out, "decision": "promoted", "current_after": version.name}


def _train(
    settings: Settings, request: RetrainRequest, champion: Any, train_normal: list[Path],
    val_normal: list[Path], pool: list[Path], out: Path,
) -> Any:
    lc = settings.lifecycle
    if request.full:
        from consumer.lifecycle.finetune import options_of  # noqa: PLC0415
        from consumer.training.train import train  # noqa: PLC0415

        overrides: dict[str, Any] = {"seed": request.seed}
        epochs = request.epochs or lc.full_epochs
        if epochs:
            overrides["epochs"] = epochs
        # replay_ratio 0 turns replay off for a full retrain too (a fresh population only).
        replayed = pool if lc.replay_ratio > 0 else []
        return train([*train_normal, *val_normal, *replayed], out,
                     options_of(champion.manifest, **overrides))
    from consumer.lifecycle.finetune import FinetunePlan, finetune  # noqa: PLC0415

    plan = FinetunePlan(epochs=request.epochs or lc.finetune_epochs,
                        learning_rate=lc.finetune_learning_rate, replay_ratio=lc.replay_ratio,
                        seed=request.seed)
    if not train_normal:
        raise DataError("no normal runs of training users to fine-tune on")
    return finetune(champion.path, train_normal, pool, out, plan, calibration=val_normal)


def _evaluate(
    settings: Settings, champion_dir: Path, challenger_dir: Path, normal: list[Path],
    abnormal: list[Path],
) -> tuple[Any, Any]:
    """Both models on the very same windows of the held-out users (ModelEvaluation each)."""
    from consumer.model.artifact import load_scorer  # noqa: PLC0415 - loads TensorFlow
    from consumer.training.evaluate import evaluate_scorer, load_evaluation_data  # noqa: PLC0415

    champion = load_scorer(champion_dir, settings.model.batch_sizes)
    challenger = load_scorer(challenger_dir, settings.model.batch_sizes)
    if champion.window_size != challenger.window_size:
        raise DataError("champion and challenger use different window sizes")
    w = settings.window
    config = WindowConfig(size=champion.window_size, hop=settings.lifecycle.eval_hop,
                          max_gap_frames=w.max_gap_frames)
    data = load_evaluation_data(normal, abnormal, config)
    return evaluate_scorer(champion, data), evaluate_scorer(challenger, data)
