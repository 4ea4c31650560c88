"""Fixtures for the archive and label flow on the real broker: the commands as processes.

``barunrun archive``, ``label`` and ``labels`` run as child processes with a config file
written from the test's settings.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from consumer.settings import Settings


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(settings: Settings, path: Path) -> Path:
    """The sections the data commands use, as a TOML file for ``--config``."""
    data = settings.model_dump(mode="json")
    lines: list[str] = []
    for section in ("kafka", "topics", "frames", "archive", "window", "serve"):
        lines.append(f"[{section}]")
        for key, value in data[section].items():
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Barunrun:
    """Runs ``barunrun <command> --config <the test's config>`` as a child process."""

    def __init__(self, config: Path, logs: Path) -> None:
        self.config = config
        self.logs = logs
        self.started: list[subprocess.Popen[str]] = []
        self.log_paths: list[Path] = []

    def argv(self, *args: str) -> list[str]:
        command, rest = args[0], list(args[1:])
        if command == "labels":  # `labels ACTION --config X`
            rest = [rest[0], "--config", str(self.config), *rest[1:]]
        else:
            rest = ["--config", str(self.config), *rest]
        return [sys.executable, "-m", "consumer", command, *rest]

    def start(self, *args: str) -> subprocess.Popen[str]:
        path = self.logs / f"{args[0]}-{len(self.started)}.log"
        self.log_paths.append(path)
        log = path.open("w")
        process = subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE, stderr=log,
                                   text=True)
        self.started.append(process)
        return process

    def run(self, *args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), capture_output=True, text=True,
                              timeout=timeout_s, check=False)


@pytest.fixture
def barunrun(tmp_path: Path) -> Iterator[Callable[[Settings], Barunrun]]:
    made: list[Barunrun] = []

    def make(settings: Settings) -> Barunrun:
        made.append(Barunrun(write_config(settings, tmp_path / "barunrun.toml"), tmp_path))
        return made[-1]

    yield make
    for runner in made:
        for process in runner.started:
            if process.poll() is None:
                process.kill()
                process.wait(10)
