"""Fixtures of the fault-injection suite: its size, result rows, consumer processes, and
brokers and Redis servers of a test's own (to stop, stall and restart without touching the
session's shared ones)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from consumer.settings import Settings
from consumer.stack import EmbeddedBroker, EmbeddedRedis, free_port
from tests.support.reliability.processes import ServeProcess, serve_environment
from tests.support.reliability.results import ScenarioResult, append_result
from tests.support.reliability.sizes import SuiteSize, suite_size

LOGS_ENV = "BARUNRUN_RELIABILITY_LOGS"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    # Keep each phase's report on the item: the result fixture writes the test's outcome.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def size() -> SuiteSize:
    return suite_size()


@pytest.fixture
def scenario(request: pytest.FixtureRequest, size: SuiteSize) -> Iterator[
    Callable[[str, str], ScenarioResult]
]:
    """``scenario(name, fault)`` -> the result row this test fills; written at teardown."""
    rows: list[ScenarioResult] = []
    started = time.monotonic()

    def open_row(name: str, fault: str) -> ScenarioResult:
        rows.append(ScenarioResult(scenario=name, size=size.name, fault=fault))
        return rows[-1]

    yield open_row
    call = getattr(request.node, "rep_call", None)
    outcome = call.outcome if call is not None else "error"
    for row in rows:
        row.outcome = outcome
        row.elapsed_s = round(time.monotonic() - started, 1)
        append_result(row)


@pytest.fixture
def log_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where this test's processes log: ``$BARUNRUN_RELIABILITY_LOGS/<test>`` when set (kept
    for a post-mortem; pytest prunes its own temporary folders), else the test's tmp_path."""
    root = os.environ.get(LOGS_ENV)
    if not root:
        return tmp_path
    folder = Path(root) / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def serve_process(log_dir: Path) -> Iterator[Callable[..., ServeProcess]]:
    """``serve_process(settings, model_dir, name, extra_env=None, args=())`` (not started)."""
    made: list[ServeProcess] = []

    def make(settings: Settings, model_dir: Path | str, name: str,
             extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> ServeProcess:
        made.append(ServeProcess(name, serve_environment(settings, model_dir, extra_env),
                                 log_dir, args))
        return made[-1]

    yield make
    for process in made:
        process.stop()


@pytest.fixture
def own_redis(log_dir: Path) -> Iterator[Callable[..., EmbeddedRedis]]:
    """``own_redis(password="", port=0)`` -> a started redis-server of this test's own."""
    started: list[EmbeddedRedis] = []

    def start(password: str = "", port: int = 0) -> EmbeddedRedis:
        server = EmbeddedRedis(port or free_port(), log_dir, password=password)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.proc.stop()


@pytest.fixture
def own_broker(log_dir: Path) -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker(free_port(), log_dir)
    broker.start()
    yield broker
    broker.proc.stop()
