"""Alert latency through the real pipeline: from a fault's first bad frame to its `opened`.

``measure_alert_latency(settings, ...)`` streams simulated runners in real time (30 fps,
``ts_ms`` = the wall clock when sent, as a phone does) to ``topics.frames``; each develops a
clear fault (severity 1.0, a view where it shows) at a known frame. A reader on
``topics.alerts`` notes when each runner's first `opened` at or after its onset arrives.
Per runner: total = arrival - onset frame's ts_ms, split into detection (the opening
window's last frame ts_ms - onset ts_ms: the hysteresis and the fault's ramp, in frame time)
and pipeline (arrival - that frame's ts_ms: broker, consumer, model, broker again). A
consumer must be serving the settings' topics (``main`` starts the embedded stack and one).

``python -m consumer.alerts.latency --model DIR [--runners 24 --rounds 3]`` prints JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from consumer.alerts.evaluate import CLEAR_FAULTS
from consumer.frames import encode_frame
from consumer.settings import Settings

log = logging.getLogger(__name__)

FPS = 30


@dataclass
class RunnerLatency:
    user_id: str
    fault: str
    view: str
    onset_frame: int
    total_ms: int | None = None  # None: no `opened` came
    detection_ms: int | None = None
    pipeline_ms: int | None = None


@dataclass
class LatencyReport:
    runners: list[RunnerLatency] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        def pct(name: str, q: float) -> float | None:
            values = [getattr(r, name) for r in self.runners if getattr(r, name) is not None]
            return round(float(np.quantile(values, q)) / 1000, 3) if values else None

        return {
            "runners": len(self.runners),
            "alerted": sum(r.total_ms is not None for r in self.runners),
            **{f"{name}_s_p{int(q * 100)}": pct(f"{name}_ms", q)
               for name in ("total", "detection", "pipeline") for q in (0.5, 0.99)},
        }


class _AlertWatch:
    """Every alert message of the topic from now on, with its arrival time (wall ms)."""

    def __init__(self, settings: Settings) -> None:
        topic = settings.topics.alerts
        self._consumer = KafkaConsumer(enable_auto_commit=False,
                                       **settings.kafka.client_options())
        partitions = self._consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        self._consumer.assign(assigned)
        self._consumer.seek_to_end(*assigned)
        for tp in assigned:
            self._consumer.position(tp)  # fix "the end" now, before any runner is streamed
        self.arrived: list[tuple[int, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for records in self._consumer.poll(timeout_ms=50).values():
                now = time.time_ns() // 1_000_000
                self.arrived += [(now, orjson.loads(r.value)) for r in records]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close(autocommit=False)


def measure_alert_latency(
    settings: Settings, *, runners: int = 24, seconds: float = 20.0, onset_s: float = 4.0,
    seed: int = 0, faults: Sequence[str] = CLEAR_FAULTS, settle_s: float = 8.0,
    user_prefix: str = "lat",
) -> LatencyReport:
    from consumer.alerts.evaluate import simulate_frames  # noqa: PLC0415 - the simulator

    n_frames = round(seconds * FPS)
    rendered = []
    report = LatencyReport()
    for i in range(runners):
        rng = np.random.default_rng([seed, 77, i])
        fault = faults[i % len(faults)]
        user = f"{user_prefix}-{seed}-{i:03d}"
        onset = int(rng.integers(round(onset_s * FPS), round((onset_s + 3) * FPS)))
        frames, values, view = simulate_frames(user, n_frames, fault, 1.0, onset, None,
                                               int(rng.integers(2**31)), rng)
        rendered.append((user, dict(zip(frames.tolist(), values, strict=True))))
        report.runners.append(RunnerLatency(user, fault, view, onset))
    return _stream_and_watch(settings, rendered, report, n_frames, settle_s)


def _stream_and_watch(settings: Settings, rendered: list, report: LatencyReport,
                      n_frames: int, settle_s: float) -> LatencyReport:
    watch = _AlertWatch(settings)
    producer = KafkaProducer(**settings.kafka.client_options(), acks="all", linger_ms=1)
    onset_ts: dict[str, int] = {}
    try:
        started = time.monotonic()
        for tick in range(n_frames):
            time.sleep(max(0.0, started + tick / FPS - time.monotonic()))
            for (user, frames), runner in zip(rendered, report.runners, strict=True):
                row = frames.get(tick)
                if row is None:
                    continue
                ts = time.time_ns() // 1_000_000
                if tick >= runner.onset_frame and user not in onset_ts:
                    onset_ts[user] = ts
                producer.send(settings.topics.frames, key=user.encode(),
                              value=encode_frame(user, tick, ts, row, session_id="s1"))
        producer.flush(30)
        time.sleep(settle_s)
    finally:
        producer.close(5)
        watch.close()
    for runner in report.runners:
        opened = [(at, m) for at, m in watch.arrived if m.get("user_id") == runner.user_id
                  and m.get("type") == "opened" and m["end_frame"] >= runner.onset_frame]
        if opened and runner.user_id in onset_ts:
            at, message = opened[0]
            onset = onset_ts[runner.user_id]
            runner.total_ms = at - onset
            runner.detection_ms = message["end_ts_ms"] - onset
            runner.pipeline_ms = at - message["end_ts_ms"]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--runners", type=int, default=24, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0, help="per round")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from consumer.serve.app import ConsumerService  # noqa: PLC0415 - loads TensorFlow
    from consumer.settings import load_settings  # noqa: PLC0415
    from consumer.stack import EmbeddedStack, all_topics  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="barunrun-latency-") as folder, EmbeddedStack(
        workdir=Path(folder), partitions=6,
    ) as stack:
        settings = load_settings(environ={}).with_overrides(
            kafka={"bootstrap": stack.broker.bootstrap}, redis={"url": stack.redis.url},
            model={"dir": str(args.model)}, metrics={"host": "127.0.0.1", "port": 0},
        )
        from consumer.stack import create_topics  # noqa: PLC0415

        create_topics(stack.broker.bootstrap, all_topics(settings), 6)
        service = ConsumerService.build(settings)
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
        thread.start()
        report = LatencyReport()
        try:
            time.sleep(8)  # the group join (tansu takes about half the session timeout)
            for round_ in range(args.rounds):
                part = measure_alert_latency(settings, runners=args.runners,
                                             seconds=args.seconds, seed=args.seed + round_)
                report.runners += part.runners
        finally:
            stop.set()
            thread.join(30)
    print(json.dumps({"model": service.reloader.current.version, **report.summary(),
                      "per_runner": [asdict(r) for r in report.runners]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
