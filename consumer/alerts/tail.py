"""One human-readable line per alert message (``barunrun alerts tail``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson


def _when(ts_ms: object) -> str:
    if not isinstance(ts_ms, int):
        return "?"
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def alert_line(alert: dict[str, Any]) -> str:
    """e.g. ``2026-11-23 07:01:02 OPENED   runner-42/s-0700 hunched_head (moderate)
    frames 1205-1294 3.0 s, 7 windows, ratio peak 3.20 mean 2.10, joints nose, left_ear:
    "Keep your head up..." [runner-42:s-0700:1234]``"""
    kind = str(alert.get("type", "?")).upper()
    if alert.get("resolved_reason"):
        kind = f"{kind}({alert['resolved_reason']})"
    cue = alert.get("cue") or {}
    ratio = alert.get("score_ratio") or {}
    windows = alert.get("windows") or {}
    joints = ", ".join(str(j.get("joint")) for j in alert.get("top_joints") or [])
    fault = alert.get("fault") or "unknown fault"
    severity = f" ({cue['severity']})" if cue.get("severity") else ""
    peak, mean = ratio.get("peak"), ratio.get("mean")
    parts = [
        f"{_when(alert.get('end_ts_ms'))} {kind:<17} {alert.get('user_id')}/"
        f"{alert.get('session_id')} {fault}{severity}",
        f"frames {alert.get('start_frame')}-{alert.get('end_frame')} "
        f"{(alert.get('duration_ms') or 0) / 1000:.1f} s, {windows.get('count', '?')} windows",
        f"ratio peak {peak:.2f}" + (f" mean {mean:.2f}" if mean is not None else "")
        if isinstance(peak, int | float) else "ratio ?",
        f"joints {joints or '-'}",
    ]
    line = ", ".join(parts)
    if cue.get("text"):
        line += f': "{cue["text"]}"'
    return f"{line} [{alert.get('alert_id')}]"


def render(value: bytes | None, as_json: bool) -> str:
    """The line for one record's value (``--json``: the message as one JSON line)."""
    try:
        alert = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return orjson.dumps({"unreadable": (value or b"")[:200].decode(errors="replace")}
                            ).decode() if as_json else "(an unreadable alert message)"
    if not isinstance(alert, dict):
        return "(an alert message that is not an object)" if not as_json else orjson.dumps(
            {"unreadable": alert}).decode()
    return orjson.dumps(alert).decode() if as_json else alert_line(alert)
