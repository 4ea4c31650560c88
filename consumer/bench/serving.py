"""Real ``barunrun serve`` processes for the benchmark, watched only through ``/metrics``.

Each consumer is the shipped command in its own process (its own interpreter, TensorFlow and
Kafka clients), configured by environment variables as a deployment would be. Throughput is
read from ``barunrun_frames_consumed_total``, which counts a batch once its records are
acknowledged, its window states saved and its offsets committed: "consumed" means done.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from consumer.bench.limit import Drained
from consumer.errors import StackError
from consumer.stack import free_port

# Watching costs the consumer a /metrics render per sample: 10 Hz keeps that near 1% of its
# time, and the end of a drain is interpolated between samples.
SAMPLE_S = 0.1
CONSUMED = "barunrun_frames_consumed_total"
# The lag gauge has a series per assigned partition once the consumer has fetched from it.
_ASSIGNED = re.compile(r'^barunrun_consumer_lag_messages\{partition="(\d+)"\}', re.MULTILINE)


def parse_metrics(text: str) -> dict[str, float]:
    """Unlabelled samples of a Prometheus text page (name -> value)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line[0] == "#" or "{" in line:
            continue
        name, _, value = line.partition(" ")
        with contextlib.suppress(ValueError):
            values[name] = float(value)
    return values


@dataclass
class ServeProcess:
    """One ``barunrun serve`` child process and its metrics port."""

    name: str
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    last: dict[str, float] = field(default_factory=dict)
    text: str = ""

    @classmethod
    def start(
        cls, name: str, env: Mapping[str, str], model_dir: Path, workdir: Path,
        config: str | None = None,
    ) -> ServeProcess:
        port = free_port()
        argv = [sys.executable, "-m", "consumer", "serve", "--model-dir", str(model_dir),
                "--metrics-port", str(port), "--startup-timeout", "60"]
        if config:
            argv += ["--config", config]
        log_path = workdir / f"serve-{name}.log"
        with log_path.open("ab") as handle:
            process = subprocess.Popen(
                argv, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        return cls(name, port, log_path, process)

    def metrics(self) -> dict[str, float]:
        """The latest metrics; the previous ones while the HTTP server is not up yet."""
        self.check_alive()
        try:
            url = f"http://127.0.0.1:{self.port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as response:
                self.text = response.read().decode()
                self.last = parse_metrics(self.text)
        except OSError:
            pass
        return self.last

    def consumed(self) -> float:
        return self.metrics().get(CONSUMED, 0.0)

    def assigned(self) -> set[int]:
        """The partitions this consumer holds and has fetched from (per the last metrics)."""
        return {int(p) for p in _ASSIGNED.findall(self.text)}

    def freeze(self) -> None:
        """SIGSTOP: a consumer that is up and joined waits, using no CPU, until ``thaw``
        (its group session may lapse meanwhile; it rejoins on its own when thawed)."""
        self.check_alive()
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise StackError(f"consumer {self.name} exited ({self.process.returncode}):\n"
                             f"{self.tail()}")

    def peak_rss_mb(self) -> float:
        """The process's peak resident memory (VmHWM), in MiB; 0 where /proc has none."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0.0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.thaw()  # a stopped process does not act on SIGTERM
            self.process.terminate()  # SIGTERM: finish the batch, commit, close
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def drain(processes: Sequence[ServeProcess], total: int, timeout_s: float) -> Drained:
    """Wait until the processes together consumed ``total`` frames; the sustained rate from
    the first sample that saw consumption (start-up, TensorFlow load and the group join are
    not counted) to the moment the count reached ``total`` (interpolated between samples)."""
    deadline = time.monotonic() + timeout_s
    first_at, first_count = 0.0, 0.0
    previous_at, previous = time.perf_counter(), 0.0
    while True:
        now = time.perf_counter()
        count = sum(p.consumed() for p in processes)
        if count and not first_at:
            first_at, first_count = now, count
        if count >= total:
            if first_count >= total:
                # All of it inside one sample (a tiny backlog): the time since the sample
                # before is an upper bound, so the rate a lower bound.
                return Drained(total, now - previous_at)
            share = (total - previous) / max(count - previous, 1e-9)
            end = previous_at + share * (now - previous_at)
            return Drained(int(total - first_count), end - first_at)
        if time.monotonic() > deadline:
            raise StackError(
                f"consumers reached {count:.0f} of {total} frames in {timeout_s:.0f} s")
        previous_at, previous = now, count
        time.sleep(SAMPLE_S)


def wait_joined(
    groups: Sequence[Sequence[ServeProcess]], partitions: int, timeout_s: float
) -> None:
    """Wait until, in every group, each process holds partitions and together they hold all
    of them, twice in a row (a rebalance in between would show as a change)."""
    deadline = time.monotonic() + timeout_s
    previous: list[list[set[int]]] = []
    while True:
        for group in groups:
            for process in group:
                process.metrics()
        now = [[p.assigned() for p in group] for group in groups]
        settled = all(
            all(held) and set().union(*held) == set(range(partitions)) for held in now
        )
        if settled and now == previous:
            return
        if time.monotonic() > deadline:
            names = ", ".join(p.name for group in groups for p in group)
            raise StackError(f"consumers {names} did not join in {timeout_s:.0f} s (held {now})")
        previous = now
        time.sleep(0.5)
