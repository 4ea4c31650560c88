"""The labels report: coverage, class balance, conflicts, agreement, dangling labels (pure,
given the archived frame numbers; ``load_report`` reads them and the store)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from consumer.archive.reader import group_starts, read_frames
from consumer.errors import DataError
from consumer.labels.agreement import pairwise_agreement
from consumer.labels.conflicts import changed_mind, disagreements
from consumer.labels.resolve import RULE, UNLABELLED, UNRESOLVED, SessionLabels, resolve_all
from consumer.labels.store import LabelStore, StoredLabel

SessionKey = tuple[str, str]


def archived_frames(root: Path, users: Sequence[str] | None = None) -> dict[SessionKey, np.ndarray]:
    """Sorted, unique frame numbers per (user, session) in the archive."""
    table = read_frames(root, users=users, columns=["user_id", "session_id", "frame"])
    return split_sessions(table, table.column("frame").to_numpy())


def split_sessions(table: pa.Table, values: np.ndarray) -> dict[SessionKey, np.ndarray]:
    """``values`` (one per row of a table sorted by user and session) cut per session."""
    starts = np.flatnonzero(group_starts(table, ("user_id", "session_id"))).tolist()
    ends = [*starts[1:], table.num_rows]
    users, sessions = table.column("user_id"), table.column("session_id")
    return {(users[s].as_py(), sessions[s].as_py()): values[s:e]
            for s, e in zip(starts, ends, strict=True)}


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _coverage(
    archived: Mapping[SessionKey, np.ndarray], resolved: Mapping[SessionKey, SessionLabels]
) -> tuple[dict[str, Any], Counter[str]]:
    balance: Counter[str] = Counter()
    per_user: dict[str, Counter[str]] = {}
    for key, frames in archived.items():
        session = resolved.get(key)
        labels = session.labels_for(frames) if session else np.full(len(frames), UNLABELLED)
        counts = Counter(labels.tolist())
        user = per_user.setdefault(key[0], Counter())
        user["archived"] += len(frames)
        user["labelled"] += len(frames) - counts[UNLABELLED]
        user["unresolved"] += counts[UNRESOLVED]
        balance.update({k: v for k, v in counts.items() if k not in (UNLABELLED, UNRESOLVED)})
    total = sum(c["archived"] for c in per_user.values())
    labelled = sum(c["labelled"] for c in per_user.values())
    unresolved = sum(c["unresolved"] for c in per_user.values())
    return {
        "archived_frames": total, "labelled_frames": labelled,
        "labelled_share": _share(labelled, total), "unresolved_frames": unresolved,
        "resolved_frames": labelled - unresolved,
        "users": {user: {"archived_frames": c["archived"], "labelled_frames": c["labelled"],
                         "labelled_share": _share(c["labelled"], c["archived"])}
                  for user, c in sorted(per_user.items())},
    }, balance


def dangling(
    items: Sequence[StoredLabel], archived: Mapping[SessionKey, np.ndarray]
) -> list[dict[str, Any]]:
    """Labels pointing at frames the archive does not hold (all or part of their range)."""
    users = {user for user, _ in archived}
    found: list[dict[str, Any]] = []
    for item in items:
        s = item.submission
        frames = archived.get((s.user_id, s.session_id))
        inside = 0
        if frames is None:
            problem = "unknown user" if s.user_id not in users else "unknown session"
        else:
            lo, hi = np.searchsorted(frames, [s.start_frame, s.end_frame + 1])
            inside = int(hi - lo)
            if inside == 0:
                problem = "no archived frame in range"
            elif s.start_frame < frames[0] or s.end_frame > frames[-1]:
                problem = "range runs past the archived session"
            else:
                continue
        found.append({
            "label_id": s.label_id, "labeller": s.labeller, "user_id": s.user_id,
            "session_id": s.session_id, "start_frame": s.start_frame,
            "end_frame": s.end_frame, "label": s.name, "archived_frames_in_range": inside,
            "problem": problem,
        })
    return found


def build_report(
    archived: Mapping[SessionKey, np.ndarray],
    items: Sequence[StoredLabel],
    rejected: Sequence[Mapping[str, Any]] = (),
    trusted: Sequence[str] = (),
) -> dict[str, Any]:
    resolved = resolve_all(items, trusted)
    coverage, balance = _coverage(archived, resolved)
    conflicts = changed_mind(items) + disagreements(list(resolved.values()))
    return {
        "rule": RULE,
        "trusted_labellers": list(trusted),
        "submissions": {
            "total": len(items),
            "by_labeller": dict(sorted(Counter(i.submission.labeller for i in items).items())),
            "by_label": dict(sorted(Counter(i.submission.name for i in items).items())),
            "rejected": len(rejected),
            "rejected_by_reason": dict(sorted(Counter(str(r["reason"]) for r in rejected)
                                              .items())),
        },
        "coverage": coverage,
        "class_balance": {
            name: {"frames": n, "share": _share(n, coverage["resolved_frames"])}
            for name, n in sorted(balance.items())
        },
        "conflicts": [c.to_dict() for c in conflicts],
        "unresolved_ranges": [
            {"user_id": s.user_id, "session_id": s.session_id, "start_frame": seg.start,
             "end_frame": seg.end, "labellers": [v.labeller for v in seg.votes]}
            for s in resolved.values() for seg in s.segments if seg.outcome == UNRESOLVED
        ],
        "agreement": [pair.to_dict() for pair in pairwise_agreement(list(resolved.values()))],
        "dangling": dangling(items, archived),
    }


def load_report(root: Path, labels_db: Path, trusted: Sequence[str] = ()) -> dict[str, Any]:
    if not labels_db.is_file():
        raise DataError(f"label store {labels_db} does not exist (`barunrun labels ingest` "
                        "creates it)")
    with LabelStore(labels_db) as store:
        items = store.submissions()
        rejected = store.rejected()
    report = build_report(archived_frames(root), items, rejected, trusted)
    return {"archive": str(root), "labels_db": str(labels_db), **report}
