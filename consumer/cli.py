"""The ``barunrun`` command line: a thin layer over importable functions.

Each subcommand lives in a module with ``add_arguments(parser)`` and ``run(args) -> int``;
modules are imported only for the subcommand that runs, so ``--help`` stays fast and
TensorFlow loads only where a model is needed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from consumer.errors import (
    BarunRunError,
    ConfigError,
    DataError,
    ModelArtifactError,
    ServiceUnavailable,
    StackError,
)

# name -> (module, one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("consumer.commands.demo", "run everything on the embedded stack and watch anomalies"),
    "dev": ("consumer.commands.dev", "start the embedded broker and Redis until Ctrl-C"),
    "dataset": ("producer_sim.commands", "write simulated sessions as recording CSVs + labels"),
    "simulate": ("producer_sim.commands", "stream simulated runners (or recordings) to Kafka"),
    "train": ("consumer.commands.train", "train the autoencoder on normal recordings"),
    "evaluate": ("consumer.commands.evaluate", "score normal and abnormal recordings"),
    "train-classifier": ("consumer.commands.train_classifier", "train the bad-form classifier"),
    "serve": ("consumer.commands.serve", "run the streaming consumer"),
    "model": ("consumer.commands.model", "manage model directories (bootstrap, ...)"),
    "retrain": ("consumer.commands.retrain", "retrain from the archive; promote if not worse"),
    "metrics": ("consumer.commands.metrics", "gait metrics and coaching cues per recording"),
    "report": ("consumer.commands.report", "an HTML runner report of one session"),
    "archive": ("consumer.commands.archive", "archive frames and score records to Parquet"),
    "label": ("consumer.commands.label", "submit a label for a user, session and frame range"),
    "labels": ("consumer.commands.labels", "ingest labels; report on their quality"),
    "alerts": ("consumer.commands.alerts", "example alert subscribers: tail, webhook"),
    "gateway": ("consumer.commands.gateway", "run the ingestion gateway (WebSocket + HTTP)"),
    "token": ("consumer.commands.token", "issue device tokens for the gateway"),
    "bench": ("consumer.commands.bench", "throughput, latency and scale vs the limit and naive"),
}

EXIT_CODES: tuple[tuple[type[BarunRunError], int], ...] = (
    (ConfigError, 2),
    (ServiceUnavailable, 3),
    (ModelArtifactError, 4),
    (DataError, 5),
    (StackError, 6),
)


def _load(module_name: str):
    return importlib.import_module(module_name)


def build_parser(
    argv: Sequence[str] | None = None,
    commands: dict[str, tuple[str, str]] | None = None,
    prog: str = "barunrun",
) -> argparse.ArgumentParser:
    commands = COMMANDS if commands is None else commands
    parser = argparse.ArgumentParser(
        prog=prog, description="BarunRun: real-time running-posture anomaly detection."
    )
    # Accepted before or after the subcommand: `barunrun --config X serve` or `serve --config X`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", default=argparse.SUPPRESS,
        help="TOML config file (default: $BARUNRUN_CONFIG, else config/barunrun.toml)",
    )
    common.add_argument(
        "--log-level", default=argparse.SUPPRESS, choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--log-level", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Only the chosen subcommand's module is imported (argparse needs its arguments).
    chosen = next((a for a in (argv or []) if a in commands), None)
    for name, (module_name, help_text) in commands.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        if chosen == name:
            _load(module_name).add_arguments(sub_parser, name)
    return parser


def main(
    argv: Sequence[str] | None = None,
    commands: dict[str, tuple[str, str]] | None = None,
    prog: str = "barunrun",
) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = COMMANDS if commands is None else commands
    # TensorFlow's C++ start-up chatter (XLA, oneDNN) is noise for users; set before any import.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser(argv, commands, prog)
    args = parser.parse_args(argv)
    module = _load(commands[args.command][0])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BarunRunError as exc:
        logging.getLogger("barunrun").debug("failed", exc_info=True)
        print(f"{prog} {args.command}: error: {exc}", file=sys.stderr)
        return next((code for kind, code in EXIT_CODES if isinstance(exc, kind)), 1)


if __name__ == "__main__":
    sys.exit(main())
