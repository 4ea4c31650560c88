"""``barunrun retrain``: fine-tune (or ``--full`` retrain) the current model on the archive and
labels, compare it with the champion on held-out users, promote it if it is not worse
(docs/model-lifecycle.md). Prints the history entry as JSON; exits 0 whether promoted,
refused or skipped (the decision is data, not an error)."""

from __future__ import annotations

import argparse
import json
import logging
import threading
from pathlib import Path

from consumer.commands import settings_from_args
from consumer.errors import BarunRunError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--full", action="store_true",
                        help="train a new network from scratch with the champion's recipe "
                        "instead of fine-tuning the champion (warm start)")
    parser.add_argument("--if-drift", action="store_true",
                        help="only when the champion's archived scores drifted from its "
                        "calibration (PSI >= [lifecycle] drift_threshold); else 'skipped'")
    parser.add_argument("--dry-run", action="store_true",
                        help="train and evaluate, record the outcome, never promote")
    parser.add_argument("--epochs", type=int, help="override finetune_epochs / full_epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--archive", type=Path, metavar="DIR",
                        help="the archive (default: [archive] dir)")
    parser.add_argument("--labels-db", type=Path, metavar="FILE",
                        help="the label store (default: [archive] labels_db)")
    parser.add_argument("--registry", type=Path, metavar="ROOT",
                        help="the model registry (default: [lifecycle] registry)")
    parser.add_argument("--include-unlabelled", action="store_true",
                        help="train on unlabelled archived frames of training users as normal")
    parser.add_argument("--keep-work", action="store_true",
                        help="keep the run's dataset and challenger under the work directory")
    parser.add_argument("--every", type=float, metavar="SECONDS", default=0.0,
                        help="run again every SECONDS until SIGTERM (the compose `retrain` "
                        "service); a failed run is logged and retried at the next turn")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.registry is not None:
        settings = settings.with_overrides(lifecycle={"registry": str(args.registry)})
    from consumer.lifecycle.retrain import RetrainRequest, retrain  # noqa: PLC0415

    if args.epochs is not None and args.epochs < 1:
        from consumer.errors import ConfigError  # noqa: PLC0415

        raise ConfigError("--epochs must be at least 1")
    request = RetrainRequest(
        full=args.full, if_drift=args.if_drift, dry_run=args.dry_run,
        include_unlabelled=args.include_unlabelled, seed=args.seed, epochs=args.epochs,
        archive_dir=args.archive, labels_db=args.labels_db, keep_work=args.keep_work,
    )
    if args.every <= 0:
        print(json.dumps(retrain(settings, request)))
        return 0
    stop = threading.Event()
    _stop_on_signals(stop)
    while not stop.is_set():
        try:
            print(json.dumps(retrain(settings, request)), flush=True)
        except BarunRunError as exc:  # the next turn may have the data or services back
            log.error("retrain failed, next try in %.0f s: %s", args.every, exc)
        stop.wait(args.every)
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    import signal  # noqa: PLC0415

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
