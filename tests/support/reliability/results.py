"""The figures each scenario reports, written as JSON lines for docs/reliability.md.

A scenario fills a ``ScenarioResult`` as it goes (so a failing run still reports what it saw);
the suite's conftest writes it at teardown with the test's outcome, to the file named by
``BARUNRUN_RELIABILITY_RESULTS`` (nothing is written when it is unset).
``scripts/reliability_report.py`` renders the lines as the tables of docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_ENV = "BARUNRUN_RELIABILITY_RESULTS"


@dataclass
class ScenarioResult:
    """One row of the reliability table (None: not measured / not applicable)."""

    scenario: str
    size: str
    fault: str = ""
    messages_sent: int | None = None  # frames (and malformed messages) acked by the broker
    windows_expected: int | None = None
    windows_scored: int | None = None  # distinct window ids on the scores topic
    missing: int | None = None
    duplicated: int | None = None  # extra copies of a window id (always the same window)
    unexpected: int | None = None  # scored ids the input does not imply
    anomaly_events: int | None = None  # distinct event ids
    dlq: int | None = None
    recovery_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    outcome: str = "unknown"
    elapsed_s: float | None = None
    finished_at: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def append_result(result: ScenarioResult, environ: dict[str, str] | None = None) -> Path | None:
    """Append one JSON line to ``$BARUNRUN_RELIABILITY_RESULTS``; the path, or None if unset."""
    target = (environ if environ is not None else os.environ).get(RESULTS_ENV, "")
    if not target:
        return None
    result.finished_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(result.to_json() + "\n")
    return path


def read_results(path: Path) -> list[ScenarioResult]:
    """The lines of a results file, the last line of each scenario winning."""
    latest: dict[str, ScenarioResult] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            latest[data["scenario"]] = ScenarioResult(**data)
    return list(latest.values())
