"""``barunrun train``: train a posture model on normal recordings and calibrate its threshold."""

from __future__ import annotations

import argparse
import json
import logging

from consumer.commands import settings_from_args
from consumer.errors import ConfigError
from consumer.features import parse_joints
from consumer.model.calibration import THRESHOLD_METHODS
from consumer.training.train import MODEL_KINDS, TrainOptions

log = logging.getLogger(__name__)


# The seed notebook's training recipe, which ``--features raw`` reproduces unless an option
# is given explicitly: 20 epochs of batch 16 on stride-1 windows, learning rate 1e-3, and a
# threshold of mean + 3 std of the training windows' errors.
SEED_RECIPE = {"epochs": 20, "batch_size": 16, "hop": 1, "learning_rate": 1e-3,
               "calibration_split": 0.0, "threshold_method": "mean_std"}


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    defaults = TrainOptions()
    parser.add_argument("--normal", nargs="+", required=True, metavar="PATH",
                        help="normal recordings: CSV files or directories of them")
    parser.add_argument("--out", required=True, metavar="DIR", help="model directory to write")
    parser.add_argument("--features", choices=["kinematic", "body", "raw"], default="kinematic",
                        help="kinematic: running-form angles and offsets in the runner's frame "
                        "(default); body: body-centred positions and angles; raw: the seed "
                        "recipe (with the seed's training options unless given)")
    parser.add_argument("--runner-relative", action="store_true",
                        help="read each window against the runner's own usual channel levels, "
                        "learned from their first seconds (kinematic and body features; "
                        "docs/model.md)")
    parser.add_argument("--gait-channels", action="store_true",
                        help="with --runner-relative and kinematic features: also score each "
                             "gait metric's change against the runner's usual value "
                             "(cadence, step timing, foot placement; docs/model.md)")
    parser.add_argument("--model", choices=sorted(MODEL_KINDS), default="lstm",
                        help="lstm (seed LSTM autoencoder, default), transformer, or pca")
    parser.add_argument("--joints", help="joint set (all, lower_body, legs, running) or "
                        "comma-separated landmark names; default: running (body, kinematic), "
                        "all (raw)")
    parser.add_argument("--epochs", type=int, help=f"default {defaults.epochs}")
    parser.add_argument("--batch-size", type=int, help=f"default {defaults.batch_size}")
    parser.add_argument("--learning-rate", type=float, help=f"default {defaults.learning_rate}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibration-split", type=float, metavar="FRACTION",
                        help="fraction of runners held out to fit the error scales and the "
                        f"threshold (default {defaults.calibration_split}; 0: calibrate on the "
                        "training windows, as the seed did)")
    parser.add_argument("--threshold-method", choices=THRESHOLD_METHODS,
                        help=f"default {defaults.threshold_method}")
    parser.add_argument("--k", type=float, default=3.0, help="mean_std: mean + k * std")
    parser.add_argument("--quantile", type=float, default=defaults.quantile,
                        help="quantile: target false-alarm rate is 1 - quantile")
    parser.add_argument("--scoring", choices=["auto", "mean", "normalized_top_k"],
                        default="auto", help="how channel errors become a score (auto: "
                        "normalized_top_k, or mean for raw features)")
    parser.add_argument("--hop", type=int, help=f"training window stride (default {defaults.hop})")
    parser.add_argument("--json", action="store_true", help="print the manifest summary as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _resolved(args: argparse.Namespace, name: str) -> object:
    """An option as given, else the seed recipe's (raw features), else the default."""
    given = getattr(args, name)
    if given is not None:
        return given
    if args.features == "raw" and name in SEED_RECIPE:
        return SEED_RECIPE[name]
    return getattr(TrainOptions(), name)


def options_from_args(args: argparse.Namespace, window_size: int, max_gap: int) -> TrainOptions:
    try:
        joints = parse_joints(args.joints) if args.joints else None
    except ValueError as exc:
        raise ConfigError(f"--joints: {exc}") from exc
    names = ("epochs", "batch_size", "hop", "learning_rate", "calibration_split",
             "threshold_method")
    values = {name: _resolved(args, name) for name in names}
    if values["epochs"] < 1 or values["batch_size"] < 1 or values["hop"] < 1:
        raise ConfigError("--epochs, --batch-size and --hop must be >= 1")
    if not 0.0 <= values["calibration_split"] < 1.0:
        raise ConfigError("--calibration-split must be in [0, 1)")
    if not 0.0 < args.quantile < 1.0 or args.k <= 0 or values["learning_rate"] <= 0:
        raise ConfigError("--quantile must be in (0, 1), --k and --learning-rate > 0")
    if values["hop"] > window_size:
        raise ConfigError(f"--hop must not exceed the window size ({window_size})")
    if args.runner_relative and args.features == "raw":
        raise ConfigError("--runner-relative needs kinematic or body features, not raw")
    if args.gait_channels and not (args.runner_relative and args.features == "kinematic"):
        raise ConfigError("--gait-channels needs --runner-relative and kinematic features")
    return TrainOptions(
        features=args.features, model=args.model, joints=joints, seed=args.seed, k=args.k,
        quantile=args.quantile, scoring=args.scoring, window_size=window_size,
        max_gap_frames=max_gap, runner_relative=args.runner_relative,
        gait_channels=args.gait_channels, **values,
    )


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    options = options_from_args(args, settings.window.size, settings.window.max_gap_frames)
    from consumer.training.progress import training_progress  # noqa: PLC0415
    from consumer.training.train import train  # noqa: PLC0415

    epochs = 1 if options.model == "pca" else options.epochs
    with training_progress(epochs, enabled=not args.no_progress) as progress:
        result = train(args.normal, args.out, options, progress=progress)
    manifest = result.manifest
    summary = {
        "model_dir": str(result.model_dir),
        "version": manifest.version,
        "kind": manifest.kind,
        "threshold": manifest.threshold.value,
        "threshold_method": manifest.threshold.method,
        "train_windows": manifest.training["train_windows"],
        "calibration_windows": manifest.metrics.get("calibration_windows"),
        "calibration_runners": manifest.training["calibration_runners"],
        "seconds": round(result.seconds, 1),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:20} {value}")
    return 0
