"""``barunrun alerts tail|webhook``: the example subscribers of the alerts topic."""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time

from consumer.commands import settings_from_args


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    tail = actions.add_parser(
        "tail", help="print alerts as they happen, one line each",
        description="Print alert messages from topics.alerts as they arrive: one readable "
        "line each, or one JSON object per line with --json. Without --group it reads every "
        "partition from the end (nothing is committed).",
    )
    tail.add_argument("--json", action="store_true", help="one JSON message per line")
    tail.add_argument("--group", help="read as this consumer group (committing) instead")
    tail.add_argument("--from-beginning", action="store_true",
                      help="start at the oldest alert kept (a new group, or no group)")
    tail.add_argument("--until-idle", type=float, metavar="SECONDS",
                      help="exit once nothing arrived for this long")
    hook = actions.add_parser(
        "webhook", help="forward alerts to an HTTP endpoint, at least once",
        description="POST every alert message to URL (JSON body; headers X-BarunRun-Alert-Id "
        "and X-BarunRun-Message-Id). Retries 408/429/5xx/timeouts with exponential backoff "
        "and jitter; commits an alert only after a 2xx; alerts the endpoint refuses (other "
        "4xx) go to topics.alerts_dlq. Prints a JSON summary when it stops.",
    )
    hook.add_argument("url", help="the endpoint, http(s)://...")
    hook.add_argument("--group", help="consumer group (default: alerts.webhook_group_id)")
    hook.add_argument("--start", choices=["latest", "earliest"], default="latest",
                      help="where a new group starts (default: latest)")
    hook.add_argument("--timeout", type=float, metavar="SECONDS",
                      help="per request (default: alerts.webhook_timeout_s)")
    hook.add_argument("--max-attempts", type=int, default=0, metavar="N",
                      help="dead-letter after N failed attempts (default 0: retry forever)")
    hook.add_argument("--until-idle", type=float, metavar="SECONDS",
                      help="exit once nothing arrived for this long")
    for sub in (tail, hook):
        sub.add_argument("--config", default=argparse.SUPPRESS, help="TOML config file")
        sub.add_argument("--log-level", default=argparse.SUPPRESS,
                         choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    return stop


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    from consumer.alerts.subscribe import RebalanceFlag, connect_alert_consumer  # noqa: PLC0415

    stop = _stop_on_signals()
    if args.action == "tail":
        from consumer.alerts.tail import render  # noqa: PLC0415

        start = "earliest" if args.from_beginning else "latest"
        consumer = connect_alert_consumer(settings, group_id=args.group, start=start)
        last = time.monotonic()
        try:
            while not stop.is_set():
                batches = consumer.poll(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        print(render(record.value, args.json), flush=True)
                if batches:
                    last = time.monotonic()
                    if args.group:
                        consumer.commit()
                elif args.until_idle is not None and time.monotonic() - last >= args.until_idle:
                    break
        finally:
            consumer.close(autocommit=False)
        return 0

    from consumer.alerts.http_post import HttpPoster  # noqa: PLC0415
    from consumer.alerts.webhook import Backoff, WebhookForwarder  # noqa: PLC0415
    from consumer.serve.kafka_io import KafkaRecordSink  # noqa: PLC0415

    a = settings.alerts
    poster = HttpPoster(args.url, args.timeout or a.webhook_timeout_s)
    rebalance = RebalanceFlag()
    consumer = connect_alert_consumer(settings, group_id=args.group or a.webhook_group_id,
                                      start=args.start, listener=rebalance)
    dlq = KafkaRecordSink.connect(settings, 15.0)
    try:
        forwarder = WebhookForwarder(
            consumer=consumer, poster=poster, dlq=dlq, dlq_topic=settings.topics.alerts_dlq,
            backoff=Backoff(a.webhook_backoff_initial_s, a.webhook_backoff_max_s,
                            max(0, args.max_attempts)),
            rebalance=rebalance,
        )
        counts = forwarder.run(stop, until_idle_s=args.until_idle)
    finally:
        consumer.close(autocommit=False)
        dlq.close()
    print(json.dumps(counts.to_dict()), flush=True)
    return 0
