"""How episode settings behave on held-out simulated runners (the measurements behind the
defaults in docs/alerts.md).

``score_runs`` simulates runners (normal ones, and faulty ones whose fault starts and ends
mid-session), and puts their frames through the consumer's own batch processor (window rules,
the model, the gait stage) to get every window's verdict as serving would. ``evaluate``
then replays those verdicts through the episode state machine for each candidate config:
it is pure and sees only the windows, so this is exactly what serving would alert.

``python -m consumer.alerts.evaluate --model DIR`` prints the table (JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from consumer.alerts.config import EpisodeConfig
from consumer.alerts.episodes import advance
from consumer.alerts.state import EpisodeState
from consumer.alerts.verdicts import WindowVerdict, verdict_of
from consumer.model.base import Scorer
from consumer.serve.batch import DecodedBatch, FrameGroup
from consumer.serve.processor import BatchProcessor, OutputTopics
from consumer.serve.recency import Recency
from consumer.windows.rules import WindowConfig
from consumer.windows.store import InMemoryWindowStore

FPS = 30
CLEAR_FAULTS = ("hunched_head", "trunk_lean", "vertical_oscillation", "stiff_arms",
                "arm_crossing")
BATCH_FRAMES = 600  # frames per simulated poll batch (window results do not depend on it)
BASE_TS = 1_795_474_459_000


@dataclass(frozen=True)
class ScoredRun:
    user_id: str
    view: str
    fault: str | None
    onset_frame: int | None
    end_frame: int | None
    frames: int
    verdicts: tuple[WindowVerdict, ...]


def simulate_frames(
    user: str, frames: int, fault: str | None, severity: float, onset: int | None,
    end: int | None, seed: int, rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, str]:
    """A runner (random body and camera, in a view where ``fault`` shows) as frame numbers
    and landmark rows, tracker dropouts left out (a phone sends nothing for them)."""
    from producer_sim.faults import FaultPlan, views_for  # noqa: PLC0415 - the simulator
    from producer_sim.profile import RunnerProfile  # noqa: PLC0415
    from producer_sim.runner import simulate_session  # noqa: PLC0415

    views = views_for(fault) if fault else ("front", "oblique", "side")
    profile = RunnerProfile.random(rng, user, view=views[int(rng.integers(len(views)))])
    plans = [FaultPlan(fault, severity, onset, end)] if fault and onset is not None else []
    session = simulate_session(profile, frames, plans, seed=seed)
    keep = ~np.isnan(session.landmarks).any(axis=1)
    return session.frames[keep], session.landmarks[keep], profile.view


def score_runs(
    scorer: Scorer, *, normal: int, faulty: int, frames: int, seed: int,
    faults: Sequence[str] = CLEAR_FAULTS, severity: float = 1.0, normal_frames: int | None = None,
) -> list[ScoredRun]:
    """Simulated runners through the serving batch processor; their window verdicts."""
    from consumer.gait.serving import GaitStage  # noqa: PLC0415

    store = InMemoryWindowStore(10**9)
    processor = BatchProcessor(store, WindowConfig(30, 10, 5, 1000),
                               OutputTopics("a", "d", None), Recency(60), gait=GaitStage())
    runs = []
    for i in range(normal + faulty):
        rng = np.random.default_rng([seed, i])
        fault = faults[i % len(faults)] if i >= normal else None
        length = frames if fault or normal_frames is None else normal_frames
        user = f"eval-{seed}-{i:03d}"
        onset = end = None
        if fault:  # on from 25-40 % of the session, for 30-40 % of it
            onset = int(rng.uniform(0.25, 0.4) * length)
            end = int(onset + rng.uniform(0.3, 0.4) * length)
        numbers, values, view = simulate_frames(
            user, length, fault, severity, onset, end, int(rng.integers(2**31)), rng)
        ts = BASE_TS + numbers * 1000 // FPS
        verdicts: list[WindowVerdict] = []
        for start in range(0, len(numbers), BATCH_FRAMES):
            part = slice(start, start + BATCH_FRAMES)
            group = FrameGroup((user, "s1"), numbers[part].astype(np.int64),
                               ts[part].astype(np.int64), values[part].astype(np.float32))
            result = processor.process(DecodedBatch(len(group.frames), [group], []), scorer)
            store.save(result.updates)
            verdicts += [verdict_of(w) for w in result.windows]
        runs.append(ScoredRun(user, view, fault, onset, end, length, tuple(verdicts)))
    return runs


@dataclass(frozen=True)
class ConfigResult:
    k: int
    n: int
    m: int
    normal_window_rate: float  # anomalous share of normal runners' scored windows
    false_episodes_per_hour: float  # episodes on normal runners, per runner-hour
    normal_runners_with_episode: float
    detected: float  # faulty runners with an episode open while the fault was on
    open_after_onset_s_p50: float | None  # of episodes opened after the onset
    open_after_onset_s_p90: float | None
    episodes_per_fault: float  # episodes open during a fault (1 is ideal, 0 missed it)
    resolve_after_end_s_p50: float | None
    unresolved_at_session_end: int


def _episodes(run: ScoredRun, config: EpisodeConfig) -> list[tuple[str, int, int]]:
    """(kind, emitting window's end frame, episode's first window end frame)."""
    out = []
    state = EpisodeState()
    for verdict in run.verdicts:
        state, transitions = advance(state, [verdict], config)
        out += [(t.kind, verdict.end_frame, t.episode.first_end_frame) for t in transitions]
    return out


UNRESOLVED = 10**12
RAMP_FRAMES = 45  # the simulator's fault ramp (1.5 s): from then on the fault is fully on


def _open_intervals(events: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """(opened at, resolved at) window end frames per episode; UNRESOLVED if still open."""
    starts = {first: at for kind, at, first in events if kind == "opened"}
    ends = {first: at for kind, at, first in events if kind == "resolved"}
    return [(at, ends.get(first, UNRESOLVED)) for first, at in starts.items()]


def _quantile(values: list[float], q: float) -> float | None:
    return round(float(np.quantile(values, q)), 2) if values else None


def evaluate(runs: Sequence[ScoredRun], config: EpisodeConfig) -> ConfigResult:
    normal = [r for r in runs if r.fault is None]
    faulty = [r for r in runs if r.onset_frame is not None and r.end_frame is not None]
    windows = [v for r in normal for v in r.verdicts if v.scored]
    hours = sum(r.frames for r in normal) / FPS / 3600
    false_opened = [sum(k == "opened" for k, _, _ in _episodes(r, config)) for r in normal]
    to_open, to_resolve, per_fault, detected, unresolved = [], [], [], 0, 0
    for run in faulty:
        onset, end = int(run.onset_frame or 0), int(run.end_frame or 0)
        intervals = _open_intervals(_episodes(run, config))
        # Alerted: an episode open at some point while the fault was on (one opened before
        # the onset and still open counts: the runner hears about it either way).
        alerting = [(a, b) for a, b in intervals if a <= end and b >= onset + RAMP_FRAMES]
        opened = [a for a, _ in alerting if a >= onset]
        per_fault.append(len(alerting))
        if alerting:
            detected += 1
        if opened:
            to_open.append((opened[0] - onset) / FPS)
        if alerting:
            last_end = alerting[-1][1]
            if last_end == UNRESOLVED:
                unresolved += 1
            else:
                to_resolve.append((last_end - end) / FPS)
    return ConfigResult(
        k=config.open_windows, n=config.of_last, m=config.resolve_after_clean,
        normal_window_rate=round(sum(v.anomalous for v in windows) / max(1, len(windows)), 4),
        false_episodes_per_hour=round(sum(false_opened) / hours, 2) if hours else 0.0,
        normal_runners_with_episode=round(np.mean([n > 0 for n in false_opened]), 3)
        if normal else 0.0,
        detected=round(detected / max(1, len(faulty)), 3),
        open_after_onset_s_p50=_quantile(to_open, 0.5),
        open_after_onset_s_p90=_quantile(to_open, 0.9),
        episodes_per_fault=round(float(np.mean(per_fault)), 2) if per_fault else 0.0,
        resolve_after_end_s_p50=_quantile(to_resolve, 0.5),
        unresolved_at_session_end=unresolved,
    )


def grid(base: EpisodeConfig) -> list[EpisodeConfig]:
    """Hysteresis pairs around ``base`` (k of n), then the resolution length (m)."""
    pairs = [(1, 1), (2, 3), (3, 4), (3, 5), (4, 5), (4, 6), (5, 6), (5, 7), (5, 8), (6, 9),
             (8, 12)]
    return [replace(base, open_windows=k, of_last=n) for k, n in pairs] + [
        replace(base, resolve_after_clean=m) for m in (3, 6, 9, 18)]


def save_runs(runs: Sequence[ScoredRun], path: Path) -> None:
    rows = [{**asdict(r), "verdicts": [v.to_json() for v in r.verdicts]} for r in runs]
    path.write_text(json.dumps(rows))


def load_runs(path: Path) -> list[ScoredRun]:
    rows = json.loads(path.read_text())
    return [ScoredRun(**{**row, "verdicts": tuple(WindowVerdict.from_json(v)
                                                  for v in row["verdicts"])}) for row in rows]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--runs", type=Path, help="scored runs saved by --save (no model)")
    parser.add_argument("--save", type=Path, help="save the scored runs here")
    parser.add_argument("--normal-frames", type=int, help="per normal runner (default --frames)")
    parser.add_argument("--normal", type=int, default=40)
    parser.add_argument("--faulty", type=int, default=40)
    parser.add_argument("--frames", type=int, default=3600, help="per runner (30 fps)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--severity", type=float, default=1.0)
    parser.add_argument("--faults", nargs="*", default=list(CLEAR_FAULTS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.runs:
        runs = load_runs(args.runs)
    else:
        from consumer.serve.reload import default_loader, load_checked  # noqa: PLC0415

        if args.model is None:
            parser.error("--model or --runs is required")
        scorer = load_checked(args.model, default_loader, 30)
        runs = score_runs(scorer, normal=args.normal, faulty=args.faulty, frames=args.frames,
                          seed=args.seed, faults=args.faults, severity=args.severity,
                          normal_frames=args.normal_frames)
        if args.save:
            save_runs(runs, args.save)
    rows = [asdict(evaluate(runs, config)) for config in grid(EpisodeConfig())]
    if args.json:
        print(json.dumps({"rows": rows}))
        return 0
    hours = sum(r.frames for r in runs if r.fault is None) / FPS / 3600
    print(f"{sum(r.fault is None for r in runs)} normal runners ({hours:.2f} h), "
          f"{sum(r.fault is not None for r in runs)} faulty")
    for row in rows:
        print(" ".join(f"{k}={v}" for k, v in row.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
