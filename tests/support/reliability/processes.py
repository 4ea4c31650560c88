"""``barunrun serve`` as a real process: start, wait until it serves, scrape, signal, kill.

The suite injects faults into real processes (kill -9, SIGTERM, a stopped dependency), so the
consumer runs as ``python -m consumer serve`` configured through the environment, exactly as a
deployment runs it. Its log goes to a file the test can read (and grep for secrets).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from consumer.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[3]
# Fields a test's Settings carries that the process must share: where the services are, its
# own topics, group and key prefix, and the short timeouts the fixtures use.
_SHARED_FIELDS: dict[str, tuple[str, ...]] = {
    "kafka": ("bootstrap", "session_timeout_ms", "heartbeat_interval_ms", "request_timeout_ms",
              "max_poll_records"),
    "topics": ("frames", "anomalies", "dlq", "scores"),
    "redis": ("url", "key_prefix", "socket_timeout_s"),
    "serve": ("group_id",),
    "window": ("idle_ttl_s", "max_gap_ms"),
    "model": ("reload_interval_s",),
}
READY_LINE = re.compile(r"serving topic=\S+ group=\S+ metrics_port=(\d+)")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def serve_environment(
    settings: Settings, model_dir: Path | str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The settings as the ``BARUNRUN_*`` variables a deployment would set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BARUNRUN_")}
    for section, fields in _SHARED_FIELDS.items():
        for name in fields:
            value = getattr(getattr(settings, section), name)
            env[f"BARUNRUN_{section}_{name}".upper()] = str(value)
    env["BARUNRUN_MODEL_DIR"] = str(model_dir)
    env["BARUNRUN_METRICS_HOST"] = "127.0.0.1"
    env["BARUNRUN_METRICS_PORT"] = "0"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class ServeProcess:
    """One ``python -m consumer serve`` process; ``start`` may be called again after a kill."""

    def __init__(
        self, name: str, env: Mapping[str, str], log_dir: Path, args: tuple[str, ...] = ()
    ) -> None:
        self.name = name
        self.env = dict(env)
        self.args = args
        self.log_path = log_dir / f"serve-{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0
        self._log_offset = 0  # where the current run's lines begin in the log file

    def start(self) -> ServeProcess:
        """Launch it (returns at once; ``wait_ready`` waits for it to serve)."""
        if self.alive():
            raise RuntimeError(f"consumer {self.name} is already running")
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "consumer", "serve", *self.args],
                env=self.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.port = 0
        self.starts += 1
        return self

    def wait_ready(self, timeout_s: float = 120.0) -> ServeProcess:
        """Until the process logs that it serves (model loaded, Redis and Kafka connected)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = READY_LINE.search(self.current_log())
            if found:
                self.port = int(found.group(1))
                return self
            if not self.alive():
                raise AssertionError(
                    f"consumer {self.name} exited with {self.returncode()} before serving:\n"
                    f"{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"consumer {self.name} not serving after {timeout_s:.0f} s:"
                                     f"\n{self.tail()}")
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"consumer {self.name} was never started")
        return self.process.pid

    def kill9(self) -> None:
        """SIGKILL: no batch finished, nothing flushed or committed on the way out."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            self.wait(30)

    def terminate(self, timeout_s: float = 60.0) -> int:
        """SIGTERM, then the exit code (the consumer finishes its batch and commits)."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
        return self.wait(timeout_s)

    def pause(self, busy_within_s: float = 5.0) -> bool:
        """SIGSTOP (a long GC pause, a frozen VM), preferably while the loop computes.

        The serving loop runs on the main thread: when its state in /proc is R (running) it
        is in the middle of a batch, not waiting in a poll. Returns whether it was caught so
        within ``busy_within_s`` (else it is stopped wherever it is).
        """
        stat = Path(f"/proc/{self.pid}/task/{self.pid}/stat")
        deadline = time.monotonic() + busy_within_s
        busy = False
        while time.monotonic() < deadline:
            # The state follows the parenthesised command name, which may contain spaces.
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "R":
                busy = True
                break
        os.kill(self.pid, signal.SIGSTOP)
        return busy

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def wait(self, timeout_s: float) -> int:
        if self.process is None:
            raise RuntimeError(f"consumer {self.name} was never started")
        return self.process.wait(timeout_s)

    def stop(self) -> None:
        """Teardown: SIGTERM, and SIGKILL if it does not go."""
        if not self.alive():
            return
        self.resume()  # a stopped process would not see the SIGTERM
        try:
            self.terminate(30)
        except subprocess.TimeoutExpired:
            self.kill9()

    def rss_bytes(self) -> int:
        """Resident memory of the process now (Linux /proc)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if not found:
            raise RuntimeError(f"no VmRSS for pid {self.pid}")
        return int(found.group(1)) * 1024

    def get(self, path: str, timeout_s: float = 10.0) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def metrics_text(self) -> str:
        status, body = self.get("/metrics")
        if status != 200:
            raise AssertionError(f"/metrics answered {status}")
        return body.decode()

    def samples(self) -> Samples:
        """Every sample of /metrics by (name, sorted labels)."""
        samples: Samples = {}
        for family in text_string_to_metric_families(self.metrics_text()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    def value(self, name: str, **labels: str) -> float:
        return self.samples().get((name, tuple(sorted(labels.items()))), 0.0)

    def exposed_text(self) -> str:
        """Everything the process lets an operator see: its whole log, /metrics and health."""
        parts = [self.full_log()]
        if self.alive() and self.port:
            parts += [self.get(path)[1].decode(errors="replace")
                      for path in ("/metrics", "/healthz", "/readyz")]
        return "\n".join(parts)

    def current_log(self) -> str:
        """What the current run (since the last start) has logged."""
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as handle:
            handle.seek(self._log_offset)
            return handle.read().decode(errors="replace")

    def full_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.full_log().splitlines()[-lines:])
