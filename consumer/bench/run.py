"""One benchmark invocation: every variant in turn on one embedded broker and Redis.

The box has two cores and the broker and Redis live on it too, so no variant is measured
while another works. Starting a consumer (TensorFlow, the model, the group join) takes long
on a busy box and is not what is measured, so all of them start together first:

1. simulate the runners; start the consumers (``scale_processes`` in one group on
   ``bench.frames.scale``, one on ``bench.frames``) and load the model here, all at once, on
   empty topics; wait until they have joined, then freeze them (SIGSTOP)
2. produce the same backlog to both topics
3. limit: kafka-python reads ``bench.frames``, doing nothing else
4. scale: thaw the group of consumers; they drain their copy; stop them
5. pipeline: thaw the single consumer; it drains its copy
6. naive and scoring, in this process, while that consumer idles
7. latency: live runners at ``latency_share`` of the pipeline's capacity, to that consumer;
   then it stops, and its peak RSS covers the backlog and the live stream
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from consumer.bench.frames import BenchFrames, produce, sample_windows, simulate
from consumer.bench.latency import measure_latency
from consumer.bench.limit import measure_limit
from consumer.bench.machine import describe_machine, load_average
from consumer.bench.naive import naive_windows, run_naive
from consumer.bench.serving import ServeProcess, drain, wait_joined
from consumer.settings import Settings
from consumer.stack import EmbeddedStack, create_topics, find_redis_server
from producer_sim.profile import FPS

log = logging.getLogger(__name__)

FRAMES_TOPIC = "bench.frames"
SCALE_TOPIC = "bench.frames.scale"
OUTPUTS = ("anomalies", "dlq", "scores", "alerts", "alerts_dlq")


@dataclass(frozen=True)
class BenchOptions:
    model_dir: Path
    runners: int = 100
    seconds: float = 20.0  # frame time per runner in the backlog
    partitions: int = 6
    scale_processes: int = 2
    latency_seconds: float = 20.0
    latency_share: float = 0.5  # of the measured pipeline capacity
    naive_seconds: float = 10.0
    scoring_seconds: float = 3.0
    scoring_batch: int = 256
    seed: int = 1
    config: str | None = None  # forwarded to the consumers
    drain_timeout_s: float = 600.0
    start_timeout_s: float = 180.0


def serve_env(bootstrap: str, redis_url: str, variant: str, frames_topic: str) -> dict[str, str]:
    """A consumer of the backlog with its own group, Redis keys and output topics."""
    prefix = f"bench-{variant}"
    env = {
        "BARUNRUN_KAFKA_BOOTSTRAP": bootstrap,
        # tansu holds a new group's first join for about half the session timeout.
        "BARUNRUN_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "BARUNRUN_KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "BARUNRUN_REDIS_URL": redis_url,
        "BARUNRUN_REDIS_KEY_PREFIX": prefix,
        "BARUNRUN_TOPICS_FRAMES": frames_topic,
        "BARUNRUN_SERVE_GROUP_ID": prefix,
        "BARUNRUN_METRICS_HOST": "127.0.0.1",
        "BARUNRUN_LOGGING_LEVEL": "WARNING",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    for name in OUTPUTS:
        env[f"BARUNRUN_TOPICS_{name.upper()}"] = f"{prefix}.{name}"
    return env


def _topics(env: dict[str, str]) -> list[str]:
    return [env[f"BARUNRUN_TOPICS_{name.upper()}"] for name in OUTPUTS]


def run_bench(
    settings: Settings, options: BenchOptions, say: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    """Run every variant (module docstring) and return the results as plain data."""
    machine = describe_machine(find_redis_server())
    load_start = load_average()
    size, hop = settings.window.size, settings.window.hop
    say(f"simulating {options.runners} runners x {options.seconds:g} s at 30 fps")
    frames = simulate(options.runners, options.seconds, options.seed)
    with tempfile.TemporaryDirectory(prefix="barunrun-bench-") as scratch, EmbeddedStack(
        topics=[FRAMES_TOPIC, SCALE_TOPIC], partitions=options.partitions,
        workdir=Path(scratch) / "stack",
    ) as stack:
        workdir = Path(scratch)
        bench = settings.with_overrides(
            kafka={"bootstrap": stack.broker.bootstrap}, redis={"url": stack.redis.url},
            topics={"frames": FRAMES_TOPIC},
        )
        envs = {variant: serve_env(stack.broker.bootstrap, stack.redis.url, variant, topic)
                for variant, topic in (("scale", SCALE_TOPIC), ("pipeline", FRAMES_TOPIC))}
        for env in envs.values():
            create_topics(stack.broker.bootstrap, _topics(env), options.partitions)

        def start(variant: str, count: int) -> list[ServeProcess]:
            return [ServeProcess.start(f"{variant}-{i}", envs[variant], options.model_dir,
                                       workdir, options.config) for i in range(count)]

        say(f"starting {options.scale_processes + 1} consumers and loading the model here")
        scaled: list[ServeProcess] = []
        serving: list[ServeProcess] = []
        try:
            scaled = start("scale", options.scale_processes)
            serving = start("pipeline", 1)
            from consumer.model.bench import measure_scorer  # noqa: PLC0415 - TensorFlow
            from consumer.serve.reload import default_loader, load_checked  # noqa: PLC0415

            scorer = load_checked(options.model_dir, default_loader, size)
            wait_joined([scaled, serving], options.partitions, options.start_timeout_s)
            for process in [*scaled, *serving]:
                process.freeze()

            say(f"producing {frames.total} frames to {FRAMES_TOPIC} and {SCALE_TOPIC}")
            produce_fps = produce(bench.kafka.client_options(), FRAMES_TOPIC, frames.messages)
            produce(bench.kafka.client_options(), SCALE_TOPIC, frames.messages)

            say("limit: kafka-python reading the backlog, nothing else")
            limit = measure_limit(bench, FRAMES_TOPIC, frames.total)

            say(f"scale: {options.scale_processes} consumer processes in one group")
            for process in scaled:
                process.thaw()
            scale = drain(scaled, frames.total, options.drain_timeout_s)
            scale_shares = [p.consumed() for p in scaled]
            scale_rss = [p.peak_rss_mb() for p in scaled]
            for process in scaled:
                process.stop()

            say("pipeline: one `barunrun serve` draining the backlog")
            serving[0].thaw()
            pipeline = drain(serving, frames.total, options.drain_timeout_s)
            served = serving[0].metrics()

            say("naive (the seed's way) and scoring (the model's batch API), in this process")
            naive = run_naive(bench, FRAMES_TOPIC, stack.redis.url, scorer,
                              options.naive_seconds, size, hop)
            windows = sample_windows(frames, size, hop, 1024)
            scoring = measure_scorer(scorer, options.scoring_batch, options.scoring_seconds,
                                     windows)

            runners = max(1, round(options.latency_share * pipeline.fps / FPS))
            say(f"latency: {runners} runners live at 30 fps "
                f"({options.latency_share:.0%} of the pipeline's capacity)")
            live = bench.with_overrides(
                topics={"scores": envs["pipeline"]["BARUNRUN_TOPICS_SCORES"]})
            latency = measure_latency(live, frames, runners, options.latency_seconds, size, hop)
            rss_mb = serving[0].peak_rss_mb()  # before it exits: /proc forgets it then
        finally:
            for process in [*scaled, *serving]:
                process.stop()
    return _results(options, frames, machine, load_start, produce_fps, limit, pipeline, scale,
                    scale_shares, scale_rss, naive, scoring, latency, served, rss_mb,
                    naive_windows([len(r.frames) for r in frames.runners], size, hop))


def _results(
    options: BenchOptions, frames: BenchFrames, machine: dict[str, Any], load_start: float,
    produce_fps: float, limit: Any, pipeline: Any, scale: Any, scale_shares: list[float],
    scale_rss: list[float], naive: Any, scoring: dict[str, float], latency: Any,
    served: dict[str, float], rss_mb: float, total_windows: int,
) -> dict[str, Any]:
    naive_fps = naive.extrapolate(frames.total, total_windows)
    batches = served.get("barunrun_score_batch_seconds_count", 0.0)
    result: dict[str, Any] = {
        "limit_fps": round(limit.fps, 1),
        "pipeline_fps": round(pipeline.fps, 1),
        "naive_fps": round(naive_fps, 2),
        "latency_p50_ms": round(latency.e2e_ms["p50"], 1),
        "latency_p95_ms": round(latency.e2e_ms["p95"], 1),
        "latency_p99_ms": round(latency.e2e_ms["p99"], 1),
        "latency_max_ms": round(latency.e2e_ms["max"], 1),
        "scoring_windows_per_s": round(scoring["windows_per_s"], 1),
        "rss_mb": round(rss_mb, 1),
        "scale_fps": round(scale.fps, 1),
        "scale_ratio": round(scale.fps / max(pipeline.fps, 1e-9), 3),
        "ratios": {
            "pipeline_vs_limit": round(pipeline.fps / max(limit.fps, 1e-9), 3),
            "pipeline_vs_naive": round(pipeline.fps / max(naive_fps, 1e-9), 1),
            "scale": round(scale.fps / max(pipeline.fps, 1e-9), 3),
        },
        "capacity": {
            "runners_at_full_load": int(pipeline.fps // FPS),
            "runners_planned": int(options.latency_share * pipeline.fps // FPS),
            "headroom": options.latency_share,
        },
        "latency": {
            "runners": latency.runners, "offered_fps": round(latency.offered_fps, 1),
            "sent_fps": round(latency.sent_fps, 1), "windows": latency.windows,
            "expected_windows": latency.expected_windows,
            "end_to_end_ms": _rounded(latency.e2e_ms),
            "in_consumer_ms": _rounded(latency.consumer_ms),
            "seconds": options.latency_seconds,
        },
        "naive": {
            "subset_frames": naive.frames, "subset_windows": naive.windows,
            "subset_seconds": round(naive.seconds, 2), "subset_fps": round(naive.subset_fps, 2),
            "frame_ms": round(naive.frame_ms, 3), "window_ms": round(naive.window_ms, 2),
            "backlog_windows": total_windows, "extrapolated": naive.frames < frames.total,
        },
        "scoring": {k: round(v, 2) for k, v in scoring.items()},
        "scale": {
            "processes": options.scale_processes, "frames_per_process": scale_shares,
            "rss_mb": [round(r, 1) for r in scale_rss],
        },
        "pipeline": {
            "frames": pipeline.frames, "seconds": round(pipeline.seconds, 2),
            "windows_scored": served.get("barunrun_windows_scored_total", 0.0),
            "anomalies": served.get("barunrun_anomalies_total", 0.0),
            "score_batches": batches,
            "mean_score_batch_ms": round(
                served.get("barunrun_score_batch_seconds_sum", 0.0) / max(batches, 1) * 1000, 2),
        },
        "sizes": {
            "runners": options.runners, "seconds": frames.seconds, "frames": frames.total,
            "mean_message_bytes": round(frames.mean_bytes, 1), "partitions": options.partitions,
            "produce_fps": round(produce_fps, 1), "limit_frames_timed": limit.frames,
        },
        "machine": {**machine, "load_average_start": load_start,
                    "load_average_end": load_average()},
        "options": {k: str(v) if isinstance(v, Path) else v
                    for k, v in asdict(options).items()},
    }
    result["targets"] = targets(result)
    return result


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 1) for k, v in values.items()}


def targets(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met."""
    ratios = result["ratios"]
    checks = {
        "pipeline_vs_limit": (ratios["pipeline_vs_limit"], ">=", 0.5),
        "pipeline_vs_naive": (ratios["pipeline_vs_naive"], ">=", 100.0),
        "latency_p99_ms": (result["latency_p99_ms"], "<=", 200.0),
        "scoring_windows_per_s": (result["scoring_windows_per_s"], ">=", 5000.0),
        "rss_mb": (result["rss_mb"], "<=", 1024.0),
        "scale_ratio": (result["scale_ratio"], ">=", 1.3),
    }
    return {
        name: {"value": value, "target": f"{op} {bound:g}",
               "met": value >= bound if op == ">=" else value <= bound}
        for name, (value, op, bound) in checks.items()
    }
