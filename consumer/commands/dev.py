"""``barunrun dev``: the embedded broker and Redis on loopback, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import json
import signal
import threading

from consumer.commands import settings_from_args
from consumer.stack import all_topics, stack_for


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--kafka-port", type=int, help="default: the port of kafka.bootstrap")
    parser.add_argument("--redis-port", type=int, help="default: the port of redis.url")
    parser.add_argument("--json", action="store_true", help="print the addresses as one JSON line")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with stack_for(settings, args.kafka_port, args.redis_port) as stack:
        addresses = {
            "kafka_bootstrap": stack.broker.bootstrap,
            "redis_url": stack.redis.url,
            "topics": all_topics(settings),
            "partitions": settings.topics.partitions,
        }
        if args.json:
            print(json.dumps(addresses), flush=True)
        else:
            print(f"broker   {stack.broker.bootstrap}   (tansu, memory storage)")
            print(f"redis    {stack.redis.url}")
            topics = ", ".join(all_topics(settings))
            print(f"topics   {topics} ({settings.topics.partitions} partitions)")
            print("export BARUNRUN_KAFKA_BOOTSTRAP=" + stack.broker.bootstrap)
            print("export BARUNRUN_REDIS_URL=" + stack.redis.url)
            print("Ctrl-C stops both.", flush=True)
        while not stop.wait(0.5):
            for proc in (stack.broker.proc, stack.redis.proc):
                if not proc.alive():
                    print(f"{proc.name} exited unexpectedly:\n{proc.tail()}", flush=True)
                    return 1
    return 0
