"""The bounded produce buffer on a fake producer: acks only after the broker's, refusals when
full or stalled, failures handed back to the owner, never dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from kafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry

from consumer.gateway.metrics import GatewayMetrics
from consumer.gateway.pipeline import (
    BROKER_UNAVAILABLE,
    BUFFER_FULL,
    PendingFrame,
    ProducePipeline,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def run(scenario: Callable[..., Awaitable[None]], producer, capacity: int = 3) -> None:
    async def main() -> None:
        clock = Clock()
        registry = CollectorRegistry()
        metrics = GatewayMetrics.create(registry)
        pipeline = ProducePipeline(producer, "frames", capacity, 2.0, metrics, clock)
        pipeline.start(asyncio.get_running_loop())
        try:
            await scenario(pipeline, clock, registry)
        finally:
            pipeline.close(2.0)

    asyncio.run(main())


def recorder() -> tuple[list[tuple[int, BaseException | None]], Callable]:
    done: list[tuple[int, BaseException | None]] = []
    return done, lambda frame, error: done.append((frame.frame, error))


def test_frames_are_acked_only_after_the_broker_and_the_buffer_is_bounded(
    fake_producer,
) -> None:
    kit_producer = fake_producer
    kit_producer.hold = True
    done, owner = recorder()

    async def scenario(pipeline: ProducePipeline, clock: Clock, registry) -> None:
        for n in range(3):
            assert pipeline.refusal() is None
            pipeline.submit(PendingFrame(n, b"u", b"v%d" % n, owner))
        assert pipeline.refusal() == BUFFER_FULL
        await until(lambda: len(kit_producer.sent) == 3, "3 sends")
        await asyncio.sleep(0.05)
        assert done == []  # nothing acked before the broker acked
        assert registry.get_sample_value("barunrun_gateway_buffer_frames") == 3
        kit_producer.release()
        await until(lambda: len(done) == 3, "3 acks")
        assert [n for n, error in done] == [0, 1, 2] and all(e is None for _, e in done)
        assert pipeline.refusal() is None and pipeline.in_flight == 0
        assert registry.get_sample_value("barunrun_gateway_frames_acked_total") == 3
        assert [s.value for s in kit_producer.sent] == [b"v0", b"v1", b"v2"]
        assert {s.key for s in kit_producer.sent} == {b"u"}

    run(scenario, kit_producer)


def test_a_stalled_broker_refuses_new_frames_until_it_acks_again(fake_producer) -> None:
    producer = fake_producer
    producer.hold = True
    done, owner = recorder()

    async def scenario(pipeline: ProducePipeline, clock: Clock, registry) -> None:
        pipeline.submit(PendingFrame(1, b"u", b"v", owner))
        clock.now += 1.0
        assert pipeline.refusal() is None  # slow, not stalled yet
        clock.now += 1.5
        assert pipeline.refusal() == BROKER_UNAVAILABLE
        assert registry.get_sample_value("barunrun_gateway_broker_up") == 0
        await until(lambda: producer.sent, "the send")
        producer.release()
        await until(lambda: done, "the ack")
        assert pipeline.refusal() is None
        assert registry.get_sample_value("barunrun_gateway_broker_up") == 1

    run(scenario, producer, capacity=10)


def test_a_frame_the_producer_gives_up_on_goes_back_to_its_owner(fake_producer) -> None:
    producer = fake_producer
    producer.hold = True
    done, owner = recorder()

    async def scenario(pipeline: ProducePipeline, clock: Clock, registry) -> None:
        pipeline.submit(PendingFrame(9, b"u", b"v", owner))
        await until(lambda: producer.sent, "the send")
        producer.release(KafkaTimeoutError("expired"))
        await until(lambda: done, "the failure")
        assert done[0][0] == 9 and isinstance(done[0][1], KafkaTimeoutError)
        assert pipeline.in_flight == 0
        assert registry.get_sample_value("barunrun_gateway_delivery_failures_total") == 1

    run(scenario, producer)


def test_an_owner_that_raises_does_not_stop_the_others(fake_producer) -> None:
    producer = fake_producer
    done, owner = recorder()

    def broken(_frame: PendingFrame, _error: BaseException | None) -> None:
        raise RuntimeError("owner bug")

    async def scenario(pipeline: ProducePipeline, clock: Clock, registry) -> None:
        pipeline.submit(PendingFrame(1, b"u", b"v", broken))
        pipeline.submit(PendingFrame(2, b"u", b"v", owner))
        await until(lambda: done, "the second ack")
        assert done == [(2, None)] and pipeline.in_flight == 0

    run(scenario, producer)
