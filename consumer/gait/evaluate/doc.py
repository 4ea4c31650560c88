"""docs/metrics.md from an evaluation: metric definitions, errors, the cue table, confusion."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from consumer.gait.cues import CueRule
from consumer.gait.evaluate.accuracy import ErrorRow, Errors, share_within
from consumer.gait.evaluate.collect import DISTANCE_BANDS, EvaluationPlan
from consumer.gait.evaluate.confusion import Confusion
from consumer.gait.specs import METRICS, USUAL
from consumer.recording import NORMAL
from producer_sim.faults import FAULT_NAMES, FAULTS, VIEWS

DETECTION_TARGET = 0.90
FALSE_ALARM_TARGET = 0.05
CADENCE_LIMIT_SPM = 3.0
TRUNK_LEAN_LIMIT_DEG = 3.0


def _num(value: float, decimals: int = 3) -> str:
    return "-" if not np.isfinite(value) else f"{value:.{decimals}f}"


def _pct(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{100 * value:.1f} %"


def metric_table() -> list[str]:
    lines = ["| metric | unit | valid in | what it is |", "|---|---|---|---|"]
    for spec in METRICS.values():
        views = ", ".join(v for v in VIEWS if v in spec.views)
        lines.append(f"| `{spec.name}` | {spec.unit} | {views} | {spec.description} |")
    return lines


def error_table(rows: Sequence[ErrorRow]) -> list[str]:
    bands = [name for name, _, _ in DISTANCE_BANDS]
    head = ("| metric | view | windows | reported | bias | MAE | p90 abs error | "
            + " | ".join(f"MAE {b}" for b in bands) + " |")
    lines = [head, "|---" * (7 + len(bands)) + "|"]
    for r in rows:
        d = 1 if r.metric.endswith(("_deg", "_spm")) else 3
        lines.append(
            f"| `{r.metric}` | {r.view} | {r.windows} | {_pct(r.reported)} | {_num(r.bias, d)} "
            f"| {_num(r.mae, d)} | {_num(r.p90, d)} | "
            + " | ".join(_num(r.mae_by_band[b], d) for b in bands) + " |")
    return lines


def headline(errors: Errors, rows: Sequence[ErrorRow]) -> list[str]:
    lines = []
    for metric, limit, unit in (("cadence_spm", CADENCE_LIMIT_SPM, "steps/min"),
                                ("trunk_lean_deg", TRUNK_LEAN_LIMIT_DEG, "deg")):
        row = next((r for r in rows if r.metric == metric and r.view == "side"), None)
        if row is None:
            continue
        within = share_within(errors, metric, "side", limit)
        verdict = "meets" if row.mae <= limit else "MISSES"
        lines.append(f"- `{metric}`, side views: MAE {row.mae:.2f} {unit}, bias "
                     f"{row.bias:+.2f}; {within:.1%} of windows within {limit:g} {unit} "
                     f"({verdict} the target of {limit:g} {unit}).")
    return lines


def cue_table(rules: Sequence[CueRule]) -> list[str]:
    lines = ["| cue id | fires when | normal range | severity | source | English | 한국어 |",
             "|---|---|---|---|---|---|---|"]
    for rule in rules:
        whens, normals = [], []
        for c in rule.conditions:
            sign = ">" if c.above else "<"
            views = f" ({', '.join(sorted(c.views))})" if c.views else ""
            release = (f", held to {c.release:g}" if c.release is not None
                       and c.release != c.threshold else "")
            whens.append(f"`{c.metric}` {sign} {c.threshold:g}{views}{release}")
            normals.append(f"{c.normal[0]:g} to {c.normal[1]:g}")
        lines.append(
            f"| `{rule.id}` | {' or '.join(whens)} | {'; '.join(dict.fromkeys(normals))} "
            f"| {rule.severity} | {rule.source} | {rule.text['en']} | {rule.text['ko']} |")
    return lines


def detection_table(conf: Confusion) -> list[str]:
    lines = ["| fault | view | faulty windows | got its cue | other cues raised on > 10 % |",
             "|---|---|---|---|---|"]
    for fault, view in conf.shown():
        windows, shares, _ = conf.cells[fault][view]
        rate = conf.detection(fault, view)
        mark = "" if rate >= DETECTION_TARGET else " **(below 90 %)**"
        others = ", ".join(f"{cue} {share:.0%}" for cue, share in zip(conf.cue_ids, shares,
                                                                      strict=True)
                           if cue != fault and share > 0.10) or "-"
        lines.append(f"| `{fault}` | {view} | {windows} | {_pct(rate)}{mark} | {others} |")
    return lines


def false_alarm_table(conf: Confusion) -> list[str]:
    lines = ["| view | normal windows | any cue raised | most frequent |", "|---|---|---|---|"]
    for view in (*VIEWS, None):
        total, rate = conf.false_alarm(view)
        if not total:
            continue
        cells = [conf.cells[NORMAL][v] for v in ((view,) if view else VIEWS)
                 if v in conf.cells[NORMAL]]
        shares = sum(c[0] * c[1] for c in cells) / total
        top = sorted(zip(conf.cue_ids, shares, strict=True), key=lambda p: -p[1])[:3]
        top_text = ", ".join(f"{cue} {share:.1%}" for cue, share in top if share > 0) or "-"
        lines.append(f"| {view or '**all**'} | {total} | {_pct(rate)} | {top_text} |")
    return lines


def matrix_table(conf: Confusion) -> list[str]:
    """Rows: normal and each fault (its visible views pooled); columns: cues."""
    short = [c.replace("_", " ") for c in conf.cue_ids]
    lines = ["| windows of \\ cue | " + " | ".join(short) + " | any |",
             "|---" * (len(short) + 2) + "|"]
    for label in (NORMAL, *FAULT_NAMES):
        cells = conf.cells.get(label, {})
        views = [v for v in VIEWS if v in cells and (label == NORMAL
                                                      or v in FAULTS[label].visible_views)]
        total = sum(cells[v][0] for v in views)
        if not total:
            continue
        shares = sum(cells[v][0] * cells[v][1] for v in views) / total
        anyone = sum(cells[v][0] * cells[v][2] for v in views) / total
        row = [f"**{s:.0%}**" if cue == label else (f"{s:.0%}" if s >= 0.005 else ".")
               for cue, s in zip(conf.cue_ids, shares, strict=True)]
        lines.append(f"| `{label}` ({total}) | " + " | ".join(row) + f" | {anyone:.0%} |")
    return lines


def relative_cues(rules: Sequence[CueRule]) -> tuple[str, ...]:
    """Cues with a condition on a change against the runner's usual level."""
    relative = {spec.change for spec in USUAL.values()} | {"cadence_drop_rel"}
    return tuple(rule.id for rule in rules
                 if any(cond.metric in relative for cond in rule.conditions))


def onset_table(later: Confusion, from_start: Confusion, cues: Sequence[str]) -> list[str]:
    """Detection of the faults whose cues also read changes: setting in during the run
    against present from the first step."""
    lines = ["| fault | view | fault sets in during the run | fault from the first step |",
             "|---|---|---|---|"]
    for fault, view in later.shown(cues):
        lines.append(f"| `{fault}` | {view} | {_pct(later.detection(fault, view))} | "
                     f"{_pct(from_start.detection(fault, view))} |")
    return lines


def verdict(conf: Confusion) -> list[str]:
    misses = [(f, v, conf.detection(f, v)) for f, v in conf.shown()
              if conf.detection(f, v) < DETECTION_TARGET]
    total, rate = conf.false_alarm()
    lines = [f"- Normal windows raising any cue: {rate:.1%} of {total} "
             f"({'meets' if rate <= FALSE_ALARM_TARGET else 'MISSES'} the target of at most "
             f"{FALSE_ALARM_TARGET:.0%})."]
    if misses:
        listed = "; ".join(f"`{f}` {v} {r:.1%}" for f, v, r in misses)
        lines.append(f"- Fault/view pairs under the {DETECTION_TARGET:.0%} detection target: "
                     f"{listed}. All other pairs meet it.")
    else:
        lines.append(f"- Every fault gets its cue on at least {DETECTION_TARGET:.0%} of its "
                     "faulty windows in every view that shows it.")
    return lines


def plan_text(plan: EvaluationPlan, tune_seeds: Sequence[int]) -> str:
    return (f"Held-out seeds {', '.join(map(str, plan.seeds))} (thresholds and constants were "
            f"tuned on seeds {', '.join(map(str, tune_seeds))} only; runner ids and all their "
            f"randomness derive from the seed, so no runner is shared); {plan.runners} normal "
            f"runners per view and seed, and {plan.runners} runners per fault, view that shows "
            f"it, and seed, each {plan.frames} frames ({plan.frames / 30:.0f} s) with the fault "
            f"setting in at frame {plan.onset} at severity 0.72-0.96 (the dataset's spread).")
