"""``barunrun serve``: the streaming consumer, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from consumer.commands import settings_from_args

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--model-dir", help="model directory to serve (default: model.dir)")
    parser.add_argument(
        "--metrics-port", type=int, help="HTTP port for /metrics, /healthz, /readyz (0: any free)"
    )
    parser.add_argument(
        "--startup-timeout", type=float, default=30.0, metavar="SECONDS",
        help="how long to wait for Kafka and Redis at start-up (default: 30)",
    )


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    overrides: dict[str, dict[str, object]] = {}
    if args.model_dir:
        overrides["model"] = {"dir": args.model_dir}
    if args.metrics_port is not None:
        overrides["metrics"] = {"port": args.metrics_port}
    if overrides:
        settings = settings.with_overrides(**overrides)

    from consumer.serve.app import ConsumerService  # noqa: PLC0415 - keeps --help fast

    service = ConsumerService.build(settings, startup_timeout_s=args.startup_timeout)
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("stopping after the current batch signal=%s", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    log.info(
        "serving topic=%s group=%s metrics_port=%d",
        settings.topics.frames, settings.serve.group_id, service.port,
    )
    service.run(stop)
    return 0
