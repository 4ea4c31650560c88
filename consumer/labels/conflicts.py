"""Conflicting labels, listed with how the rule settled each (pure).

* ``changed_mind``: one labeller gave two different labels to overlapping frames; the later
  submission counts on the overlap.
* ``labellers_disagree``: on some frames the labellers' current verdicts differ; the outcome
  is the resolved label (majority, trusted labeller) or ``unresolved``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from consumer.labels.resolve import SessionLabels, Vote, group_by_session
from consumer.labels.store import StoredLabel

CHANGED_MIND = "changed_mind"
LABELLERS_DISAGREE = "labellers_disagree"


@dataclass(frozen=True, slots=True)
class Conflict:
    kind: str
    user_id: str
    session_id: str
    start_frame: int
    end_frame: int
    sides: tuple[Vote, ...]  # changed_mind: (earlier, later); disagree: one per labeller
    outcome: str
    rule: str

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind, "user_id": self.user_id, "session_id": self.session_id,
            "start_frame": self.start_frame, "end_frame": self.end_frame,
            "frames": self.end_frame - self.start_frame + 1,
            "sides": [{"labeller": v.labeller, "label": v.name, "label_id": v.label_id}
                      for v in self.sides],
            "outcome": self.outcome, "rule": self.rule,
        }


def changed_mind(items: Sequence[StoredLabel]) -> list[Conflict]:
    """Pairs of one labeller's submissions that overlap and say different things."""
    conflicts: list[Conflict] = []
    for (user, session), group in group_by_session(items).items():
        by_labeller: dict[str, list[StoredLabel]] = defaultdict(list)
        for item in group:
            by_labeller[item.submission.labeller].append(item)
        for labeller in sorted(by_labeller):
            ordered = sorted(by_labeller[labeller],
                             key=lambda i: (i.submission.submitted_at_ms, i.seq))
            for i, earlier in enumerate(ordered):
                for later in ordered[i + 1:]:
                    a, b = earlier.submission, later.submission
                    lo, hi = max(a.start_frame, b.start_frame), min(a.end_frame, b.end_frame)
                    if lo > hi or a.name == b.name:
                        continue
                    conflicts.append(Conflict(
                        CHANGED_MIND, user, session, lo, hi, (Vote.of(a), Vote.of(b)),
                        b.name, "latest submission of the labeller counts",
                    ))
    return conflicts


def _rule_text(how: str, fault_how: str) -> str:
    texts = {"majority": "majority of labellers", "tie": "tie, no trusted labeller: excluded"}
    text = texts.get(how, how.replace("trusted:", "trusted labeller "))
    if fault_how:
        text += "; fault: " + texts.get(fault_how, fault_how.replace("trusted:", "trusted "))
    return text


def disagreements(sessions: Sequence[SessionLabels]) -> list[Conflict]:
    """Stretches of frames where labellers' current verdicts differ."""
    conflicts: list[Conflict] = []
    for session in sessions:
        for seg in session.segments:
            if len({v.name for v in seg.votes}) < 2:
                continue
            conflicts.append(Conflict(
                LABELLERS_DISAGREE, session.user_id, session.session_id, seg.start, seg.end,
                seg.votes, seg.outcome, _rule_text(seg.how, seg.fault_how),
            ))
    return conflicts
