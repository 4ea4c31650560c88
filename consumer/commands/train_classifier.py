"""``barunrun train-classifier``: a supervised bad-form classifier on labelled windows.

Trains on the train users, stops early and sets its threshold on the val users, and reports
precision, recall, F1, ROC AUC, PR AUC and confusion matrices on the test users, with the
autoencoder (``--compare-autoencoder``) scored on the very same windows.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from consumer.commands import settings_from_args
from consumer.errors import ConfigError
from consumer.features import parse_joints


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    from consumer.classifier.networks import ARCHS  # noqa: PLC0415 - no TensorFlow here
    from consumer.classifier.train import ClassifierOptions  # noqa: PLC0415

    d = ClassifierOptions()
    source = parser.add_argument_group("data (recordings, or an archive training set)")
    source.add_argument("--normal", nargs="+", default=[], metavar="PATH",
                        help="normal recordings: CSV files or directories of them")
    source.add_argument("--abnormal", nargs="+", default=[], metavar="PATH",
                        help="faulty recordings (labels.csv beside them gives fault ranges)")
    source.add_argument("--training-set", metavar="DIR",
                        help="a training set from `barunrun dataset --from-archive` (its "
                        "train/val/test folders are already split by user)")
    source.add_argument("--test-normal", nargs="+", default=[], metavar="PATH",
                        help="held-out users' normal recordings (instead of the test share)")
    source.add_argument("--test-abnormal", nargs="+", default=[], metavar="PATH",
                        help="held-out users' faulty recordings")
    source.add_argument("--split", metavar="TRAIN,VAL,TEST",
                        help="user shares for recordings (default: archive.split)")
    parser.add_argument("--out", required=True, metavar="DIR", help="model directory to write")
    parser.add_argument("--arch", choices=ARCHS, default=d.arch, help=f"default {d.arch}")
    parser.add_argument("--fault-head", action="store_true",
                        help="also learn which fault (softmax over the faults in the labels)")
    parser.add_argument("--features", choices=["kinematic", "body", "raw"], default=d.features,
                        help="feature preset, as `barunrun train` (default kinematic)")
    parser.add_argument("--joints", help="joint set or comma-separated landmark names")
    parser.add_argument("--epochs", type=int, default=d.epochs,
                        help=f"at most (early stopping), default {d.epochs}")
    parser.add_argument("--patience", type=int, default=d.patience,
                        help=f"epochs without val improvement before stopping (default "
                        f"{d.patience})")
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--hop", type=int, default=d.hop,
                        help=f"training window stride (default {d.hop})")
    parser.add_argument("--eval-hop", type=int, default=d.eval_hop,
                        help=f"stride of separate test recordings' windows (default {d.eval_hop})")
    parser.add_argument("--decision", choices=["max_f1", "false_alarm", "fixed"],
                        default=d.decision, help="how the threshold is chosen on the val "
                        "users: best F1 (default), a false-alarm rate, or --threshold")
    parser.add_argument("--false-alarm", type=float, default=d.false_alarm,
                        help=f"--decision false_alarm: target rate (default {d.false_alarm})")
    parser.add_argument("--threshold", type=float, default=d.threshold,
                        help=f"--decision fixed: the probability (default {d.threshold})")
    parser.add_argument("--compare-autoencoder", metavar="DIR",
                        help="an autoencoder model directory scored on the same test windows")
    parser.add_argument("--report", metavar="DIR",
                        help="write PNGs: confusion matrices, ROC and PR curves, training")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _shares(text: str | None, default: tuple[float, float, float]) -> tuple[float, float, float]:
    if not text:
        return default
    try:
        shares = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"--split {text!r}: three numbers, e.g. 0.7,0.15,0.15") from None
    if len(shares) != 3 or any(s < 0 for s in shares) or abs(sum(shares) - 1) > 1e-6:
        raise ConfigError(f"--split {text!r}: three non-negative shares summing to 1")
    return shares  # type: ignore[return-value]


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if bool(args.training_set) == bool(args.normal or args.abnormal):
        raise ConfigError("give --normal/--abnormal recordings or --training-set, not both")
    if args.training_set and (args.test_normal or args.test_abnormal):
        raise ConfigError("--test-* recordings go with --normal/--abnormal; a training set "
                          "has its own test users")
    for name in ("epochs", "batch_size", "hop", "eval_hop", "patience"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1")
    if max(args.hop, args.eval_hop) > settings.window.size:
        raise ConfigError(f"--hop and --eval-hop must not exceed the window size "
                          f"({settings.window.size})")
    if not 0 < args.false_alarm < 1 or not 0 < args.threshold < 1 or args.learning_rate <= 0:
        raise ConfigError("--false-alarm and --threshold must be in (0, 1), --learning-rate > 0")
    try:
        joints = parse_joints(args.joints) if args.joints else None
    except ValueError as exc:
        raise ConfigError(f"--joints: {exc}") from exc
    shares = _shares(args.split, settings.archive.split)

    from consumer.classifier.data import split_recordings, split_training_set  # noqa: PLC0415
    from consumer.classifier.train import ClassifierOptions, train_classifier  # noqa: PLC0415

    options = ClassifierOptions(
        arch=args.arch, fault_head=args.fault_head, features=args.features, joints=joints,
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        patience=args.patience, seed=args.seed, hop=args.hop, eval_hop=args.eval_hop,
        window_size=settings.window.size, max_gap_frames=settings.window.max_gap_frames,
        decision=args.decision, false_alarm=args.false_alarm, threshold=args.threshold,
    )
    if args.training_set:
        split = split_training_set(args.training_set, options.window_config())
    else:
        split = split_recordings(
            args.normal, args.abnormal, options.window_config(), shares,
            settings.archive.split_salt, args.test_normal, args.test_abnormal,
            options.window_config(evaluation=True),
        )
    autoencoder = None
    if args.compare_autoencoder:
        from consumer.model.artifact import load_scorer  # noqa: PLC0415 - loads TF

        autoencoder = load_scorer(args.compare_autoencoder, settings.model.batch_sizes)
    from consumer.training.progress import training_progress  # noqa: PLC0415

    with training_progress(options.epochs, enabled=not args.no_progress) as progress:
        result = train_classifier(split, args.out, options, autoencoder, progress)
    summary = _summary(result)
    if args.report:
        if result.evaluation is None:
            raise ConfigError("--report needs test users (a test share or --test-* recordings)")
        from consumer.classifier.report import write_report  # noqa: PLC0415

        written = write_report(result.evaluation, result.manifest.history, args.report)
        summary["report"] = [str(p) for p in written]
    from consumer.classifier.metrics import json_ready  # noqa: PLC0415

    if args.json:
        print(json.dumps(json_ready(summary)))
    else:
        _print(summary)
    return 0


def _summary(result: Any) -> dict[str, Any]:
    manifest = result.manifest
    training = manifest.training
    summary: dict[str, Any] = {
        "model_dir": str(result.model_dir),
        "version": manifest.version,
        "kind": manifest.kind,
        "arch": manifest.classifier["arch"],
        "faults": manifest.classifier["faults"],
        "threshold": manifest.threshold.value,
        "decision": manifest.threshold.method,
        "users": {k: len(v) for k, v in training["users"].items()},
        "train_windows": training["train_windows"],
        "train_bad_form_windows": training["train_bad_form_windows"],
        "val_windows": training["val_windows"],
        "best_epoch": training["best_epoch"],
        "epochs_run": training["epochs_run"],
        "seconds": round(result.seconds, 1),
        "validation": manifest.metrics["validation"],
    }
    if result.evaluation is not None:
        summary["test"] = result.evaluation.summary
    return summary


def _print(summary: dict[str, Any]) -> None:
    def fmt(value: Any) -> str:
        if isinstance(value, float):
            return "-" if not math.isfinite(value) else f"{value:.4g}"
        return str(value)

    for key in ("model_dir", "version", "arch", "faults", "threshold", "decision", "users",
                "train_windows", "val_windows", "best_epoch", "epochs_run", "seconds"):
        print(f"{key:22} {fmt(summary[key])}")
    test = summary.get("test")
    if not test:
        print("no test users: nothing evaluated")
        return
    models = [m for m in ("classifier", "autoencoder") if m in test]
    print(f"\nheld-out users: {len(test['users'])}, windows scored by both: "
          f"{test['windows_scored_by_both']}")
    print(f"{'':22}" + "".join(f"{m:>14}" for m in models))
    for metric in ("precision", "recall", "f1", "false_alarm_rate", "roc_auc", "pr_auc"):
        print(f"{metric:22}" + "".join(f"{fmt(test[m][metric]):>14}" for m in models))
    for m in models:
        c = test[m]["confusion_matrix"]
        print(f"{m} confusion: tn={c['tn']} fp={c['fp']} fn={c['fn']} tp={c['tp']}")
    head = test["classifier"].get("fault_head")
    if head:
        print(f"fault head accuracy on faulty windows: {fmt(head['accuracy'])}")
