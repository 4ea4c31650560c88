"""``barunrun archive``: frames and score records to the Parquet archive; retention, compaction."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from consumer.commands import settings_from_args
from consumer.errors import ConfigError
from consumer.settings import Settings


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--dir", type=Path, help="archive directory (default: archive.dir)")
    parser.add_argument(
        "--until-idle", type=float, metavar="SECONDS",
        help="stop once nothing new arrived for this long (batch runs); default: run until "
             "SIGTERM or Ctrl-C",
    )
    upkeep = parser.add_mutually_exclusive_group()
    upkeep.add_argument("--retention", action="store_true",
                        help="apply retention (age, size) once and exit")
    upkeep.add_argument("--compact", action="store_true",
                        help="merge the small files of closed days once and exit")
    parser.add_argument("--dry-run", action="store_true",
                        help="with --retention: list what would go, delete nothing")


def _with_dir(settings: Settings, folder: Path | None) -> Settings:
    if folder is None:
        return settings
    return settings.with_overrides(archive={"dir": str(folder)})


def run(args: argparse.Namespace) -> int:
    settings = _with_dir(settings_from_args(args), args.dir)
    root = Path(settings.archive.dir)
    if args.dry_run and not args.retention:
        raise ConfigError("--dry-run goes with --retention")
    if args.retention:
        from consumer.archive.retention import apply_retention  # noqa: PLC0415

        plan = apply_retention(root, settings.archive.retention_days,
                               settings.archive.max_bytes, dry_run=args.dry_run)
        print(json.dumps({"dry_run": args.dry_run, **plan.to_dict()}))
        return 0
    if args.compact:
        from consumer.archive.compact import compact  # noqa: PLC0415

        print(json.dumps({"compacted_files": compact(root, settings.archive.compact_after_days)}))
        return 0
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    from consumer.archive.service import run_archive  # noqa: PLC0415 - loads the Kafka client

    counts = run_archive(settings, stop, until_idle_s=args.until_idle)
    print(json.dumps({"archive": str(root), **counts.to_dict()}), flush=True)
    return 0
