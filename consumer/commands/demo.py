"""``barunrun demo``: the main job on the embedded default, with a live view of anomalies."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rich.console import Console

from consumer.logs import configure_logging
from consumer.settings import load_settings


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--runners", type=int, default=12, help="simulated runners (default 12)")
    parser.add_argument("--duration", type=float, default=60.0, metavar="SECONDS",
                        help="length of each runner's session (default 60)")
    parser.add_argument("--fault-rate", type=float, default=0.34,
                        help="share of runners whose form goes wrong mid-session (default 0.34)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fast", action="store_true",
                        help="stream as fast as possible instead of at 30 fps per runner")
    parser.add_argument("--model-dir", type=Path,
                        help="serve this model (default: models/demo/model, trained if missing)")
    parser.add_argument("--retrain", action="store_true", help="retrain the cached demo model")
    parser.add_argument("--via-gateway", action="store_true",
                        help="simulated phones post to the ingestion gateway instead of Kafka")
    parser.add_argument(
        "--detectors", default="autoencoder,rules", metavar="NAMES",
        help="whose flags make events (default autoencoder,rules: the autoencoder alone misses "
             "faults the rules see; docs/metrics.md compares them)")
    parser.add_argument("--no-live", action="store_true", help="progress lines, no live table")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")


def run(args: argparse.Namespace) -> int:
    from consumer.demo.run import DemoOptions, run_demo  # noqa: PLC0415 - keeps --help fast

    settings = load_settings(getattr(args, "config", None))
    detectors = [name.strip() for name in args.detectors.split(",") if name.strip()]
    settings = settings.with_overrides(detectors={"enabled": detectors})
    # Library logs would tear the live table; warnings and errors still show.
    configure_logging(getattr(args, "log_level", None) or "WARNING", settings.logging.format)
    logging.getLogger("consumer.serve").setLevel(logging.ERROR if not args.no_live else "WARNING")
    console = Console(stderr=args.json)
    if not console.is_terminal:
        console = Console(stderr=args.json, width=max(console.width, 140))
    options = DemoOptions(
        runners=args.runners, duration_s=args.duration, fault_rate=args.fault_rate,
        seed=args.seed, realtime=not args.fast, model_dir=args.model_dir,
        retrain=args.retrain, live=not args.no_live and console.is_terminal,
        via_gateway=args.via_gateway,
    )
    summary = run_demo(settings, options, console)
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0
