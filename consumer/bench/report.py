"""The benchmark's results as a terminal table and as docs/benchmarks.md."""

from __future__ import annotations

from typing import Any

DOC_REFERENCES = (
    ("Ingestion gateway (WebSocket/HTTP to Kafka): sessions held, added latency",
     "gateway.md#benchmark"),
    ("Alert latency (fault onset to `opened` received)", "alerts.md#alert-latency"),
)


def rows(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(variant, measured, ratio, target) rows, in the order the issue lists them."""
    r, ratios, t = result, result["ratios"], result["targets"]
    naive = r["naive"]

    def met(name: str) -> str:
        check = t[name]
        return f"{check['target']} {'met' if check['met'] else 'NOT met'}"

    latency = r["latency"]
    return [
        ("limit (kafka-python, no work)", f"{r['limit_fps']:,.0f} frames/s", "", ""),
        ("pipeline (barunrun serve)", f"{r['pipeline_fps']:,.0f} frames/s",
         f"{ratios['pipeline_vs_limit']:.2f} x limit", met("pipeline_vs_limit")),
        ("naive (per message)", f"{r['naive_fps']:,.1f} frames/s"
         + (" (extrapolated)" if naive["extrapolated"] else ""),
         f"pipeline = {ratios['pipeline_vs_naive']:,.0f} x naive", met("pipeline_vs_naive")),
        (f"latency at {latency['runners']} runners live", f"p50 {r['latency_p50_ms']:.0f} / "
         f"p95 {r['latency_p95_ms']:.0f} / p99 {r['latency_p99_ms']:.0f} ms", "",
         met("latency_p99_ms")),
        (f"scale ({r['scale']['processes']} processes, one group)",
         f"{r['scale_fps']:,.0f} frames/s", f"{r['scale_ratio']:.2f} x one", met("scale_ratio")),
        (f"scoring (Scorer.score, batch {r['scoring']['batch']:.0f})",
         f"{r['scoring_windows_per_s']:,.0f} windows/s", "", met("scoring_windows_per_s")),
        ("consumer peak RSS", f"{r['rss_mb']:,.0f} MiB", "", met("rss_mb")),
    ]


def table(result: dict[str, Any]) -> str:
    header = ("variant", "measured", "ratio", "target")
    body = rows(result)
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    capacity = result["capacity"]
    lines.append("")
    lines.append(f"capacity: {capacity['runners_planned']} concurrent runners at 30 fps per "
                 f"consumer process at {capacity['headroom']:.0%} load "
                 f"({capacity['runners_at_full_load']} at full load)")
    return "\n".join(lines)


def markdown_table(result: dict[str, Any]) -> str:
    lines = ["| variant | measured | ratio | target |", "|---|---:|---:|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows(result)]
    return "\n".join(lines)


def machine_lines(result: dict[str, Any]) -> str:
    m = result["machine"]
    return "\n".join([
        f"* CPU: {m['cpu_model']}, {m['cores']} cores ({m['cores_usable']} usable), "
        f"{m['memory_gib']} GiB RAM; {m['os']}",
        f"* Python {m['python']}, TensorFlow {m['tensorflow']}, Keras {m['keras']}, "
        f"kafka-python {m['kafka_python']}, redis-py {m['redis_py']}, "
        f"redis-server {m['redis_server']}, {m['broker']}",
        f"* load average (1 min) {m['load_average_start']} at the start, "
        f"{m['load_average_end']} at the end: the box is shared with other engineers' jobs",
    ])


def references() -> str:
    return "\n".join(f"* {text}: [docs/{target}]({target})" for text, target in DOC_REFERENCES)
