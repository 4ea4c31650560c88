"""Real tracker output next to the simulator's: the same measures on both (docs/realism.md).

``python tests/integration/capture/realism.py CSV`` prints the markdown table of docs/realism.md
for a capture of the sports2d demo video and draws docs/img/realism_traces.png; the tests in
this folder use ``compare`` to keep the simulator within reach of the real figures.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import gait_measures as gm  # a sibling: on sys.path as the script's folder, or via conftest
import numpy as np

from producer_sim.noise import TrackerNoise
from producer_sim.profile import RunnerProfile
from producer_sim.session import SimulatedSession, simulate_session

DEMO_SIZE = (1768, 994)
# The walking woman fully in view (she enters behind a tree at 46 and leaves at 199).
WALK_SPAN = (50, 195)
SIM_RUNNERS, SIM_FRAMES, SIM_SEED = 8, 600, 11


@dataclass
class Measured:
    """The realism measures of one track (or a pool of simulated ones)."""

    minutes: float
    jitter: dict[str, dict[str, float]]  # part_side -> {"x", "y"}, share of thigh length
    visibility: dict[str, tuple[float, float, float]]  # part_side -> p10, p50, p90
    dropouts: list[int] = field(default_factory=list)
    swaps: list[int] = field(default_factory=list)
    legs_within_15: float = float("nan")  # worst share of frames within +-15 % of median

    @property
    def swaps_per_min(self) -> float:
        return len(self.swaps) / self.minutes

    @property
    def dropouts_per_min(self) -> float:
        return len(self.dropouts) / self.minutes


def measure(px: np.ndarray, fps: float = gm.FPS) -> Measured:
    ok = gm.tracked(px)
    scale = gm.thigh_px(px)
    lengths = gm.leg_lengths(px)
    return Measured(
        minutes=ok.sum() / fps / 60.0,
        jitter=gm.jitter_by_part(px, scale),
        visibility=gm.visibility_by_part(px),
        dropouts=gm.dropouts(px),
        swaps=gm.swap_events(gm.leg_swaps(px, scale)),
        legs_within_15=min(gm.share_within(v[ok]) for v in lengths.values()),
    )


def real_walk(csv: Path) -> tuple[np.ndarray, Measured]:
    _, landmarks = gm.read_csv(csv)
    px = gm.pixels(landmarks, *DEMO_SIZE)
    first, last = WALK_SPAN
    return px, measure(px[first:last])


def simulated_side_views(
    noise: TrackerNoise | None = None, runners: int = SIM_RUNNERS, frames: int = SIM_FRAMES,
) -> list[SimulatedSession]:
    """Side-view runners with the nominal tracker (level 1), as the real clip has one tracker."""
    rng = np.random.default_rng(SIM_SEED)
    sessions = []
    for k in range(runners):
        profile = RunnerProfile.random(rng, f"real-{k}", view="side")
        profile = replace(profile, noise=noise or TrackerNoise())
        sessions.append(simulate_session(profile, frames, seed=SIM_SEED + k))
    return sessions


def session_px(session: SimulatedSession, clean: bool = False) -> np.ndarray:
    camera = session.runner.camera
    source = session.truth["clean_landmarks"] if clean else session.landmarks
    return gm.pixels(source, camera.image_width, camera.image_height)


def pooled(measures: list[Measured]) -> Measured:
    """Medians over simulated runners (events pooled over their minutes)."""
    first = measures[0]
    return Measured(
        minutes=sum(m.minutes for m in measures),
        jitter={k: {a: float(np.median([m.jitter[k][a] for m in measures])) for a in ("x", "y")}
                for k in first.jitter},
        visibility={k: tuple(float(np.median([m.visibility[k][i] for m in measures]))
                             for i in range(3)) for k in first.visibility},
        dropouts=[d for m in measures for d in m.dropouts],
        swaps=[s for m in measures for s in m.swaps],
        legs_within_15=float(np.median([m.legs_within_15 for m in measures])),
    )


def compare(sessions: list[SimulatedSession]) -> tuple[Measured, Measured]:
    """Pooled measures of the simulated tracker output and of its clean input (motion floor)."""
    noisy = pooled([measure(session_px(s)) for s in sessions])
    clean = pooled([measure(session_px(s, clean=True)) for s in sessions])
    return noisy, clean


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def table(real: Measured, sim: Measured, floor: Measured) -> str:
    """Markdown: per part and side, jitter x / y (% of thigh) and visibility percentiles."""
    lines = [
        "| part | side | jitter x real | x sim | x floor | jitter y real | y sim | y floor "
        "| visibility p10/p50/p90 real | sim |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key in real.jitter:
        part, side = key.rsplit("_", 1)
        r, s, f = real.jitter[key], sim.jitter[key], floor.jitter[key]
        vr = "/".join(f"{v:.2f}" for v in real.visibility[key])
        vs = "/".join(f"{v:.2f}" for v in sim.visibility[key])
        lines.append(
            f"| {part} | {side} | {_pct(r['x'])} | {_pct(s['x'])} | {_pct(f['x'])} "
            f"| {_pct(r['y'])} | {_pct(s['y'])} | {_pct(f['y'])} | {vr} | {vs} |")
    return "\n".join(lines)


def events_table(real: Measured, sim: Measured) -> str:
    def lengths(values: list[int]) -> str:
        return ", ".join(map(str, sorted(values))) if len(values) <= 8 else (
            f"median {np.median(values):.0f}, max {max(values)}")

    return "\n".join([
        "| measure | real | sim |",
        "|---|---|---|",
        f"| minutes tracked | {real.minutes:.2f} | {sim.minutes:.2f} |",
        f"| leg-label swaps per minute | {real.swaps_per_min:.0f} | {sim.swaps_per_min:.0f} |",
        f"| swap lengths (frames) | {lengths(real.swaps)} | {lengths(sim.swaps)} |",
        f"| dropouts per minute | {real.dropouts_per_min:.1f} | {sim.dropouts_per_min:.1f} |",
        f"| thigh/shank lengths within +-15 % of median (worst leg segment) "
        f"| {100 * real.legs_within_15:.0f} % | {100 * sim.legs_within_15:.0f} % |",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csv", type=Path, help="barunrun-capture output for demo.mp4")
    parser.add_argument("--plot", type=Path, default=Path("docs/img/realism_traces.png"))
    args = parser.parse_args(argv)
    real_px, real = real_walk(args.csv)
    sessions = simulated_side_views()
    sim, floor = compare(sessions)
    sys.stdout.write(table(real, sim, floor) + "\n\n" + events_table(real, sim) + "\n")
    from realism_plot import draw_traces  # matplotlib only when drawing

    draw_traces(real_px, sessions[0], args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
