"""Render the fault-injection suite's results (JSON lines) as the tables of docs/reliability.md.

    python scripts/reliability_report.py --size ci --results build/reliability/results-ci.jsonl

replaces what stands between ``<!-- results:SIZE:begin -->`` and ``<!-- results:SIZE:end -->``
in the doc with a table of that run and, folded under it, the raw lines it was made from (so
``--from-doc`` can render the tables again without the results file).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.reliability.results import ScenarioResult, read_results  # noqa: E402

ORDER = ("crash", "rebalance", "redis_stall", "redis_restart", "broker_stall", "bad_input",
         "decoder_fuzz", "model_faults", "soak")
COLUMNS = ("scenario", "fault", "outcome", "messages sent", "windows expected", "scored",
           "missing", "duplicated", "unexpected", "events", "DLQ", "recovery s", "notes")


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def notes(row: ScenarioResult) -> str:
    """The figures particular to a scenario, in a few words."""
    x = row.extra
    if row.scenario == "crash":
        return f"{x.get('kills')} kills; frames consumed by each killed process " \
               f"{x.get('frames_consumed_by_killed_processes')}"
    if row.scenario == "rebalance":
        return f"state lost: {x.get('state_lost')}; state conflicts (replayed): " \
               f"{x.get('state_conflicts')}"
    if row.scenario == "redis_stall":
        return f"Redis failures retried: {x.get('redis_failures_retried')}; state lost: " \
               f"{x.get('state_lost')}"
    if row.scenario == "redis_restart":
        return f"runners whose windows restarted: " \
               f"{x.get('windows_restarted_after_state_loss', 0)}; counted state_lost: " \
               f"{x.get('state_lost_counted')}"
    if row.scenario == "broker_stall":
        return f"Kafka failures retried: {x.get('kafka_failures_retried')}"
    if row.scenario == "bad_input":
        reasons = x.get("dead_letters_by_reason", {})
        return f"{len(reasons)} reasons, each count as sent; windows of key-injection ids: 0"
    if row.scenario == "decoder_fuzz":
        outcomes = x.get("outcomes", {})
        return f"crashes {x.get('crashes')}; batch/single disagreements " \
               f"{x.get('batch_disagreements')}; accepted {outcomes.get('accepted')}; " \
               f"{len(outcomes) - 1} reasons reached"
    if row.scenario == "model_faults":
        return f"{x.get('refusals')} refused (seconds to refuse {x.get('seconds_to_refuse')}); " \
               "old model kept serving; payload never ran"
    if row.scenario == "soak":
        return (f"capacity {x.get('capacity_fps')} fps, soak {x.get('achieved_fps')} fps "
                f"({x.get('users')} users); RSS {x.get('rss_warm_mib')} -> "
                f"{x.get('rss_end_mib')} MiB; max lag {x.get('max_lag_frames')} frames "
                f"({x.get('max_lag_s')} s)")
    return ""


def table(rows: list[ScenarioResult]) -> str:
    rank = {name: i for i, name in enumerate(ORDER)}
    rows = sorted(rows, key=lambda r: rank.get(r.scenario, len(ORDER)))
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        cells = (r.scenario, r.fault, r.outcome, r.messages_sent, r.windows_expected,
                 r.windows_scored, r.missing, r.duplicated, r.unexpected, r.anomaly_events,
                 r.dlq, r.recovery_s, notes(r))
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def section(size: str, rows: list[ScenarioResult]) -> str:
    finished = max((r.finished_at for r in rows), default="")
    seconds = sum(r.elapsed_s or 0 for r in rows)
    raw = "\n".join(r.to_json() for r in rows)
    return (f"Run finished {finished}; scenarios took {seconds:.0f} s in all.\n\n"
            f"{table(rows)}\n\n<details><summary>raw results ({size})</summary>\n\n"
            f"```jsonl\n{raw}\n```\n\n</details>")


def _markers(size: str) -> tuple[str, str]:
    return f"<!-- results:{size}:begin -->", f"<!-- results:{size}:end -->"


def rows_in_doc(doc: str, size: str) -> list[ScenarioResult]:
    begin, end = _markers(size)
    block = doc.split(begin, 1)[1].split(end, 1)[0]
    found = re.search(r"```jsonl\n(.*?)\n```", block, re.DOTALL)
    lines = found.group(1).splitlines() if found else []
    return [ScenarioResult(**json.loads(line)) for line in lines if line.strip()]


def render(doc: str, size: str, rows: list[ScenarioResult]) -> str:
    begin, end = _markers(size)
    if begin not in doc or end not in doc:
        raise SystemExit(f"the doc has no {begin} ... {end} section")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{section(size, rows)}\n{end}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", required=True, choices=("ci", "full"))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--results", type=Path, help="the JSON lines a run wrote")
    source.add_argument("--from-doc", action="store_true",
                        help="render again from the raw lines kept in the doc")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "reliability.md")
    args = parser.parse_args(argv)
    doc = args.doc.read_text(encoding="utf-8")
    rows = rows_in_doc(doc, args.size) if args.from_doc else read_results(args.results)
    if not rows:
        print(f"no results for size {args.size}", file=sys.stderr)
        return 1
    args.doc.write_text(render(doc, args.size, rows), encoding="utf-8")
    print(f"{args.doc}: {len(rows)} scenarios of the {args.size} run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
