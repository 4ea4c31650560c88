"""``barunrun metrics PATH... [--json]``: gait metrics and coaching cues per recording.

For each recording: the camera view detected from the landmarks, the median of each metric
over its windows (only metrics valid in that view), and the cues raised on at least a fifth
of its windows. ``--json`` prints one object: ``{"recordings": [{"path", "view", "windows",
"metrics": {...}, "foot_strike", "cues": [{"id", "text", "severity", ...}]}]}``.
"""

from __future__ import annotations

import argparse
import json
import logging

from consumer.commands import settings_from_args
from consumer.errors import DataError
from consumer.gait.cues import LANGUAGES, RulesDetector, load_table
from consumer.gait.recording import compute_recording_metrics
from consumer.gait.specs import METRICS
from consumer.recording import iter_recording_paths, load_recording
from consumer.windows.rules import WindowConfig

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="recording CSV files or directories of them")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--language", choices=LANGUAGES, default="en",
                        help="language of the cue texts (default en)")
    parser.add_argument("--cues", metavar="TOML", help="a cue table other than the shipped one")


def _text_report(entry: dict) -> list[str]:
    lines = [f"{entry['path']}: {entry['view']} view, {entry['windows']} windows"]
    for name, value in entry["metrics"].items():
        unit = METRICS[name].unit
        lines.append(f"  {name:26s} {value:>9} {unit}")
    if "foot_strike" in entry:
        lines.append(f"  {'foot_strike':26s} {entry['foot_strike']:>9}")
    if not entry["cues"]:
        lines.append("  no cue raised")
    for cue in entry["cues"]:
        lines.append(f"  [{cue['severity']}] {cue['id']}: {cue['text']} "
                     f"({cue['metric']} {cue['value']} vs {cue['threshold']}, "
                     f"{cue['share_of_windows']:.0%} of windows)")
    return lines


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    w = settings.window
    window = WindowConfig(w.size, w.hop, w.max_gap_frames, w.max_gap_ms)
    detector = RulesDetector(load_table(args.cues))
    entries = []
    for path in iter_recording_paths(args.paths):
        recording = load_recording(path)
        if len(recording) < window.size:
            raise DataError(f"{path}: {len(recording)} frames, fewer than one window "
                            f"({window.size})")
        metrics = compute_recording_metrics(recording.frames, recording.landmarks, window,
                                            detector)
        entries.append(metrics.summary(str(path), args.language))
        log.info("metrics path=%s view=%s windows=%d cues=%d", path, metrics.view,
                 len(metrics), len(entries[-1]["cues"]))
    if args.json:
        print(json.dumps({"recordings": entries}, ensure_ascii=False))
    else:
        for entry in entries:
            print("\n".join(_text_report(entry)))
    return 0
