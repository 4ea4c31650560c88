"""``barunrun evaluate``: score normal and abnormal recordings with one or more models."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from consumer.commands import settings_from_args
from consumer.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--model", required=True, metavar="DIR", help="model directory")
    parser.add_argument("--compare", nargs="+", default=[], metavar="DIR",
                        help="more model directories evaluated on the same windows")
    parser.add_argument("--normal", nargs="+", default=[], metavar="PATH",
                        help="normal recordings: CSV files or directories of them")
    parser.add_argument("--abnormal", nargs="+", default=[], metavar="PATH",
                        help="faulty recordings (labels.csv beside them gives fault ranges)")
    parser.add_argument("--hop", type=int, default=5,
                        help="evaluation window stride in frames (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--report", metavar="DIR", help="write PNG plots to DIR")


def _clean(value: Any) -> Any:
    """JSON has no NaN: undefined rates become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not args.normal and not args.abnormal:
        raise ConfigError("give --normal and/or --abnormal recordings")
    if not 1 <= args.hop <= settings.window.size:
        raise ConfigError(f"--hop must be in 1..{settings.window.size}")
    from consumer.training.evaluate import evaluate_models  # noqa: PLC0415 - loads TF

    results = evaluate_models(
        [args.model, *args.compare], args.normal, args.abnormal, args.hop,
        settings.window.max_gap_frames, settings.model.batch_sizes,
    )
    output = dict(results[0].summary)
    output["model_dir"] = args.model
    if len(results) > 1:
        output["comparison"] = [
            {k: v for k, v in r.summary.items() if k != "per_file"} for r in results
        ]
    if args.report:
        from consumer.training.report import write_report  # noqa: PLC0415

        output["report"] = [str(p) for p in write_report(results, args.report)]
    if args.json:
        print(json.dumps(_clean(output)))
    else:
        _print_table(results)
    return 0


def _print_table(results: list[Any]) -> None:
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    def pct(value: float | None) -> str:
        return "-" if value is None or not math.isfinite(value) else f"{100 * value:.1f}%"

    table = Table(title="Evaluation (window level)")
    table.add_column("row")
    for r in results:
        table.add_column(f"{r.summary['model_kind']}\n{r.summary['model_version']}")
    rows: list[tuple[str, list[str]]] = [
        ("windows normal / abnormal", [
            f"{r.summary['windows_normal']} / {r.summary['windows_abnormal']}" for r in results
        ]),
        ("false alarm rate", [pct(r.summary["false_alarm_rate"]) for r in results]),
        ("detection rate", [pct(r.summary["detection_rate"]) for r in results]),
        ("ROC AUC", [f"{r.summary['roc_auc']:.3f}" for r in results]),
        ("threshold", [f"{r.summary['threshold']:.4g}" for r in results]),
        ("rejected windows", [str(r.summary["windows_rejected"]) for r in results]),
    ]
    faults = sorted({f for r in results for f in r.summary["per_fault"]})
    for fault in faults:
        rows.append((f"  detect {fault}", [
            pct(r.summary["per_fault"].get(fault, {}).get("detection_rate")) for r in results
        ]))
    for label, cells in rows:
        table.add_row(label, *cells)
    Console().print(table)
