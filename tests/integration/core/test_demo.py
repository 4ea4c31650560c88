"""`barunrun demo` end to end: its own broker and Redis, the consumer, simulated runners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_runs_everything_and_summarises_against_the_truth(model_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "consumer", "demo", "--runners", "6", "--duration", "20",
         "--fast", "--no-live", "--json", "--seed", "3", "--model-dir", str(model_dir)],
        capture_output=True, text=True, timeout=300, check=False,
        # Not the machine's Redis or a developer's broker: the demo starts its own.
        env={**os.environ, "BARUNRUN_METRICS_PORT": "0"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["frames_sent"] > 6 * 20 * 30 * 0.9  # minus the simulator's dropouts
    assert summary["frames_consumed"] == summary["frames_sent"]
    assert len(summary["runners"]) == 6
    assert summary["faulty_runners"] == 2
    # Every runner streamed 600 frames: (600 - 30) / 10 + 1 windows each, less dropout gaps.
    assert summary["windows_scored"] >= 6 * 40
    per_runner = summary["runners"].values()
    assert all(r["windows"] >= 40 for r in per_runner)
    assert sum(r["flagged"] for r in per_runner) == summary["anomaly_events"]
    assert summary["latency_p99_ms"] is not None
    assert "BarunRun demo summary" in result.stderr


def test_demo_routes_the_simulated_phones_through_the_gateway(model_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "consumer", "demo", "--runners", "3", "--duration", "10",
         "--fast", "--no-live", "--json", "--seed", "4", "--model-dir", str(model_dir),
         "--via-gateway"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "BARUNRUN_METRICS_PORT": "0"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert "gateway up:" in result.stderr
    assert summary["frames_sent"] > 3 * 10 * 30 * 0.9
    assert summary["frames_consumed"] == summary["frames_sent"]
    assert summary["windows_scored"] >= 3 * 20
