"""The autoencoder and the rules side by side on the same held-out windows, and their union.

The autoencoder (``consumer.model``, loaded with ``artifact.load_scorer``) scores every window
of the evaluation's sessions; a window is flagged by it when valid and over its calibrated
threshold. The rules flag a window when they raise any cue. The union is what the consumer
publishes with ``[detectors] enabled = ["autoencoder", "rules"]``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from consumer.features.runner_level import Runs
from consumer.gait.evaluate.collect import Evaluated
from consumer.recording import NORMAL
from producer_sim.faults import FAULT_NAMES, FAULTS, VIEWS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Flags:
    label: np.ndarray  # (W,) window labels ("normal", a fault, "ramp")
    view: np.ndarray  # (W,) the session's view
    autoencoder: np.ndarray  # (W,) bool
    rules: np.ndarray  # (W,) bool
    valid: np.ndarray  # (W,) bool: the autoencoder could score the window


def score_all(evaluated: Sequence[Evaluated], model_dir: Path) -> tuple[Flags, str, float]:
    """Both detectors' flags on every window; the model's version and threshold."""
    artifact = importlib.import_module("consumer.model.artifact")  # TensorFlow loads here
    scorer = artifact.load_scorer(model_dir)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("label", "view", "ae", "rules",
                                                         "valid")}
    for ev in evaluated:
        ws = ev.windowed
        result = scorer.score(ws.session.landmarks[ws.rows].astype(np.float32),
                              Runs.one(ws.frames[:, -1]))
        parts["label"].append(ws.labels)
        parts["view"].append(np.full(len(ws.labels), ws.view, dtype=object))
        parts["ae"].append(np.asarray(result.valid & result.is_anomaly))
        parts["rules"].append(ev.flags.flagged)
        parts["valid"].append(np.asarray(result.valid))
    joined = {k: np.concatenate(v) for k, v in parts.items()}
    log.info("scored windows=%d model=%s", len(joined["label"]), scorer.version)
    flags = Flags(joined["label"], joined["view"], joined["ae"], joined["rules"],
                  joined["valid"])
    return flags, str(scorer.version), float(scorer.threshold)


def _rates(flags: Flags, chosen: np.ndarray) -> tuple[int, float, float, float, float]:
    n = int(chosen.sum())
    if not n:
        return 0, np.nan, np.nan, np.nan, np.nan
    ae, rules = flags.autoencoder[chosen], flags.rules[chosen]
    return n, ae.mean(), rules.mean(), (ae | rules).mean(), (ae & rules).mean()


def _pct(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{100 * value:.1f} %"


def compare_section(
    evaluated: Sequence[Evaluated], model_dir: Path, note: str = ""
) -> list[str]:
    flags, version, threshold = score_all(evaluated, model_dir)
    made = f" ({note})" if note else ""
    lines = [
        f"Model `{version}`{made}, threshold {threshold:.4g}, on the same "
        "held-out windows as above. *either*: flagged by the autoencoder or the rules (what "
        "the consumer publishes with both detectors enabled); *both*: by each. For the "
        "rules, a window is flagged when any cue is raised, as for an event: not always the "
        "fault's own (the confusion table above has which). Windows the "
        f"autoencoder could not score: {1 - flags.valid.mean():.1%}.\n",
        "| windows | view | count | autoencoder | rules | either | both |",
        "|---|---|---|---|---|---|---|",
    ]
    for view in (*VIEWS, None):
        in_view = np.ones(len(flags.label), bool) if view is None else flags.view == view
        n, ae, rules, either, both = _rates(flags, (flags.label == NORMAL) & in_view)
        lines.append(f"| normal (false alarms) | {view or '**all**'} | {n} | {_pct(ae)} | "
                     f"{_pct(rules)} | {_pct(either)} | {_pct(both)} |")
    totals = []
    for fault in FAULT_NAMES:
        visible = np.isin(flags.view, sorted(FAULTS[fault].visible_views))
        n, ae, rules, either, both = _rates(flags, (flags.label == fault) & visible)
        totals.append((n, ae, rules, either))
        lines.append(f"| `{fault}` (detection) | {', '.join(sorted(FAULTS[fault].visible_views))}"
                     f" | {n} | {_pct(ae)} | {_pct(rules)} | {_pct(either)} | {_pct(both)} |")
    weights = np.array([t[0] for t in totals], dtype=float)
    means = [np.average([t[k] for t in totals], weights=weights) for k in (1, 2, 3)]
    lines += [
        "",
        f"Over all faulty windows: autoencoder {_pct(means[0])}, rules {_pct(means[1])}, "
        f"either {_pct(means[2])}. The autoencoder knows nothing of camera views or faults: it "
        "flags what differs from the normal runners it was trained on, whatever the view, "
        "and names joints, not faults; the rules flag only what a metric valid in the view "
        "shows, and say what to do. Their union catches what either sees, at the sum of their "
        "false alarms (the rows above); the rules' cues explain an autoencoder event when "
        "both flag it.",
    ]
    return lines
