"""Benchmark: how many 30 fps sessions one gateway process holds, and the latency it adds.

``python -m consumer.gateway.bench --sessions 25,50,100 --duration 20`` starts an embedded
broker (or uses ``--bootstrap``), runs the gateway as its own process (``python -m
consumer.gateway gateway``, as deployed), and for each session count streams the same frames
(1) straight to Kafka from one producer and (2) through the gateway over WebSocket, timing
each frame from send to broker ack. It prints a markdown table (``--json``: one JSON object).
"Held" means >= 99% of the offered frames acked, no session lost, nothing refused, p99 under
250 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop

from consumer.gateway.auth import issue_token
from consumer.gateway.loadgen import LoadResult, gateway_load, kafka_load
from consumer.settings import load_settings
from consumer.stack import EmbeddedBroker, create_topics, free_port

HELD_P99_MS = 250.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


@contextlib.contextmanager
def _broker(bootstrap: str | None) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    with tempfile.TemporaryDirectory(prefix="barunrun-bench-") as folder:
        broker = EmbeddedBroker(free_port(), Path(folder))
        broker.start()
        try:
            yield broker.bootstrap
        finally:
            broker.proc.stop()


@contextlib.contextmanager
def _gateway_process(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "consumer.gateway", "gateway", "--host", "127.0.0.1",
         "--port", str(port)],
        env={**os.environ, **env}, stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the gateway process did not become ready")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(30)


def _row(
    sessions: int, direct: LoadResult, gateway: LoadResult, cpu: float, client_cpu: float,
) -> dict[str, Any]:
    d, g = direct.summary(), gateway.summary()
    held = (
        g["acked"] >= 0.99 * g["offered"] and g["failed_sessions"] == 0 and g["refused"] == 0
        and g["p99_ms"] <= HELD_P99_MS
    )
    return {
        "sessions": sessions, "offered_per_s": round(g["offered"] / gateway.seconds, 1),
        "direct": d, "gateway": g,
        "added_p50_ms": round(g["p50_ms"] - d["p50_ms"], 1),
        "added_p99_ms": round(g["p99_ms"] - d["p99_ms"], 1),
        "gateway_cpu_cores": round(cpu, 2), "client_cpu_cores": round(client_cpu, 2),
        "held": held,
    }


def run_benchmark(
    sessions: Sequence[int], duration_s: float = 20.0, fps: float = 30.0, binary: bool = False,
    bootstrap: str | None = None,
) -> list[dict[str, Any]]:
    """One row per session count: direct-to-Kafka and through-the-gateway ack latency."""
    run = uuid.uuid4().hex[:8]
    frames_topic, anomalies_topic = f"bench{run}.pose.frames", f"bench{run}.pose.anomalies"
    env = {
        "BARUNRUN_TOPICS_FRAMES": frames_topic, "BARUNRUN_TOPICS_ANOMALIES": anomalies_topic,
        "BARUNRUN_GATEWAY_JWT_SECRET": secrets.token_hex(32),
        "BARUNRUN_GATEWAY_RATE_FRAMES_PER_S": str(fps * 4),
        "BARUNRUN_GATEWAY_FORWARD_ALERTS": "false", "BARUNRUN_LOGGING_LEVEL": "WARNING",
    }
    rows = []
    with _broker(bootstrap) as address:
        env["BARUNRUN_KAFKA_BOOTSTRAP"] = address
        settings = load_settings(environ=env)
        create_topics(address, [frames_topic, anomalies_topic], settings.topics.partitions)
        options = {**settings.kafka.client_options(), "linger_ms": settings.kafka.linger_ms}
        port = free_port()
        with _gateway_process(env, port) as process:
            for count in sessions:
                direct = kafka_load(options, frames_topic, count, duration_s, fps)
                tokens = {f"bench-{run}-{i}": "" for i in range(count)}
                for user in tokens:
                    tokens[user] = issue_token(settings.gateway, user, 3600)
                cpu_before, wall_before = _cpu_seconds(process.pid), time.perf_counter()
                client_before = time.process_time()
                through = uvloop.run(gateway_load(
                    f"ws://127.0.0.1:{port}/v1/frames", tokens, duration_s, fps, binary
                ))
                wall = time.perf_counter() - wall_before
                cpu = (_cpu_seconds(process.pid) - cpu_before) / wall
                client_cpu = (time.process_time() - client_before) / wall
                rows.append(_row(count, direct, through, cpu, client_cpu))
                print(_markdown(rows[-1:], header=len(rows) == 1), file=sys.stderr, flush=True)
    return rows


def _markdown(rows: list[dict[str, Any]], header: bool = True) -> str:
    lines = [
        "| sessions | offered frames/s | direct acked/s | direct p50 / p99 ms | gateway acked/s "
        "| gateway p50 / p99 ms | added p50 / p99 ms | CPU cores gateway / clients | held |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ] if header else []
    for r in rows:
        d, g = r["direct"], r["gateway"]
        lines.append(
            f"| {r['sessions']} | {r['offered_per_s']} | {d['acked_per_s']} | "
            f"{d['p50_ms']} / {d['p99_ms']} | {g['acked_per_s']} | {g['p50_ms']} / {g['p99_ms']} "
            f"| {r['added_p50_ms']} / {r['added_p99_ms']} | "
            f"{r['gateway_cpu_cores']} / {r['client_cpu_cores']} | "
            f"{'yes' if r['held'] else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consumer.gateway.bench", description=__doc__)
    parser.add_argument("--sessions", default="25,50,100,200",
                        help="comma-separated session counts (default: 25,50,100,200)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per step")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--binary", action="store_true", help="binary frames (default JSON)")
    parser.add_argument("--bootstrap", help="an existing broker (default: an embedded one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        counts = [int(n) for n in args.sessions.split(",") if n.strip()]
    except ValueError:
        parser.error("--sessions must be comma-separated integers")
    rows = run_benchmark(counts, args.duration, args.fps, args.binary, args.bootstrap)
    if args.json:
        print(orjson.dumps({"transport": "binary" if args.binary else "json", "rows": rows},
                           option=orjson.OPT_INDENT_2).decode())
    else:
        print(_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
