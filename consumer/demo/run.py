"""The demo, put together: embedded stack, model, consumer, simulator, live view, summary.

Everything runs in this one process (one TensorFlow load): the consumer in a thread exactly as
``barunrun serve`` runs it, the simulator in another, and a watcher that reads the consumer's
output topics back the way an alerting service would.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.live import Live

from consumer.demo.tally import DemoTally
from consumer.demo.view import live_table, summary_table
from consumer.demo.watch import OutputWatcher
from consumer.errors import ModelArtifactError
from consumer.settings import Settings
from consumer.stack import EmbeddedStack, port_is_free, stack_for

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


class StreamSummaryLike(Protocol):
    @property
    def frames_sent(self) -> int: ...


@dataclass(frozen=True)
class DemoOptions:
    runners: int = 12
    duration_s: float = 60.0
    fault_rate: float = 0.34
    seed: int = 1
    realtime: bool = True
    model_dir: Path | None = None  # None: models/demo, trained on first use
    retrain: bool = False
    live: bool = True
    via_gateway: bool = False  # the simulator posts to an in-process gateway, not to Kafka
    drain_timeout_s: float = 60.0


def ensure_model(options: DemoOptions, console: Console) -> Path:
    """The model to serve: the one given, or the cached demo model (trained when missing)."""
    if options.model_dir is not None:
        if not (options.model_dir / MANIFEST).is_file():
            raise ModelArtifactError(f"{options.model_dir} holds no {MANIFEST}: not a model dir")
        return options.model_dir
    root = Path("models") / "demo"
    model_dir = root / "model"
    if (model_dir / MANIFEST).is_file() and not options.retrain:
        return model_dir
    from consumer.training.quick import train_on_simulated  # noqa: PLC0415 - loads TensorFlow

    console.print("[bold]No demo model yet:[/] training one on simulated normal runners "
                  "(a minute or two, once; cached in models/demo)...")
    started = time.monotonic()
    trained = train_on_simulated(root, size="demo", seed=options.seed)
    console.print(f"model trained in {time.monotonic() - started:.0f} s -> {trained}")
    return trained


def _serving_settings(settings: Settings, stack: EmbeddedStack, model_dir: Path) -> Settings:
    metrics_port = settings.metrics.port if port_is_free(settings.metrics.port) else 0
    return settings.with_overrides(
        kafka={"bootstrap": stack.broker.bootstrap},
        redis={"url": stack.redis.url},
        model={"dir": str(model_dir)},
        metrics={"host": "127.0.0.1", "port": metrics_port},
    )


class _Progress:
    def __init__(self) -> None:
        self.sent = 0
        self.planned = 0

    def __call__(self, sent: int, planned: int) -> None:
        self.sent, self.planned = sent, planned


def run_demo(settings: Settings, options: DemoOptions, console: Console) -> dict[str, Any]:
    """Run the whole demo and return its summary (also rendered on ``console``)."""
    from consumer.serve.app import ConsumerService  # noqa: PLC0415 - loads TensorFlow
    from producer_sim.faults import RAMP_FRAMES  # noqa: PLC0415
    from producer_sim.publish import StreamSummary, stream_runners  # noqa: PLC0415

    model_dir = ensure_model(options, console)
    with stack_for(settings) as stack:
        console.print(f"broker {stack.broker.bootstrap}  redis {stack.redis.url}")
        settings = _serving_settings(settings, stack, model_dir)
        service = ConsumerService.build(settings)
        version = service.reloader.current.version
        console.print(f"consumer up: model {version}, metrics on "
                      f"http://127.0.0.1:{service.port}/metrics")
        lock = threading.Lock()
        tally_box: dict[str, DemoTally] = {}
        planned = threading.Event()

        def on_start(summary: StreamSummary) -> None:
            with lock:
                tally_box["tally"] = DemoTally.from_stream_summary(summary.to_dict(), RAMP_FRAMES)
            planned.set()

        stop_consumer, stop_stream = threading.Event(), threading.Event()
        consumer_thread = threading.Thread(
            target=service.run, args=(stop_consumer,), name="consumer", daemon=True
        )
        consumer_thread.start()
        progress = _Progress()
        result: dict[str, StreamSummary] = {}

        gateway = _start_gateway(settings, console) if options.via_gateway else None

        def stream() -> None:
            result["summary"] = stream_runners(
                settings, runners=options.runners, duration_s=options.duration_s,
                fault_rate=options.fault_rate, realtime=options.realtime, seed=options.seed,
                stop=stop_stream, on_progress=progress, on_start=on_start,
                producer=None if gateway is None else gateway.poster,
            )

        stream_thread = threading.Thread(target=stream, name="simulator", daemon=True)
        started = time.monotonic()
        stream_thread.start()
        if not planned.wait(60):
            raise RuntimeError("the simulator did not start")
        tally = tally_box["tally"]
        watcher = OutputWatcher(settings, tally, lock)
        watcher.start()

        def consumed() -> int:
            value = service.registry.get_sample_value("barunrun_frames_consumed_total")
            return int(value or 0)

        def header() -> dict[str, Any]:
            elapsed = time.monotonic() - started
            return {
                "t": f"{elapsed:4.0f}s", "sent": progress.sent, "consumed": consumed(),
                "windows": sum(r.windows for r in tally.runners.values()),
                "anomalies": tally.anomaly_events,
                "fps": f"{consumed() / max(elapsed, 1e-9):.0f}",
            }

        def completed_windows() -> int:
            scored = service.registry.get_sample_value("barunrun_windows_scored_total") or 0
            unscored = sum(
                sample.value
                for metric in service.registry.collect()
                if metric.name == "barunrun_windows_not_scored"
                for sample in metric.samples
                if sample.name.endswith("_total")
            )
            return int(scored + unscored)

        try:
            _watch(stream_thread, tally, lock, header, console, options.live)
            _drain(lambda: result.get("summary"), consumed, completed_windows, tally, lock,
                   options.drain_timeout_s)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted: stopping the simulator and summarising[/]")
            stop_stream.set()
            stream_thread.join(30)
        finally:
            elapsed = time.monotonic() - started
            stop_consumer.set()
            consumer_thread.join(60)
            watcher.stop()
            if gateway is not None:
                gateway.server.stop()
        with lock:
            summary = tally.summary()
        stream_summary = result.get("summary")
        summary.update({
            "frames_sent": stream_summary.frames_sent if stream_summary else progress.sent,
            "frames_consumed": consumed(),
            "throughput_fps": consumed() / max(elapsed, 1e-9),
            "realtime": options.realtime,
            "model_version": version,
            "elapsed_s": round(elapsed, 1),
        })
    console.print(summary_table(summary))
    with lock:
        console.print(live_table(tally, {"final": ""}))
    return summary


@dataclass
class _DemoGateway:
    server: Any
    poster: Any


def _start_gateway(settings: Settings, console: Console) -> _DemoGateway:
    """The gateway on a free port with a one-off signing key, and a poster holding a token
    per simulated runner: the path a phone without Kafka credentials takes."""
    import secrets  # noqa: PLC0415

    from consumer.gateway.auth import issue_token  # noqa: PLC0415
    from consumer.gateway.poster import GatewayPoster  # noqa: PLC0415
    from consumer.gateway.runtime import GatewayRuntime  # noqa: PLC0415
    from consumer.gateway.server import GatewayServer  # noqa: PLC0415

    settings = settings.with_overrides(gateway={"jwt_secret": secrets.token_hex(32)})
    server = GatewayServer(GatewayRuntime.build(settings)).start()
    console.print(f"gateway up: {server.url}/v1/frames (the simulator posts there)")
    tokens: dict[str, str] = {}

    def token_for(user: str) -> str:
        if user not in tokens:
            tokens[user] = issue_token(settings.gateway, user, 24 * 3600)
        return tokens[user]

    return _DemoGateway(server, GatewayPoster(server.url, token_for))


def _watch(
    stream_thread: threading.Thread,
    tally: DemoTally,
    lock: threading.Lock,
    header: Callable[[], dict[str, Any]],
    console: Console,
    live: bool,
) -> None:
    if not live:
        while stream_thread.is_alive():
            stream_thread.join(5)
            with lock:
                console.print(" ".join(f"{k}={v}" for k, v in header().items()))
        return
    with Live(console=console, refresh_per_second=2, transient=False) as view:
        while stream_thread.is_alive():
            with lock:
                view.update(live_table(tally, header()))
            stream_thread.join(0.5)
        with lock:
            view.update(live_table(tally, header()))


def _drain(
    stream_summary: Callable[[], StreamSummaryLike | None],
    consumed: Callable[[], int],
    completed_windows: Callable[[], int],
    tally: DemoTally,
    lock: threading.Lock,
    timeout_s: float,
) -> None:
    """Wait until the consumer has read every frame sent and the watcher every window."""
    deadline = time.monotonic() + timeout_s
    summary = stream_summary()
    target = summary.frames_sent if summary is not None else 0
    while time.monotonic() < deadline:
        with lock:
            seen = len(tally.seen_windows)
        if consumed() >= target and seen >= completed_windows():
            return
        time.sleep(0.25)
    log.warning("demo drain timed out consumed=%d sent=%d windows_seen=%d windows=%d",
                consumed(), target, seen, completed_windows())
