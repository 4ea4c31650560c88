"""A self-contained HTML page for one session: what a coach opens after a run.

Summary metrics against their normal ranges, the cues (English and Korean), metrics over
time with the flagged windows, the autoencoder's scores when a model is given, and stick
figures of the worst moments. Figures are embedded (base64 PNG) so the page travels alone.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from consumer.gait.body import FPS
from consumer.gait.cues import CueRule
from consumer.gait.recording import RecordingMetrics
from consumer.gait.report_plots import bands, stick_figures_png, timeline_png
from consumer.gait.specs import METRICS

WORST_MOMENTS = 3
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1000px;
color:#222} h1{font-size:22px;margin-bottom:2px} h2{font-size:17px;margin-top:28px;
border-bottom:1px solid #ddd;padding-bottom:4px} .sub{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px} td,th{padding:3px 10px;border-bottom:1px solid
#eee;text-align:left} .out{color:#b00;font-weight:600} .ok{color:#080} .cue{margin:8px 0;
padding:8px 12px;border-left:4px solid #d33;background:#fdf3f3} .cue.mild{border-color:#e90;
background:#fff8ec} .ko{color:#555} img{max-width:100%} .note{color:#777;font-size:12px}
"""


@dataclass(frozen=True)
class SessionInfo:
    path: str
    frames: int
    dropped_rows: int = 0
    labels: Sequence[tuple[float, float, str]] = field(default_factory=tuple)  # (s, s, label)
    scores: np.ndarray | None = None  # autoencoder score per window
    threshold: float | None = None
    model_version: str = ""


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def worst_windows(rec: RecordingMetrics, scores: np.ndarray | None = None) -> list[int]:
    """Up to WORST_MOMENTS windows, most cues and furthest past their thresholds first,
    at least a window apart; the highest autoencoder scores when no cue was raised."""
    severity = np.zeros(len(rec))
    for i in np.flatnonzero(rec.flags.flagged):
        severity[i] = sum(1 + max(q.beyond, 0.0) / max(abs(q.threshold), 1e-6)
                          for q in rec.flags.cues(int(i)))
    if not severity.any() and scores is not None:
        severity = np.nan_to_num(scores, nan=0.0)
    chosen: list[int] = []
    size = rec.window_frames.shape[1]
    for i in np.argsort(-severity, kind="stable"):
        if severity[i] <= 0 and chosen:
            break
        if all(abs(rec.window_frames[i, -1] - rec.window_frames[j, -1]) >= size for j in chosen):
            chosen.append(int(i))
        if len(chosen) == WORST_MOMENTS:
            break
    return chosen


def _summary_rows(rec: RecordingMetrics, rules: Sequence[CueRule]) -> list[str]:
    limits = bands(rules)
    rows = []
    for name, value in rec.medians().items():
        spec = METRICS[name]
        band = limits.get(name)
        normal = f"{band.normal[0]:g} to {band.normal[1]:g}" if band else ""
        inside = band is None or band.normal[0] <= value <= band.normal[1]
        status = "" if band is None else ("<span class=ok>normal</span>" if inside
                                          else "<span class=out>outside</span>")
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{value:g} {html.escape(spec.unit)}"
                    f"</td><td>{normal}</td><td>{status}</td>"
                    f"<td class=note>{html.escape(spec.description)}</td></tr>")
    return rows


def _cue_blocks(rec: RecordingMetrics) -> list[str]:
    blocks = []
    for cue, share in rec.recording_cues():
        blocks.append(
            f"<div class='cue {cue.severity}'><b>{html.escape(cue.id)}</b> "
            f"({cue.severity}, {share:.0%} of windows; {html.escape(cue.metric)} up to "
            f"{round(cue.value, METRICS[cue.metric].decimals):g} against {cue.threshold:g})"
            f"<br>{html.escape(cue.text['en'])}"
            f"<br><span class=ko>{html.escape(cue.text['ko'])}</span></div>")
    return blocks or ["<p class=ok>No cue raised on enough of the run to report.</p>"]


def _flag_rows(rec: RecordingMetrics, info: SessionInfo) -> list[str]:
    rows = []
    for i in np.flatnonzero(rec.flags.flagged | _ae_flags(rec, info)):
        start, end = rec.window_frames[i, 0], rec.window_frames[i, -1]
        cues = ", ".join(f"{q.id} ({q.severity})" for q in rec.flags.cues(int(i))) or "-"
        score = "" if info.scores is None else f"{info.scores[i]:.4g}"
        rows.append(f"<tr><td>{start / FPS:.1f}-{end / FPS:.1f} s</td><td>{start}-{end}</td>"
                    f"<td>{html.escape(cues)}</td><td>{score}</td></tr>")
    return rows


def _ae_flags(rec: RecordingMetrics, info: SessionInfo) -> np.ndarray:
    if info.scores is None or info.threshold is None:
        return np.zeros(len(rec), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(info.scores > info.threshold)


def build_report(
    rec: RecordingMetrics, windows: np.ndarray, rules: Sequence[CueRule], info: SessionInfo
) -> tuple[str, dict[str, bytes]]:
    """(HTML page, {file name: PNG}) for one session; ``windows`` (W, T, 132) are its raw
    windows (for the stick figures)."""
    timeline = timeline_png(rec, rules, info.scores, info.threshold, info.labels)
    worst = worst_windows(rec, info.scores)
    titles = []
    for i in worst:
        cues = ", ".join(q.id for q in rec.flags.cues(i)) or "no cue"
        titles.append(f"{rec.window_frames[i, 0] / FPS:.1f}-{rec.window_frames[i, -1] / FPS:.1f}"
                      f" s: {cues}")
    moments = stick_figures_png(windows[worst], rec.window_frames[worst], titles)
    ae = ("" if info.scores is None else
          f" Autoencoder {html.escape(info.model_version)}: "
          f"{int(_ae_flags(rec, info).sum())} of {len(rec)} windows over its threshold.")
    page = "\n".join([
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>BarunRun report: {html.escape(info.path)}</title><style>{STYLE}</style>",
        "</head><body>",
        "<h1>BarunRun running report</h1>",
        f"<div class=sub>{html.escape(info.path)} · {rec.view} view · {info.frames} frames "
        f"({info.frames / FPS:.0f} s) · {len(rec)} windows · "
        f"{int(rec.flags.flagged.sum())} flagged by the rules.{ae}</div>",
        "<h2>What to work on</h2>", *_cue_blocks(rec),
        "<h2>The run in numbers (median over the windows)</h2>",
        "<table><tr><th>metric</th><th>median</th><th>normal range</th><th></th><th></th></tr>",
        *_summary_rows(rec, rules), "</table>",
        "<h2>Over time</h2>", f"<img alt='metrics over time' src='{_data_uri(timeline)}'>",
        "<h2>The worst moments</h2>",
        "<p class=note>Five frames across each window; blue: left side, orange: right.</p>",
        f"<img alt='stick figures' src='{_data_uri(moments)}'>",
        "<h2>Flagged windows</h2>",
        "<table><tr><th>time</th><th>frames</th><th>cues</th><th>autoencoder score</th></tr>",
        *(_flag_rows(rec, info) or ["<tr><td colspan=4>none</td></tr>"]), "</table>",
        "<p class=note>Metrics are measured from the pose landmarks of one camera and are valid "
        "only in the views stated in docs/metrics.md; cue thresholds are heuristics, not "
        "clinical norms.</p>",
        "</body></html>",
    ])
    return page, {"report_timeline.png": timeline, "report_moments.png": moments}
