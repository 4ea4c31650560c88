"""How big each scenario runs: ``ci`` (the default, a few minutes on 2 cores) or ``full``.

``BARUNRUN_RELIABILITY_SIZE=full`` runs the sizes issue 7 names (50 runners, a 60 s stream,
5 kills, 10 s stalls, a 5-minute soak). The CI size scales runners, durations and kills down;
every scenario and every assertion runs at both sizes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

SIZE_ENV = "BARUNRUN_RELIABILITY_SIZE"


@dataclass(frozen=True)
class SuiteSize:
    name: str
    # 1. kill -9 during a real-time stream
    crash_runners: int
    crash_stream_s: float
    crash_kills: int
    # 2. a member of a two-consumer group stopped mid-stream, then started again
    rebalance_runners: int
    rebalance_stream_s: float
    # 3-4. Redis stall / restart, broker stall
    stall_runners: int
    stall_stream_s: float
    stall_s: float
    # 5. bad input at volume, and the decoder fuzz
    bad_runners: int
    bad_stream_s: float
    malformed: int
    fuzz_inputs: int
    # 7. soak at 80 % of the capacity a drain run measures
    drain_frames: int
    soak_s: float

    @property
    def seconds_budget(self) -> int:
        """A per-test timeout (pytest-timeout) generous for this size on a busy machine."""
        return 600 if self.name == "ci" else 1200


CI = SuiteSize(
    name="ci",
    crash_runners=12, crash_stream_s=30, crash_kills=3,
    rebalance_runners=10, rebalance_stream_s=30,
    stall_runners=8, stall_stream_s=25, stall_s=10,
    bad_runners=6, bad_stream_s=10, malformed=10_000, fuzz_inputs=100_000,
    drain_frames=20_000, soak_s=60,
)
FULL = SuiteSize(
    name="full",
    crash_runners=50, crash_stream_s=60, crash_kills=5,
    rebalance_runners=50, rebalance_stream_s=60,
    stall_runners=50, stall_stream_s=60, stall_s=10,
    bad_runners=20, bad_stream_s=30, malformed=10_000, fuzz_inputs=500_000,
    drain_frames=60_000, soak_s=300,
)
SIZES = {size.name: size for size in (CI, FULL)}


def suite_size(environ: dict[str, str] | None = None) -> SuiteSize:
    """The size chosen by ``BARUNRUN_RELIABILITY_SIZE`` (default ``ci``)."""
    name = (environ if environ is not None else os.environ).get(SIZE_ENV, "ci").strip().lower()
    if name not in SIZES:
        raise ValueError(f"{SIZE_ENV}={name!r}: choose one of {', '.join(SIZES)}")
    return SIZES[name]
