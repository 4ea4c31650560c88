"""Simulated datasets on disk: recording CSVs, a labels file and a manifest.

Layout of ``out_dir``::

    normal/<user>.csv      normal runners, all views
    abnormal/<user>.csv    one fault each, starting mid-session; the view shows the fault
    labels.csv             every file's frame ranges: normal, then the fault from its onset
    manifest.json          seed, each runner's profile (body, gait, camera, tracker), faults,
                           and the ground truth before and after the onset

Runner ids carry the seed (``runner-s7-n003``), so datasets written with different seeds
never share a runner: train on one seed, test on another. Each runner's randomness derives
from (seed, kind, index), so adding runners leaves the existing ones unchanged.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from consumer.errors import ConfigError
from consumer.recording import LABELS_FILE, LabelRange, write_labels, write_recording
from producer_sim.faults import (
    FAULT_NAMES,
    FAULTS,
    RAMP_FRAMES,
    VIEWS,
    FaultPlan,
    check_faults,
    check_views,
    views_for,
)
from producer_sim.profile import RunnerProfile
from producer_sim.session import SimulatedSession, simulate_session

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
ONSET_RANGE = (0.25, 0.5)  # share of the session before a fault sets in
SEVERITY_SPREAD = (0.9, 1.2)  # times the default severity (capped at 1)
_NORMAL, _ABNORMAL = 1, 2  # random stream ids per kind of runner


@dataclass(frozen=True)
class DatasetSummary:
    out_dir: Path
    seed: int
    frames: int
    normal_files: list[str] = field(default_factory=list)
    abnormal_files: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    views: dict[str, int] = field(default_factory=dict)
    dropout_frames: int = 0

    @property
    def labels_path(self) -> Path:
        return self.out_dir / LABELS_FILE

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / MANIFEST_FILE

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        data["labels"] = str(self.labels_path)
        data["manifest"] = str(self.manifest_path)
        return data


def fault_cycle(faults: Sequence[str] | None, views: Sequence[str]) -> tuple[str, ...]:
    """The faults to cycle through: those requested that some allowed view can show."""
    chosen = check_faults(FAULT_NAMES if faults is None else faults)
    invisible = [f for f in chosen if not views_for(f, views)]
    if invisible and faults is not None:
        raise ConfigError(
            f"fault(s) {', '.join(invisible)} cannot be seen from view(s) {', '.join(views)}"
        )
    usable = tuple(f for f in chosen if f not in invisible)
    if not usable:
        raise ConfigError(f"no fault is visible from view(s) {', '.join(views)}")
    return usable


def _abnormal_plan(rng: np.random.Generator, fault: str, frames: int) -> FaultPlan:
    onset = int(rng.integers(int(ONSET_RANGE[0] * frames), int(ONSET_RANGE[1] * frames) + 1))
    severity = min(1.0, FAULTS[fault].default_severity * float(rng.uniform(*SEVERITY_SPREAD)))
    return FaultPlan(fault, round(severity, 3), onset)


def _truth_parts(session: SimulatedSession) -> dict[str, dict[str, float]]:
    if not session.faults:
        return {"normal": session.truth_summary()}
    onset = session.faults[0].onset_frame
    settled = onset + RAMP_FRAMES
    parts = {"normal": session.frames < onset, "fault": session.frames >= settled}
    return {name: session.truth_summary(mask) for name, mask in parts.items() if mask.sum() >= 45}


def write_dataset(
    out_dir: str | Path, *, normal_runners: int, abnormal_runners: int, frames: int = 600,
    seed: int = 0, faults: Sequence[str] | None = None, views: Sequence[str] | None = None,
) -> DatasetSummary:
    """Write a dataset of simulated sessions (see the module docstring for the layout)."""
    out = Path(out_dir)
    allowed = check_views(VIEWS if views is None else views)
    if normal_runners < 0 or abnormal_runners < 0:
        raise ConfigError("runner counts must not be negative")
    if frames < 60:
        raise ConfigError(f"--frames {frames}: at least 60 frames (2 s) per session")
    cycle = fault_cycle(faults, allowed) if abnormal_runners else ()
    labels: list[LabelRange] = []
    entries: list[dict[str, object]] = []
    files: dict[str, list[str]] = {"normal": [], "abnormal": []}
    fault_counts: Counter[str] = Counter()
    view_counts: Counter[str] = Counter()
    dropouts = 0
    jobs = [("normal", i, None) for i in range(normal_runners)] + [
        ("abnormal", i, cycle[i % len(cycle)]) for i in range(abnormal_runners)
    ]
    for kind, index, fault in jobs:
        rng = np.random.default_rng([seed, _NORMAL if fault is None else _ABNORMAL, index])
        if fault is None:
            view = allowed[index % len(allowed)]
        else:
            visible = views_for(fault, allowed)
            view = visible[int(rng.integers(len(visible)))]
        user = f"runner-s{seed}-{kind[0]}{index:03d}"
        runner = RunnerProfile.random(rng, user, view=view)
        plans = [] if fault is None else [_abnormal_plan(rng, fault, frames)]
        session_seed = int(rng.integers(2**31))
        session = simulate_session(runner, frames, plans, seed=session_seed,
                                   session_id=f"s{seed}-{kind[0]}{index:03d}")
        relative = f"{kind}/{user}.csv"
        write_recording(out / relative, session.frames, session.landmarks)
        labels += [LabelRange(**{**asdict(r), "file": relative}) for r in session.labels]
        files[kind].append(relative)
        fault_counts.update([fault] if fault else [])
        view_counts[view] += 1
        dropouts += int((~session.truth["tracked"]).sum())
        entries.append({
            "user_id": user, "session_id": session.session_id, "file": relative, "kind": kind,
            "session_seed": session_seed, "faults": [p.to_dict() for p in plans],
            "profile": runner.to_dict(), "truth": _truth_parts(session),
        })
    write_labels(out / LABELS_FILE, labels)
    manifest = {
        "generator": "producer_sim", "seed": seed, "frames": frames, "fps": 30,
        "faults": list(cycle), "views": list(allowed), "runners": entries,
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    log.info("dataset written out=%s normal=%d abnormal=%d frames=%d seed=%d",
             out, normal_runners, abnormal_runners, frames, seed)
    return DatasetSummary(
        out_dir=out, seed=seed, frames=frames, normal_files=files["normal"],
        abnormal_files=files["abnormal"], faults=dict(fault_counts), views=dict(view_counts),
        dropout_frames=dropouts,
    )
