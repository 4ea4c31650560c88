"""Error of each metric against the simulator's ground truth, by camera view and distance.

Every window of every held-out session counts, except those in a fault's ramp (coming on:
the runner's form changes inside the window). The value compared is the one a runner is
shown (rolling state put in); the truth is the same quantity over the window's frames
(``truth.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from consumer.gait.evaluate.collect import DISTANCE_BANDS, Evaluated
from consumer.gait.evaluate.sessions import RAMP
from consumer.gait.evaluate.truth import TRUTH
from consumer.gait.specs import METRICS
from producer_sim.faults import VIEWS


@dataclass
class Errors:
    """Measured minus true values, grouped by (metric, view) and (metric, view, band)."""

    by_view: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    by_band: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    missing: dict[tuple[str, str], int] = field(default_factory=dict)  # truth, no value


def collect_errors(evaluated: Sequence[Evaluated]) -> Errors:
    errors = Errors()
    for ev in evaluated:
        ws = ev.windowed
        view, band = ws.view, ev.distance_band
        truth, leg = ws.session.truth, ws.leg_m
        for w in range(len(ws.labels)):
            if ws.labels[w] == RAMP:
                continue
            for name, measure in TRUTH.items():
                if view not in METRICS[name].views:
                    continue
                true_value = measure(truth, leg, ws.rows[w])
                if not np.isfinite(true_value):
                    continue
                value = float(ev.values[name][w])
                if not np.isfinite(value):
                    errors.missing[(name, view)] = errors.missing.get((name, view), 0) + 1
                    continue
                error = value - true_value
                errors.by_view.setdefault((name, view), []).append(error)
                errors.by_band.setdefault((name, view, band), []).append(error)
    return errors


@dataclass(frozen=True)
class ErrorRow:
    metric: str
    view: str
    windows: int
    reported: float  # share of windows with a truth value that got a metric value
    bias: float
    mae: float
    p90: float  # 90th percentile of the absolute error
    mae_by_band: dict[str, float]


def error_rows(errors: Errors) -> list[ErrorRow]:
    rows = []
    for name in METRICS:
        for view in VIEWS:
            values = np.asarray(errors.by_view.get((name, view), []))
            if not len(values):
                continue
            missing = errors.missing.get((name, view), 0)
            bands = {}
            for band, _, _ in DISTANCE_BANDS:
                in_band = np.asarray(errors.by_band.get((name, view, band), []))
                bands[band] = float(np.mean(np.abs(in_band))) if len(in_band) else float("nan")
            rows.append(ErrorRow(
                metric=name, view=view, windows=len(values),
                reported=len(values) / (len(values) + missing),
                bias=float(np.mean(values)), mae=float(np.mean(np.abs(values))),
                p90=float(np.percentile(np.abs(values), 90)), mae_by_band=bands,
            ))
    return rows


def share_within(errors: Errors, metric: str, view: str, limit: float) -> float:
    values = np.abs(np.asarray(errors.by_view.get((metric, view), [])))
    return float(np.mean(values <= limit)) if len(values) else float("nan")
