"""``barunrun dataset`` and ``barunrun simulate``: thin CLI over the simulator's library."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from consumer.commands import settings_from_args
from consumer.errors import ConfigError
from consumer.recording import iter_recording_paths
from producer_sim.faults import FAULT_NAMES, VIEWS, check_faults, check_views


def _names(values: Sequence[str] | None) -> list[str] | None:
    """Accept both ``--faults a b`` and ``--faults a,b``."""
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--faults", nargs="+", metavar="FAULT",
        help=f"faults to use (default: all): {', '.join(FAULT_NAMES)}",
    )
    if name == "dataset":
        parser.add_argument("--out", required=True, type=Path, help="output directory")
        parser.add_argument("--normal-runners", type=int, default=24)
        parser.add_argument("--abnormal-runners", type=int, default=24,
                            help="runners with one fault each, cycling through --faults")
        parser.add_argument("--frames", type=int, default=600,
                            help="frames per session at 30 fps (default 600)")
        parser.add_argument("--views", nargs="+", metavar="VIEW",
                            help=f"camera views to use (default: all): {', '.join(VIEWS)}")
        parser.add_argument("--plot", action="store_true",
                            help="also write stick-figure PNGs (sim_normal.png, sim_faults.png)")
        parser.add_argument("--from-archive", type=Path, metavar="DIR",
                            help="instead: a training set from an archive and its resolved "
                                 "labels, split by user (docs/data.md)")
        parser.add_argument("--labels-db", type=Path,
                            help="with --from-archive: the label store (default: "
                                 "archive.labels_db, else DIR/labels.sqlite)")
        parser.add_argument("--include-unlabelled", action="store_true",
                            help="with --from-archive: unlabelled frames count as normal "
                                 "(train split only)")
    else:
        parser.add_argument("--runners", type=int, default=5)
        parser.add_argument("--duration", type=float, default=None,
                            help="seconds of running per runner (default 60; replays: whole file)")
        parser.add_argument("--fault-rate", type=float, default=0.3,
                            help="share of runners that develop a fault (default 0.3)")
        pace = parser.add_mutually_exclusive_group()
        pace.add_argument("--realtime", dest="realtime", action="store_true", default=True,
                          help="30 frames per second per runner (default)")
        pace.add_argument("--fast", dest="realtime", action="store_false",
                          help="as fast as the broker takes them")
        parser.add_argument("--replay", nargs="+", type=Path, metavar="PATH",
                            help="stream recording CSVs (files or directories) instead")
        parser.add_argument("--user-prefix", default="runner")
        parser.add_argument("--summary", type=Path, help="write the JSON summary to FILE too")


def run(args: argparse.Namespace) -> int:
    if args.command == "dataset":
        return _dataset(args)
    if args.command == "simulate":
        return _simulate(args)
    raise ConfigError(f"producer_sim has no command {args.command!r}")


def _dataset(args: argparse.Namespace) -> int:
    from producer_sim.dataset import write_dataset  # noqa: PLC0415 - keeps --help fast

    settings = settings_from_args(args)  # configures logging like every other command
    if args.from_archive is not None:
        from consumer.labels.training_set import dataset_from_archive  # noqa: PLC0415

        print(json.dumps(dataset_from_archive(
            settings, args.from_archive, args.out, args.labels_db, args.include_unlabelled,
        )))
        return 0
    faults = _names(args.faults)
    views = _names(args.views)
    if faults is not None:
        check_faults(faults)
    if views is not None:
        check_views(views)
    summary = write_dataset(
        args.out, normal_runners=args.normal_runners, abnormal_runners=args.abnormal_runners,
        frames=args.frames, seed=args.seed, faults=faults, views=views,
    )
    result = summary.to_dict()
    if args.plot:
        from producer_sim.plot import save_fault_figure, save_normal_figure  # noqa: PLC0415

        result["plots"] = [
            str(save_normal_figure(args.out / "sim_normal.png", seed=args.seed)),
            str(save_fault_figure(args.out / "sim_faults.png", seed=args.seed,
                                  faults=tuple(faults or FAULT_NAMES))),
        ]
    print(json.dumps(result))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from producer_sim.publish import stream_runners  # noqa: PLC0415 - loads the Kafka client

    settings = settings_from_args(args)
    faults = _names(args.faults)
    replay = list(iter_recording_paths(args.replay)) if args.replay else []
    duration = args.duration if args.duration is not None else (0.0 if replay else 60.0)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    summary = stream_runners(
        settings, runners=args.runners, duration_s=duration, fault_rate=args.fault_rate,
        realtime=args.realtime, seed=args.seed, faults=faults, replay=replay,
        user_prefix=args.user_prefix, stop=stop,
    )
    text = json.dumps(summary.to_dict())
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(text + "\n", encoding="utf-8")
    print(text)
    sys.stdout.flush()
    if summary.stopped_early:
        return 130
    return 1 if any(r.send_errors for r in summary.runners) else 0
