"""From submissions to one label per frame, by a stated rule (pure).

The rule (``RULE``), applied to every frame of a session:

1. per labeller, the latest submission covering the frame counts (by ``submitted_at_ms``,
   then arrival order): a labeller who changes their mind replaces their own verdict;
2. across labellers, the class (normal / abnormal) given by more labellers wins;
3. a tie goes to the first trusted labeller (``archive.trusted_labellers``, in order) who
   labelled the frame;
4. otherwise the frame is ``unresolved``: reported, and left out of every training set.

An abnormal frame's fault is the one most labellers on the abnormal side named (those who
named none abstain); a tie goes to a trusted labeller, else the frame stays ``abnormal``.

Frames are handled as elementary intervals (cut at every range start and end), so a label
over a million frames costs as little as one over ten.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from consumer.labels.schema import ABNORMAL, NORMAL, LabelSubmission
from consumer.labels.store import StoredLabel

UNLABELLED = ""
UNRESOLVED = "unresolved"
RULE = (
    "per labeller the latest submission counts; across labellers the majority class wins; "
    "a tie goes to the first trusted labeller who labelled the frame, else the frame is "
    "unresolved and excluded. Fault: majority of the named faults on the abnormal side, "
    "tie -> trusted labeller, else 'abnormal'."
)


@dataclass(frozen=True, slots=True)
class Vote:
    """One labeller's current verdict on a stretch of frames."""

    labeller: str
    label_id: str
    label: str  # normal | abnormal
    fault: str | None

    @property
    def name(self) -> str:
        return NORMAL if self.label == NORMAL else (self.fault or ABNORMAL)

    @classmethod
    def of(cls, submission: LabelSubmission) -> Vote:
        return cls(submission.labeller, submission.label_id, submission.label, submission.fault)


@dataclass(frozen=True, slots=True)
class Segment:
    """Frames start..end (inclusive) with the same votes and the same outcome."""

    start: int
    end: int
    votes: tuple[Vote, ...]  # one per labeller, sorted by labeller
    outcome: str  # normal, a fault id, abnormal, or UNRESOLVED
    how: str  # single | unanimous | majority | trusted:<labeller> | tie
    fault_how: str = ""  # for abnormal: "", majority, trusted:<labeller>, tie

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class SessionLabels:
    user_id: str
    session_id: str
    segments: tuple[Segment, ...]  # sorted, non-overlapping, covered frames only

    def labels_for(self, frames: np.ndarray) -> np.ndarray:
        """The outcome per frame number (UNLABELLED where no label covers it)."""
        out = np.full(len(frames), UNLABELLED, dtype=object)
        if not self.segments or not len(frames):
            return out
        starts = np.array([s.start for s in self.segments], dtype=np.int64)
        ends = np.array([s.end for s in self.segments], dtype=np.int64)
        outcomes = np.array([s.outcome for s in self.segments], dtype=object)
        index = np.searchsorted(starts, frames, side="right") - 1
        inside = (index >= 0) & (frames <= ends[np.maximum(index, 0)])
        out[inside] = outcomes[index[inside]]
        return out


def _first_trusted(votes: Sequence[Vote], trusted: Sequence[str]) -> Vote | None:
    by_labeller = {v.labeller: v for v in votes}
    return next((by_labeller[name] for name in trusted if name in by_labeller), None)


def decide_class(votes: Sequence[Vote], trusted: Sequence[str]) -> tuple[str | None, str]:
    """(normal | abnormal | None for unresolved, how)."""
    counts = Counter(v.label for v in votes)
    if len(counts) == 1:
        return next(iter(counts)), "single" if len(votes) == 1 else "unanimous"
    if counts[NORMAL] != counts[ABNORMAL]:
        return max(counts, key=counts.__getitem__), "majority"
    chosen = _first_trusted(votes, trusted)
    if chosen is not None:
        return chosen.label, f"trusted:{chosen.labeller}"
    return None, "tie"


def decide_fault(abnormal_votes: Sequence[Vote], trusted: Sequence[str]) -> tuple[str, str]:
    """(fault id or 'abnormal', how) among the votes of the abnormal side."""
    named = Counter(v.fault for v in abnormal_votes if v.fault)
    if not named:
        return ABNORMAL, ""
    best = max(named.values())
    leaders = sorted(f for f, n in named.items() if n == best)
    if len(leaders) == 1:
        return leaders[0], "" if len(named) == 1 else "majority"
    contenders = [v for v in abnormal_votes if v.fault in leaders]
    chosen = _first_trusted(contenders, trusted)
    if chosen is not None and chosen.fault:
        return chosen.fault, f"trusted:{chosen.labeller}"
    return ABNORMAL, "tie"


def _decide(votes: tuple[Vote, ...], trusted: Sequence[str]) -> tuple[str, str, str]:
    label, how = decide_class(votes, trusted)
    if label is None:
        return UNRESOLVED, how, ""
    if label == NORMAL:
        return NORMAL, how, ""
    fault, fault_how = decide_fault([v for v in votes if v.label == ABNORMAL], trusted)
    return fault, how, fault_how


def _order(item: StoredLabel) -> tuple[int, int]:
    return item.submission.submitted_at_ms, item.seq


def resolve_session(items: Sequence[StoredLabel], trusted: Sequence[str] = ()) -> SessionLabels:
    """Segments of one session's frames (every item must be of the same user and session)."""
    if not items:
        raise ValueError("resolve_session needs at least one submission")
    first = items[0].submission
    ordered = sorted(items, key=_order)
    bounds = sorted({i.submission.start_frame for i in items}
                    | {i.submission.end_frame + 1 for i in items})
    segments: list[Segment] = []
    for lo, next_lo in pairwise(bounds):
        hi = next_lo - 1
        latest: dict[str, Vote] = {}
        for item in ordered:  # later ones overwrite: the latest per labeller stays
            s = item.submission
            if s.start_frame <= lo and s.end_frame >= hi:
                latest[s.labeller] = Vote.of(s)
        if not latest:
            continue
        votes = tuple(latest[name] for name in sorted(latest))
        outcome, how, fault_how = _decide(votes, trusted)
        previous = segments[-1] if segments else None
        if (previous is not None and previous.end + 1 == lo and previous.votes == votes):
            segments[-1] = Segment(previous.start, hi, votes, outcome, how, fault_how)
        else:
            segments.append(Segment(lo, hi, votes, outcome, how, fault_how))
    return SessionLabels(first.user_id, first.session_id, tuple(segments))


def group_by_session(items: Sequence[StoredLabel]) -> dict[tuple[str, str], list[StoredLabel]]:
    groups: dict[tuple[str, str], list[StoredLabel]] = defaultdict(list)
    for item in items:
        groups[(item.submission.user_id, item.submission.session_id)].append(item)
    return dict(sorted(groups.items()))


def resolve_all(
    items: Sequence[StoredLabel], trusted: Sequence[str] = ()
) -> dict[tuple[str, str], SessionLabels]:
    return {key: resolve_session(group, trusted)
            for key, group in group_by_session(items).items()}
