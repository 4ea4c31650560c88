"""Stream runners to Kafka: one message per frame, keyed by user_id, as phone clients would.

Every runner advances one frame per tick of a shared 30 fps clock (real time), or as fast as
the producer takes them (``realtime=False``). Frames the tracker lost (NaN rows) are simply not
sent, as a client with no person in view sends nothing. Ticks are scheduled on the monotonic
clock from the start, so a late tick is caught up rather than drifting the whole stream; each
message's ``ts_ms`` is the wall clock when it is sent.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from kafka import KafkaProducer
from kafka.errors import KafkaError

from consumer.errors import ConfigError, ServiceUnavailable
from consumer.frames import encode_frame
from consumer.recording import load_recording
from consumer.settings import Settings
from producer_sim.faults import FAULT_NAMES, FAULTS, VIEWS, FaultPlan, check_faults, views_for
from producer_sim.profile import FPS, RunnerProfile
from producer_sim.simulator import SessionSimulator
from producer_sim.sources import CHUNK_FRAMES, FrameSource, RecordingSource, SimulatedSource

log = logging.getLogger(__name__)

ONSET_RANGE = (0.2, 0.5)  # share of the stream before a runner's fault sets in
_ID_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


class FrameProducer(Protocol):
    """What the stream needs from a producer: KafkaProducer, or a gateway poster."""

    def send(self, topic: str, key: bytes, value: bytes) -> Any: ...  # a future with callbacks

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self, timeout: float | None = None) -> None: ...


@dataclass
class RunnerStream:
    """One streamed runner (a JSON-ready record in the summary)."""

    user_id: str
    session_id: str
    view: str
    fault: str | None = None
    onset_frame: int | None = None
    severity: float | None = None
    source: str = "simulated"
    frames_planned: int = 0
    frames_sent: int = 0
    send_errors: int = 0


@dataclass
class StreamSummary:
    topic: str
    realtime: bool
    seed: int
    elapsed_s: float = 0.0
    stopped_early: bool = False
    runners: list[RunnerStream] = field(default_factory=list)

    @property
    def frames_sent(self) -> int:
        return sum(r.frames_sent for r in self.runners)

    def to_dict(self) -> dict[str, object]:
        return {
            "topic": self.topic, "realtime": self.realtime, "seed": self.seed,
            "elapsed_s": round(self.elapsed_s, 3), "stopped_early": self.stopped_early,
            "frames_sent": self.frames_sent,
            "users": {r.user_id: {k: v for k, v in asdict(r).items() if k != "user_id"}
                      for r in self.runners},
        }


def plan_simulated(
    runners: int, frames: int, fault_rate: float, seed: int, faults: Sequence[str] | None,
    user_prefix: str, stamp: str,
) -> list[tuple[RunnerStream, FrameSource]]:
    """Runners with their own ids; a share ``fault_rate`` of them get a fault mid-stream."""
    if runners < 1:
        raise ConfigError("--runners must be at least 1")
    if not 0.0 <= fault_rate <= 1.0:
        raise ConfigError(f"--fault-rate {fault_rate} is outside 0..1")
    catalogue = check_faults(FAULT_NAMES if faults is None else faults)
    if not catalogue and fault_rate > 0:
        raise ConfigError("--fault-rate > 0 needs at least one fault")
    rng = np.random.default_rng([seed, 31])
    faulty = set(rng.permutation(runners)[: round(fault_rate * runners)].tolist())
    offset = int(rng.integers(len(catalogue))) if catalogue else 0
    planned: list[tuple[RunnerStream, FrameSource]] = []
    for i in range(runners):
        runner_rng = np.random.default_rng([seed, 32, i])
        user = _clean_id(f"{user_prefix}-{i:03d}")
        fault = catalogue[(offset + len(planned)) % len(catalogue)] if i in faulty else None
        views = views_for(fault) if fault else VIEWS
        view = views[int(runner_rng.integers(len(views)))]
        profile = RunnerProfile.random(runner_rng, user, view=view)
        plans: list[FaultPlan] = []
        if fault:
            onset = int(runner_rng.uniform(*ONSET_RANGE) * frames)
            plans.append(FaultPlan(fault, FAULTS[fault].default_severity, onset))
        session_seed = int(runner_rng.integers(2**31))
        record = RunnerStream(
            user_id=user, session_id=_clean_id(f"sim-{stamp}-{i:03d}"), view=view,
            fault=fault, onset_frame=plans[0].onset_frame if plans else None,
            severity=plans[0].severity if plans else None, frames_planned=frames,
        )
        planned.append((record, SimulatedSource(SessionSimulator(profile, plans, session_seed),
                                                frames, first_chunk=_stagger(i))))
    return planned


def plan_replay(
    paths: Sequence[Path], max_frames: int | None, user_prefix: str, stamp: str
) -> list[tuple[RunnerStream, FrameSource]]:
    planned: list[tuple[RunnerStream, FrameSource]] = []
    for i, path in enumerate(paths):
        recording = load_recording(path)
        user = _clean_id(f"{user_prefix}-{i:03d}-{Path(path).stem}")
        source = RecordingSource(recording, max_frames)
        record = RunnerStream(
            user_id=user, session_id=_clean_id(f"replay-{stamp}-{i:03d}"), view="unknown",
            source=str(path), frames_planned=source.total,
        )
        planned.append((record, source))
    return planned


def _await_callbacks(summary: StreamSummary, attempted: int, lock: threading.Lock) -> None:
    """Delivery callbacks run on the producer's thread, possibly just after ``flush``."""
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        with lock:
            settled = sum(r.frames_sent + r.send_errors for r in summary.runners)
        if settled >= attempted:
            return
        time.sleep(0.01)
    log.warning("delivery reports missing for %d frames", attempted - settled)


def _stagger(index: int) -> int:
    """First chunk length per runner, so that simulator refills spread over the ticks."""
    return 1 + (index * 37) % CHUNK_FRAMES


def _clean_id(text: str) -> str:
    return _ID_CHARS.sub("-", text)[:64]


def _producer(settings: Settings) -> KafkaProducer:
    acks = settings.kafka.acks
    try:
        return KafkaProducer(
            **settings.kafka.client_options(), acks=acks if acks == "all" else int(acks),
            linger_ms=settings.kafka.linger_ms, max_block_ms=15000, bootstrap_timeout_ms=8000,
        )
    except KafkaError as exc:
        raise ServiceUnavailable(
            f"Kafka at {settings.kafka.bootstrap} did not answer ({type(exc).__name__})"
        ) from exc


def stream_runners(
    settings: Settings, *, runners: int, duration_s: float, fault_rate: float,
    realtime: bool = True, seed: int = 0, faults: Sequence[str] | None = None,
    replay: Sequence[Path] = (), user_prefix: str = "runner",
    stop: threading.Event | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[StreamSummary], None] | None = None,
    producer: FrameProducer | None = None,
) -> StreamSummary:
    """Stream simulated runners (or recordings, one runner per file) to ``topics.frames``.

    ``duration_s`` is the stream's length in frame time (for replays: a cap, none if <= 0).
    ``producer`` replaces the KafkaProducer (e.g. ``consumer.gateway.poster.GatewayPoster``,
    to go through the gateway); it is closed at the end. ``on_start(summary)`` sees the plan
    (users, views, faults, onsets) before the first frame;
    ``on_progress(frames_sent, frames_planned)`` is called after each tick. Returns once every
    frame is acknowledged (``flush``), or after ``stop`` is set.
    """
    stop = stop or threading.Event()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    frames = round(duration_s * FPS) if duration_s > 0 else None
    if replay:
        planned = plan_replay(replay, frames, user_prefix, stamp)
    else:
        if frames is None:
            raise ConfigError("--duration must be positive for simulated runners")
        planned = plan_simulated(runners, frames, fault_rate, seed, faults, user_prefix, stamp)
    summary = StreamSummary(topic=settings.topics.frames, realtime=realtime, seed=seed,
                            runners=[record for record, _ in planned])
    producer = producer if producer is not None else _producer(settings)
    lock = threading.Lock()
    if on_start is not None:
        on_start(summary)

    def delivered(record: RunnerStream, _metadata: object) -> None:
        with lock:
            record.frames_sent += 1

    def failed(record: RunnerStream, exc: BaseException) -> None:
        with lock:
            record.send_errors += 1
        log.warning("send failed user_id=%s error=%s", record.user_id, exc)

    total = sum(record.frames_planned for record, _ in planned)
    ticks = max((source.total for _, source in planned), default=0)
    topic = settings.topics.frames
    attempted = 0
    for _, source in planned:
        source.frame(0)  # render every runner's first chunk before the clock starts
    started = time.monotonic()
    try:
        for tick in range(ticks):
            if realtime:
                if stop.wait(max(0.0, started + tick / FPS - time.monotonic())):
                    break
            elif stop.is_set():
                break
            for record, source in planned:
                row = source.frame(tick)
                if row is None:
                    continue
                frame, landmarks = row
                value = encode_frame(record.user_id, frame, time.time_ns() // 1_000_000,
                                     landmarks, session_id=record.session_id)
                future = producer.send(topic, key=record.user_id.encode(), value=value)
                attempted += 1
                future.add_callback(delivered, record).add_errback(failed, record)
            if on_progress is not None:
                on_progress(summary.frames_sent, total)
        summary.stopped_early = stop.is_set()
        producer.flush(timeout=30)
        _await_callbacks(summary, attempted, lock)
    except KafkaError as exc:
        raise ServiceUnavailable(f"Kafka at {settings.kafka.bootstrap}: {exc}") from exc
    finally:
        producer.close(timeout=5)
        summary.elapsed_s = time.monotonic() - started
    log.info("stream done frames_sent=%d runners=%d elapsed_s=%.1f",
             summary.frames_sent, len(planned), summary.elapsed_s)
    return summary
