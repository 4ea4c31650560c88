"""Load for the benchmark: N simulated phones at 30 fps over WebSocket, or straight to Kafka.

Each WebSocket session sends one frame every 1/fps seconds on a fixed schedule (a late frame
does not shift the next) and times each frame from its send to its ack (the broker's
acknowledgement relayed by the gateway). The Kafka baseline sends the same frames from one
KafkaProducer and times each from ``send`` to its delivery callback.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import orjson
from kafka import KafkaProducer
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from consumer.frames import encode_frame
from consumer.gateway.codec import encode_binary

ACK_WAIT_S = 10.0  # after the last frame, how long a session waits for its remaining acks


@dataclass
class LoadResult:
    offered: int = 0  # frames the schedule called for
    sent: int = 0
    acked: int = 0
    refused: int = 0
    failed_sessions: int = 0
    seconds: float = 0.0
    latencies_s: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        lat = np.asarray(self.latencies_s) * 1000 if self.latencies_s else np.zeros(1)
        return {
            "offered": self.offered, "sent": self.sent, "acked": self.acked,
            "refused": self.refused, "failed_sessions": self.failed_sessions,
            "acked_per_s": round(self.acked / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(float(np.percentile(lat, 50)), 1),
            "p99_ms": round(float(np.percentile(lat, 99)), 1),
        }


def _pose(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.1, 0.9, 132).astype(np.float32)


def _message(binary: bool, user: str, frame: int, pose: np.ndarray) -> bytes | str:
    ts_ms = time.time_ns() // 1_000_000
    if binary:
        return encode_binary(frame, ts_ms, pose, "bench")
    return encode_frame(user, frame, ts_ms, pose, session_id="bench").decode()


async def _session(
    url: str, token: str, user: str, frames: int, fps: float, start_at: float, binary: bool,
    result: LoadResult,
) -> None:
    loop = asyncio.get_running_loop()
    pose = _pose(hash(user) % 2**32)
    sent_at: dict[int, float] = {}
    done = asyncio.Event()

    async def receive(ws) -> None:
        async for raw in ws:
            message = orjson.loads(raw)
            if message["type"] == "ack":
                now = time.perf_counter()
                for n in message["frames"]:
                    result.latencies_s.append(now - sent_at.pop(n))
                    result.acked += 1
            elif message["type"] == "slow_down":
                for n in message["refused"]:
                    sent_at.pop(n, None)
                    result.refused += 1
            if done.is_set() and not sent_at:
                return

    try:
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"},
                           compression=None, open_timeout=30, max_size=2**20) as ws:
            await ws.recv()  # hello
            receiver = asyncio.create_task(receive(ws))
            for n in range(frames):
                delay = start_at + n / fps - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                result.offered += 1
                message = _message(binary, user, n, pose)
                sent_at[n] = time.perf_counter()
                await ws.send(message)
                result.sent += 1
            done.set()
            if sent_at:
                await asyncio.wait_for(receiver, ACK_WAIT_S)
            receiver.cancel()
    except (OSError, TimeoutError, WebSocketException):
        result.failed_sessions += 1  # a session the gateway did not hold to the end


async def gateway_load(
    url: str, tokens: dict[str, str], duration_s: float, fps: float = 30.0, binary: bool = False,
) -> LoadResult:
    """``len(tokens)`` sessions (user -> token) for ``duration_s``; starts staggered over one
    frame interval, as independent phones would be."""
    loop = asyncio.get_running_loop()
    frames = round(duration_s * fps)
    result = LoadResult()
    start = loop.time() + 2.0  # connections open first
    users = sorted(tokens)
    began = time.perf_counter()
    await asyncio.gather(*(
        _session(url, tokens[u], u, frames, fps, start + i / (fps * len(users)), binary, result)
        for i, u in enumerate(users)
    ))
    result.seconds = time.perf_counter() - began - 2.0
    return result


def kafka_load(
    producer_options: dict, topic: str, sessions: int, duration_s: float, fps: float = 30.0,
) -> LoadResult:
    """The same frames straight to Kafka from one producer (acks=all, the consumer's linger)."""
    producer = KafkaProducer(acks="all", enable_idempotence=True, **producer_options)
    result = LoadResult()
    lock = threading.Lock()
    users = [f"direct-{i}" for i in range(sessions)]
    poses = [_pose(i) for i in range(sessions)]

    def acked(sent: float, _metadata: object) -> None:
        with lock:
            result.latencies_s.append(time.perf_counter() - sent)
            result.acked += 1

    frames = round(duration_s * fps)
    began = time.perf_counter()
    for n in range(frames):
        for i, user in enumerate(users):
            due = began + n / fps + i / (fps * sessions)
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            value = encode_frame(user, n, time.time_ns() // 1_000_000, poses[i],
                                 session_id="bench")
            result.offered += 1
            future = producer.send(topic, key=user.encode(), value=value)
            future.add_callback(acked, time.perf_counter())
            result.sent += 1
    producer.flush(timeout=30)
    result.seconds = time.perf_counter() - began
    producer.close(timeout=5)
    return result
