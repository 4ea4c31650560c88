"""Agreement between labellers: Cohen's kappa, per frame, where two labelled the same frames.

For each pair of labellers, every frame both of them labelled (their current verdicts, see
``resolve``) adds one to a 2 x 2 table of classes (normal / abnormal); kappa is
``(p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed agreement and ``p_e`` the agreement
expected from each labeller's own class shares. When ``p_e`` is 1 (both gave one and the same
class throughout) kappa is undefined and reported as None, with ``p_o``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from consumer.labels.resolve import SessionLabels
from consumer.labels.schema import ABNORMAL, NORMAL

CLASSES = (NORMAL, ABNORMAL)


def cohen_kappa(table: np.ndarray) -> float | None:
    """Kappa of a k x k table of counts (rows: rater A's class, columns: rater B's)."""
    table = np.asarray(table, dtype=np.float64)
    total = table.sum()
    if total <= 0:
        return None
    observed = np.trace(table) / total
    expected = float((table.sum(axis=1) * table.sum(axis=0)).sum() / total**2)
    if np.isclose(expected, 1.0):
        return None
    return float((observed - expected) / (1.0 - expected))


@dataclass(frozen=True)
class PairAgreement:
    labellers: tuple[str, str]
    table: np.ndarray  # 2 x 2 frame counts, rows: first labeller, columns: second

    @property
    def frames(self) -> int:
        return int(self.table.sum())

    @property
    def observed(self) -> float:
        return float(np.trace(self.table) / self.frames) if self.frames else 0.0

    @property
    def kappa(self) -> float | None:
        return cohen_kappa(self.table)

    def to_dict(self) -> dict[str, object]:
        kappa = self.kappa
        return {
            "labellers": list(self.labellers), "overlap_frames": self.frames,
            "observed_agreement": round(self.observed, 4),
            "kappa": None if kappa is None else round(kappa, 4),
            "table": {"classes": list(CLASSES), "counts": self.table.astype(int).tolist()},
        }


def pairwise_agreement(sessions: Sequence[SessionLabels]) -> list[PairAgreement]:
    """One entry per pair of labellers who labelled at least one frame in common."""
    tables: dict[tuple[str, str], np.ndarray] = {}
    for session in sessions:
        for seg in session.segments:
            by_labeller = {v.labeller: CLASSES.index(v.label) for v in seg.votes}
            for a, b in combinations(sorted(by_labeller), 2):
                table = tables.setdefault((a, b), np.zeros((2, 2), dtype=np.int64))
                table[by_labeller[a], by_labeller[b]] += seg.frames
    return [PairAgreement(pair, tables[pair]) for pair in sorted(tables)]
