"""The benchmark's pure parts: metrics parsing, drain timing, naive extrapolation, the doc."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.bench import serving
from consumer.bench.doc import BEGIN, END, write_doc
from consumer.bench.naive import NaiveResult, naive_windows
from consumer.bench.serving import drain, parse_metrics


def test_parse_metrics_keeps_unlabelled_samples() -> None:
    text = ("# HELP barunrun_frames_consumed_total x\n"
            "barunrun_frames_consumed_total 1234.0\n"
            'barunrun_consumer_lag_messages{partition="0"} 5.0\n'
            "barunrun_score_batch_seconds_sum 0.5\n")
    assert parse_metrics(text) == {"barunrun_frames_consumed_total": 1234.0,
                                   "barunrun_score_batch_seconds_sum": 0.5}


class _Counting:
    """A consumer whose count advances by a fixed step per sample."""

    def __init__(self, steps: list[float]) -> None:
        self._steps = iter(steps)

    def consumed(self) -> float:
        return next(self._steps)


def test_drain_times_from_first_consumption_to_the_interpolated_end(monkeypatch) -> None:
    clock = iter(float(t) for t in range(100))
    monkeypatch.setattr(serving.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(serving.time, "sleep", lambda _s: None)
    # t=1: 0; t=2: 100 (first seen); t=3: 200; t=4: 400 -> 300 reached halfway through 3..4.
    result = drain([_Counting([0, 100, 200, 400])], 300, timeout_s=60)  # type: ignore[list-item]
    assert result.frames == 200
    assert result.seconds == pytest.approx(1.5)


def test_naive_extrapolation_uses_both_costs() -> None:
    naive = NaiveResult(frames=100, windows=10, seconds=1.5, frame_ms=5.0, window_ms=100.0)
    # 1000 frames x 5 ms + 50 windows x 100 ms = 10 s
    assert naive.extrapolate(1000, 50) == pytest.approx(100.0)
    assert naive_windows([29, 30, 40, 59], size=30, hop=10) == 0 + 1 + 2 + 3


def test_write_doc_replaces_only_the_generated_part(tmp_path: Path, monkeypatch) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"intro\n{BEGIN}\nold numbers\n{END}\nnotes\n")
    monkeypatch.setattr("consumer.bench.doc.generated", lambda result: "new numbers\n")
    write_doc(doc, {})
    assert doc.read_text() == f"intro\n{BEGIN}\nnew numbers\n{END}\nnotes\n"
