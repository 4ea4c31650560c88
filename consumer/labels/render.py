"""The labels report as readable tables (rich), from the report's JSON-ready data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

# Long lists are cut on screen (``--json`` has them all).
MAX_ROWS = 30
# Narrow tables would wrap their own titles.
MIN_WIDTH = 64


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _summary(report: Mapping[str, Any]) -> Table:
    cov, subs = report["coverage"], report["submissions"]
    table = Table(title="Labels: summary", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("archived frames", f"{cov['archived_frames']:,}")
    table.add_row("labelled frames", f"{cov['labelled_frames']:,} "
                  f"({_pct(cov['labelled_share'])} coverage)")
    table.add_row("resolved / unresolved", f"{cov['resolved_frames']:,} / "
                  f"{cov['unresolved_frames']:,}")
    table.add_row("submissions", f"{subs['total']:,} by {len(subs['by_labeller'])} labellers "
                  f"({', '.join(f'{k}: {v}' for k, v in subs['by_labeller'].items())})")
    rejected = ", ".join(f"{k}: {v}" for k, v in subs["rejected_by_reason"].items())
    table.add_row("rejected messages", f"{subs['rejected']}" + (f" ({rejected})" if rejected
                                                                 else ""))
    table.add_row("conflicts", f"{len(report['conflicts'])}")
    table.add_row("dangling labels", f"{len(report['dangling'])}")
    table.add_row("trusted labellers", ", ".join(report["trusted_labellers"]) or "(none)")
    return table


def _balance(report: Mapping[str, Any]) -> Table:
    table = Table(title="Class balance (resolved archived frames)", title_justify="left",
                  min_width=MIN_WIDTH)
    table.add_column("label")
    table.add_column("frames", justify="right")
    table.add_column("share", justify="right")
    for name, entry in report["class_balance"].items():
        table.add_row(name, f"{entry['frames']:,}", _pct(entry["share"]))
    return table


def _users(report: Mapping[str, Any]) -> Table:
    table = Table(title="Coverage per user", title_justify="left", min_width=MIN_WIDTH)
    for column, justify in (("user", "left"), ("archived", "right"), ("labelled", "right"),
                            ("coverage", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for user, entry in list(report["coverage"]["users"].items())[:MAX_ROWS]:
        table.add_row(user, f"{entry['archived_frames']:,}", f"{entry['labelled_frames']:,}",
                      _pct(entry["labelled_share"]))
    return table


def _agreement(report: Mapping[str, Any]) -> Table:
    table = Table(title="Agreement between labellers (per frame, normal vs abnormal)",
                  title_justify="left")
    for column in ("labellers", "overlap frames", "agreement", "Cohen's kappa"):
        table.add_column(column, justify="left" if column == "labellers" else "right")
    for pair in report["agreement"]:
        kappa = "n/a" if pair["kappa"] is None else f"{pair['kappa']:.3f}"
        table.add_row(" / ".join(pair["labellers"]), f"{pair['overlap_frames']:,}",
                      _pct(pair["observed_agreement"]), kappa)
    return table


def _conflicts(report: Mapping[str, Any]) -> Table:
    table = Table(title="Conflicts and how the rule settled them", title_justify="left")
    for column in ("kind", "user / session", "frames", "labels", "outcome", "rule"):
        table.add_column(column, overflow="fold")
    for c in report["conflicts"][:MAX_ROWS]:
        sides = ", ".join(f"{s['labeller']}: {s['label']}" for s in c["sides"])
        outcome = Text(c["outcome"], style="bold red" if c["outcome"] == "unresolved" else "")
        table.add_row(c["kind"].replace("_", " "), f"{c['user_id']} / {c['session_id']}",
                      f"{c['start_frame']}-{c['end_frame']}", sides, outcome, c["rule"])
    return table


def _dangling(report: Mapping[str, Any]) -> Table:
    table = Table(title="Labels pointing at data the archive does not hold",
                  title_justify="left")
    for column in ("label id", "labeller", "user / session", "frames", "problem"):
        table.add_column(column, overflow="fold")
    for d in report["dangling"][:MAX_ROWS]:
        table.add_row(d["label_id"][:12], d["labeller"], f"{d['user_id']} / {d['session_id']}",
                      f"{d['start_frame']}-{d['end_frame']}", d["problem"])
    return table


def render_report(report: Mapping[str, Any], console: Console) -> None:
    parts: list[Any] = [_summary(report), _balance(report), _users(report)]
    if report["agreement"]:
        parts.append(_agreement(report))
    if report["conflicts"]:
        parts.append(_conflicts(report))
    if report["dangling"]:
        parts.append(_dangling(report))
    parts.append(Text(f"Rule: {report['rule']}", style="dim"))
    console.print(Group(*parts))
