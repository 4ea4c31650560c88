"""Scenario 7: a soak at 80 % of the capacity a drain run measures: memory flat, lag bounded.

Capacity is measured here, in the same run, rather than taken from `barunrun bench` (the
machine is shared, so a figure from another moment would not be this moment's 80 %): a backlog
of frames is put on the topic before the consumer process starts, and the rate at which it
drains (from 10 %
to 90 % of the backlog, past TensorFlow's warm-up) is the capacity. The load generator shares
the machine's cores with the consumer during the soak, so it also runs during the drain, at
full speed into a decoy topic: the capacity is what the consumer sustains beside it (a
conservative figure: the soak's generator runs slower). The soak then sends, in real time, as
many users at 30 frames/s as make 80 % of that, for the suite size's duration, while the test
samples the process's resident memory and its lag (frames sent minus frames consumed).

Memory is flat when the resident set at the end (median of the last quarter of samples) is
within ``RSS_GROWTH_LIMIT`` of where it stood after warm-up (median of the first quarter).
Lag is bounded when it never exceeds ``LAG_LIMIT_S`` seconds of traffic, and the consumer
drains it once the load stops. Every window the frames imply is scored, as in every scenario.
"""

from __future__ import annotations

import statistics
import threading
import time

import numpy as np
import pytest

from consumer.stack import create_topics
from tests.support.reliability.audit import collect
from tests.support.reliability.load import PoseLoad, render_pool
from tests.support.reliability.sizes import suite_size
from tests.support.serving import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(suite_size().seconds_budget)]

CONSUMED = "barunrun_frames_consumed_total"
LOAD_SHARE = 0.8
DRAIN_USERS = 60
WARM_UP_SHARE = 0.2  # of the soak, not judged: allocators and caches fill up
RSS_GROWTH_LIMIT = (0.10, 64 * 2**20)  # 10 % of the warm RSS or 64 MiB, whichever is larger
LAG_LIMIT_S = 10.0
SAMPLE_EVERY_S = 1.0


def _when_consumed(consumer, frames: float, timeout_s: float = 300.0) -> tuple[float, float]:
    """(monotonic time, frames consumed) once the consumer has consumed ``frames``."""
    deadline = time.monotonic() + timeout_s
    while (consumed := consumer.value(CONSUMED)) < frames:
        if time.monotonic() > deadline:
            raise AssertionError(f"{consumed:.0f} of {frames:.0f} frames after {timeout_s} s")
        time.sleep(0.05)  # short against a drain of several seconds
    return time.monotonic(), consumed


def measure_capacity(consumer, backlog: int) -> float:
    """Frames/s while the consumer drains ``backlog`` frames, from 10 % to 90 % of it."""
    t10, c10 = _when_consumed(consumer, 0.1 * backlog)
    t90, c90 = _when_consumed(consumer, 0.9 * backlog)
    return (c90 - c10) / max(1e-6, t90 - t10)


def test_a_soak_at_80_percent_of_capacity_keeps_memory_flat_and_lag_bounded(
    settings_factory, model_dir, serve_process, scenario, size
) -> None:
    result = scenario("soak", f"{size.soak_s:.0f} s at {LOAD_SHARE:.0%} of measured capacity")
    settings = settings_factory(partitions=3)
    pool = render_pool(seed=5)

    drain = PoseLoad(settings, pool, DRAIN_USERS, "drain")
    try:
        backlog = drain.backlog(size.drain_frames)
    finally:
        drain.close()
    consumer = serve_process(settings, model_dir, "soak").start().wait_ready()
    decoy_topic = f"{settings.topics.frames}.decoy"
    create_topics(settings.kafka.bootstrap, [decoy_topic], 1)
    decoy = PoseLoad(settings, pool, DRAIN_USERS, "decoy", topic=decoy_topic)
    flooding = threading.Event()
    flood = threading.Thread(target=decoy.flood, args=(flooding,), daemon=True)
    flood.start()
    try:
        capacity = measure_capacity(consumer, backlog)
    finally:
        flooding.set()
        flood.join(60)
        decoy.close()
    wait_for(lambda: consumer.value(CONSUMED) >= backlog, 120, "the backlog drained")

    users = max(1, round(LOAD_SHARE * capacity / 30))
    load = PoseLoad(settings, pool, users, "soak")
    stop = threading.Event()
    rates: list[float] = []
    sender = threading.Thread(target=lambda: rates.append(load.run(size.soak_s, stop)),
                              daemon=True)
    samples: list[tuple[float, int, float]] = []  # (seconds into the soak, RSS, lag in frames)
    started = time.monotonic()
    sender.start()
    try:
        while sender.is_alive():
            lag = backlog + load.attempted - consumer.value(CONSUMED)
            samples.append((time.monotonic() - started, consumer.rss_bytes(), lag))
            sender.join(SAMPLE_EVERY_S)
    finally:
        stop.set()
        sender.join(60)
        load.close()
    sent = backlog + load.acked
    drained_in = time.monotonic()
    wait_for(lambda: consumer.value(CONSUMED) >= sent, 120, "the soak's frames drained")
    drained_in = time.monotonic() - drained_in

    judged = [s for s in samples if s[0] >= WARM_UP_SHARE * size.soak_s]
    quarter = max(1, len(judged) // 4)
    warm_rss = statistics.median(s[1] for s in judged[:quarter])
    end_rss = statistics.median(s[1] for s in judged[-quarter:])
    growth_limit = max(RSS_GROWTH_LIMIT[0] * warm_rss, RSS_GROWTH_LIMIT[1])
    rate = users * 30 * (1 - _dropout_share(pool))
    max_lag = max(s[2] for s in judged)
    lag_start = statistics.median(s[2] for s in judged[:quarter])
    lag_end = statistics.median(s[2] for s in judged[-quarter:])
    result.messages_sent = sent
    result.extra.update(
        capacity_fps=round(capacity), users=users, target_fps=round(rate),
        achieved_fps=round(rates[0]) if rates else None,
        rss_warm_mib=round(warm_rss / 2**20, 1), rss_end_mib=round(end_rss / 2**20, 1),
        rss_growth_mib=round((end_rss - warm_rss) / 2**20, 1),
        max_lag_frames=round(max_lag), max_lag_s=round(max_lag / rate, 2),
        lag_median_first_quarter=round(lag_start), lag_median_last_quarter=round(lag_end),
        drained_after_load_s=round(drained_in, 1), samples=len(samples),
    )
    result.recovery_s = round(drained_in, 1)

    audit = collect(settings, sent)
    audit.fill(result)
    assert audit.problems() == []
    assert rates and rates[0] >= 0.9 * rate, "the load generator could not keep the rate"
    assert end_rss - warm_rss <= growth_limit, result.extra
    assert max_lag <= LAG_LIMIT_S * rate, result.extra
    assert consumer.alive()


def _dropout_share(pool: list[np.ndarray]) -> float:
    rows = np.concatenate(pool)
    return float(np.isnan(rows).any(axis=1).mean())
