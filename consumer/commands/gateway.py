"""``barunrun gateway``: the ingestion gateway (WebSocket + HTTP), until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging

from consumer.commands import settings_from_args

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--host", help="address to listen on (default: gateway.host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: gateway.port, 8080; 0: any)")
    parser.add_argument(
        "--startup-timeout", type=float, default=30.0, metavar="SECONDS",
        help="how long to wait for Kafka at start-up (default: 30)",
    )


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    host = args.host or settings.gateway.host
    port = settings.gateway.port if args.port is None else args.port

    from consumer.gateway.runtime import GatewayRuntime  # noqa: PLC0415 - keeps --help fast
    from consumer.gateway.server import serve  # noqa: PLC0415

    runtime = GatewayRuntime.build(settings, startup_timeout_s=args.startup_timeout)
    serve(runtime, host, port)
    return 0
