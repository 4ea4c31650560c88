"""Fault-to-cue confusion on the fault catalogue: which cues the windows of each fault raise.

Faulty windows are those at the fault's full weight on every frame, in a view where the
catalogue says the fault shows (``producer_sim.faults.FAULTS[f].visible_views``); normal
windows are every normal frame's window, of normal runners and of faulty sessions before
their onset. Ramp windows (the fault coming on) count as neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from consumer.gait.evaluate.collect import Evaluated
from consumer.recording import NORMAL
from producer_sim.faults import FAULT_NAMES, FAULTS, VIEWS


@dataclass(frozen=True)
class Confusion:
    cue_ids: tuple[str, ...]
    # row label ("normal" or a fault) -> view -> (windows, share raising each cue (C,),
    # share raising any cue)
    cells: dict[str, dict[str, tuple[int, np.ndarray, float]]]

    def detection(self, fault: str, view: str) -> float:
        """Share of the fault's windows in the view raising its cue; NaN where none were."""
        windows, shares, _ = self.cells.get(fault, {}).get(view, (0, None, 0.0))
        return float(shares[self.cue_ids.index(fault)]) if windows else float("nan")

    def shown(self, faults: Sequence[str] = FAULT_NAMES) -> list[tuple[str, str]]:
        """(fault, view) pairs with faulty windows, in views that show the fault."""
        return [(f, v) for f in faults for v in VIEWS
                if v in FAULTS[f].visible_views and v in self.cells.get(f, {})]

    def false_alarm(self, view: str | None = None) -> tuple[int, float]:
        """(normal windows, share raising any cue), in one view or all."""
        views = VIEWS if view is None else (view,)
        counts = [self.cells[NORMAL][v] for v in views if v in self.cells[NORMAL]]
        total = sum(c[0] for c in counts)
        flagged = sum(c[0] * c[2] for c in counts)
        return total, flagged / total if total else float("nan")


def confusion(evaluated: Sequence[Evaluated]) -> Confusion:
    cue_ids = tuple(rule.id for rule in evaluated[0].flags.rules)
    fired: dict[tuple[str, str], list[np.ndarray]] = {}
    for ev in evaluated:
        labels = ev.windowed.labels
        for label in (NORMAL, ev.windowed.fault):
            if label is None:
                continue
            if label != NORMAL and ev.windowed.view not in FAULTS[label].visible_views:
                continue
            chosen = labels == label
            if chosen.any():
                fired.setdefault((label, ev.windowed.view), []).append(ev.flags.fired[chosen])
    cells: dict[str, dict[str, tuple[int, np.ndarray, float]]] = {}
    for label in (NORMAL, *FAULT_NAMES):
        for view in VIEWS:
            parts = fired.get((label, view))
            if not parts:
                continue
            stacked = np.concatenate(parts)
            cells.setdefault(label, {})[view] = (
                len(stacked), stacked.mean(axis=0), float(stacked.any(axis=1).mean()))
    return Confusion(cue_ids, cells)
