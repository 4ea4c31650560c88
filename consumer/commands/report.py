"""``barunrun report --session FILE --out DIR [--model DIR]``: an HTML page for one session.

Writes ``DIR/index.html`` (self-contained: figures embedded) and its figures as PNG files
beside it, and prints the page's path. With ``--model`` the autoencoder's score of every
window is drawn beside the rules' flags.
"""

from __future__ import annotations

import argparse
import importlib
import logging
from pathlib import Path

import numpy as np

from consumer.commands import settings_from_args
from consumer.errors import ConfigError, DataError
from consumer.features.runner_level import Runs
from consumer.gait.body import FPS
from consumer.gait.cues import RulesDetector, load_table
from consumer.gait.recording import compute_recording_metrics
from consumer.gait.report_page import SessionInfo, build_report
from consumer.recording import NORMAL, find_labels, load_recording
from consumer.windows.rules import WindowConfig, sliding_windows

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--session", required=True, metavar="FILE",
                        help="a recording CSV (one runner's session)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="folder for index.html and its figures")
    parser.add_argument("--model", type=Path, metavar="DIR",
                        help="a model directory (barunrun train) to add autoencoder scores")
    parser.add_argument("--cues", metavar="TOML", help="a cue table other than the shipped one")


def _labels(path: Path, frames: np.ndarray) -> list[tuple[float, float, str]]:
    """Labelled fault ranges of a dataset recording, in seconds (none for real sessions)."""
    index = find_labels([path])
    return [(r.start_frame / FPS, r.end_frame / FPS, r.label)
            for r in index.for_recording(path) if r.label != NORMAL]


def _scores(
    model_dir: Path, windows: np.ndarray, end_frames: np.ndarray
) -> tuple[np.ndarray, float, str]:
    try:
        artifact = importlib.import_module("consumer.model.artifact")
    except ImportError as exc:
        raise ConfigError(f"--model needs the posture model package ({exc})") from exc
    scorer = artifact.load_scorer(model_dir)
    result = scorer.score(windows.astype(np.float32), Runs.one(end_frames))
    scores = np.where(result.valid, result.scores, np.nan).astype(np.float64)
    return scores, float(scorer.threshold), str(scorer.version)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    path = Path(args.session)
    if not path.is_file():
        raise DataError(f"{path}: no such recording (give a recording CSV file)")
    w = settings.window
    window = WindowConfig(w.size, w.hop, w.max_gap_frames, w.max_gap_ms)
    recording = load_recording(path)
    windows, window_frames = sliding_windows(recording.frames, recording.landmarks, window)
    if not len(windows):
        raise DataError(f"{path}: {len(recording)} frames, fewer than one window ({w.size})")
    rules = load_table(args.cues)
    rec = compute_recording_metrics(recording.frames, recording.landmarks, window,
                                    RulesDetector(rules))
    info = SessionInfo(path=str(path), frames=len(recording),
                       dropped_rows=recording.dropped_rows,
                       labels=_labels(path, recording.frames))
    if args.model is not None:
        scores, threshold, version = _scores(args.model, windows, window_frames[:, -1])
        info = SessionInfo(**{**info.__dict__, "scores": scores, "threshold": threshold,
                              "model_version": version})
    page, images = build_report(rec, windows, rules, info)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, png in images.items():
        (args.out / name).write_bytes(png)
    target = args.out / "index.html"
    target.write_text(page, encoding="utf-8")
    log.info("report path=%s windows=%d flagged=%d", target, len(rec),
             int(rec.flags.flagged.sum()))
    print(target)
    return 0
