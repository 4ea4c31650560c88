"""The conflict rule, frame by frame, and the conflicts it reports."""

from __future__ import annotations

import numpy as np

from consumer.labels.conflicts import changed_mind, disagreements
from consumer.labels.resolve import UNLABELLED, UNRESOLVED, resolve_all, resolve_session


def outcomes(session) -> list[tuple[int, int, str, str]]:
    return [(s.start, s.end, s.outcome, s.how) for s in session.segments]


def test_a_labeller_who_changes_their_mind_is_replaced_by_their_latest_word(kit) -> None:
    s = kit.submission
    items = kit.stored(
        s("alice", 0, 99, "abnormal", "limp", at=1),
        s("alice", 50, 149, "normal", at=2),
    )
    session = resolve_session(items)
    assert outcomes(session) == [(0, 49, "limp", "single"), (50, 149, "normal", "single")]
    # Submitted later but ingested first: submitted_at_ms decides, not arrival.
    swapped = kit.stored(s("alice", 50, 149, "normal", at=2), s("alice", 0, 99, "abnormal",
                                                                  "limp", at=1))
    assert outcomes(resolve_session(swapped)) == outcomes(session)
    (conflict,) = changed_mind(items)
    assert (conflict.kind, conflict.start_frame, conflict.end_frame, conflict.outcome) == (
        "changed_mind", 50, 99, "normal")


def test_majority_then_trusted_labeller_then_unresolved(kit) -> None:
    s = kit.submission
    items = kit.stored(
        s("alice", 0, 29, "abnormal", at=1), s("bob", 0, 29, "abnormal", at=1),
        s("carol", 0, 29, "normal", at=1),                       # 2 to 1: majority
        s("alice", 30, 59, "abnormal", at=1), s("carol", 30, 59, "normal", at=1),  # tie
    )
    session = resolve_session(items, trusted=("carol", "alice"))
    assert outcomes(session) == [(0, 29, "abnormal", "majority"),
                                 (30, 59, "normal", "trusted:carol")]
    untrusted = resolve_session(items)
    assert outcomes(untrusted)[1] == (30, 59, UNRESOLVED, "tie")
    conflicts = disagreements([untrusted])
    assert [(c.start_frame, c.end_frame, c.outcome) for c in conflicts] == [
        (0, 29, "abnormal"), (30, 59, UNRESOLVED)]


def test_the_fault_is_the_abnormal_sides_majority_and_unnamed_faults_abstain(kit) -> None:
    s = kit.submission
    items = kit.stored(
        s("a", 0, 9, "abnormal", "limp"), s("b", 0, 9, "abnormal", "limp"),
        s("c", 0, 9, "abnormal", "trunk_lean"), s("d", 0, 9, "abnormal"),
        s("a", 10, 19, "abnormal", "limp"), s("b", 10, 19, "abnormal", "trunk_lean"),
    )
    session = resolve_session(items, trusted=())
    assert [(x.outcome, x.fault_how) for x in session.segments] == [
        ("limp", "majority"), ("abnormal", "tie")]
    trusted = resolve_session(items, trusted=("b",))
    assert trusted.segments[1].outcome == "trunk_lean"


def test_labels_per_frame_number(kit) -> None:
    s = kit.submission
    session = resolve_session(kit.stored(s("a", 10, 19, "abnormal", "limp"),
                                         s("a", 30, 39, "normal")))
    frames = np.array([5, 10, 19, 20, 29, 30, 39, 40])
    assert session.labels_for(frames).tolist() == [
        UNLABELLED, "limp", "limp", UNLABELLED, UNLABELLED, "normal", "normal", UNLABELLED]


def test_sessions_and_users_are_resolved_apart(kit) -> None:
    s = kit.submission
    resolved = resolve_all(kit.stored(s("a", 0, 9, "normal", user="u1"),
                                      s("b", 0, 9, "abnormal", user="u2")))
    assert {k: v.segments[0].outcome for k, v in resolved.items()} == {
        ("u1", "s1"): "normal", ("u2", "s1"): "abnormal"}
    assert disagreements(list(resolved.values())) == []
