"""The demo's live table and its end summary (rich)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from consumer.demo.tally import DemoTally

_STATUS_STYLE = {
    "DETECTED": "bold green", "missed": "bold red", "ok": "green",
    "false alarms": "yellow", "waiting for fault": "dim",
}


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:5.2f}"


def live_table(tally: DemoTally, header: dict[str, Any]) -> Group:
    """One row per runner: truth, what the consumer made of it, and a verdict."""
    table = Table(expand=True, show_edge=False, pad_edge=False)
    for column in ("runner", "view", "truth", "windows", "flagged", "last score/thr",
                   "top joint", "cues", "verdict"):
        table.add_column(column, no_wrap=True)
    for r in sorted(tally.runners.values(), key=lambda r: (r.fault is None, r.user_id)):
        truth = "normal" if r.fault is None else f"{r.fault} @ {r.onset_frame}"
        joint = r.top_joints.most_common(1)[0][0] if r.top_joints else "-"
        cues = ", ".join(c for c, _ in r.cues.most_common(2)) or "-"
        table.add_row(
            r.user_id, r.view, truth, str(r.windows), str(r.flagged), _ratio(r.last_ratio),
            joint, cues, Text(r.status, style=_STATUS_STYLE.get(r.status, "")),
        )
    line = "  ".join(f"{key} [bold]{value}[/]" for key, value in header.items())
    return Group(Text.from_markup(line), table)


def summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="BarunRun demo summary", show_header=False, expand=False)
    table.add_column("what")
    table.add_column("value", justify="right")

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} ms"

    rows = [
        ("frames sent / consumed", f"{summary['frames_sent']} / {summary['frames_consumed']}"),
        ("windows scored", str(summary["windows_scored"])),
        ("anomaly events", str(summary["anomaly_events"])),
        ("faulty runners detected",
         f"{summary['faulty_runners_detected']} of {summary['faulty_runners']}"),
        ("faulty windows flagged", pct(summary["window_detection_rate"])),
        ("false alarms (normal windows)", pct(summary["false_alarm_rate"])),
        ("normal runners with any false alarm",
         f"{summary['normal_runners_with_false_alarms']} of {summary['normal_runners']}"),
        ("throughput", f"{summary['throughput_fps']:.0f} frames/s"),
        ("frame-to-score latency p50 / p99",
         f"{ms(summary['latency_p50_ms'])} / {ms(summary['latency_p99_ms'])}"),
        ("model", summary["model_version"]),
    ]
    for what, value in rows:
        table.add_row(what, value)
    return table
