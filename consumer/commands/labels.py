"""``barunrun labels ingest|report``: the label store and its quality report."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from consumer.commands import settings_from_args
from consumer.labels.store import store_path


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    ingest = actions.add_parser(
        "ingest", help="store label messages from topics.labels (append-only SQLite)",
        description="Consume topics.labels into the label store until SIGTERM (or idle).",
    )
    ingest.add_argument("--until-idle", type=float, metavar="SECONDS",
                        help="stop once nothing new arrived for this long")
    report = actions.add_parser(
        "report", help="coverage, class balance, conflicts, agreement, dangling labels",
        description="The labels report over the archive and the label store.",
    )
    report.add_argument("--json", action="store_true", help="print one JSON object")
    for sub in (ingest, report):
        # Accepted after the action too (`labels report --config X`), like every command's.
        sub.add_argument("--config", default=argparse.SUPPRESS, help="TOML config file")
        sub.add_argument("--log-level", default=argparse.SUPPRESS,
                         choices=["DEBUG", "INFO", "WARNING", "ERROR"])
        sub.add_argument("--labels-db", type=Path,
                         help="label store (default: archive.labels_db or <archive.dir>/"
                              "labels.sqlite)")
    report.add_argument("--archive", type=Path,
                        help="archive directory (default: archive.dir); the label store "
                             "defaults to labels.sqlite in it unless archive.labels_db is set")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.labels_db is not None:
        settings = settings.with_overrides(archive={"labels_db": str(args.labels_db)})
    if args.action == "ingest":
        from consumer.labels.ingest import run_ingest  # noqa: PLC0415 - loads the Kafka client

        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
        counts = run_ingest(settings, stop, until_idle_s=args.until_idle)
        print(json.dumps({"labels_db": settings.archive.labels_path(), **counts.to_dict()}),
              flush=True)
        return 0
    from consumer.labels.report import load_report  # noqa: PLC0415

    root = args.archive or Path(settings.archive.dir)
    report = load_report(root, store_path(settings.archive, root),
                         settings.archive.trusted_labellers)
    if args.json:
        print(json.dumps(report))
        return 0
    from rich.console import Console  # noqa: PLC0415

    # Wide enough for the conflict table when piped (rich assumes 80 columns off a terminal).
    console = Console(width=None if sys.stdout.isatty() else 140)
    from consumer.labels.render import render_report  # noqa: PLC0415

    render_report(report, console)
    return 0
