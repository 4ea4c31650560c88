"""Cohen's kappa on known values, per-frame agreement tables, and the split by user."""

from __future__ import annotations

import numpy as np
import pytest

from consumer.labels.agreement import cohen_kappa, pairwise_agreement
from consumer.labels.resolve import resolve_all
from consumer.labels.split import split_users


@pytest.mark.parametrize(
    ("table", "kappa"),
    [
        ([[20, 5], [10, 15]], 0.4),        # p_o 0.7, p_e 0.5
        ([[45, 15], [25, 15]], 0.1304),     # p_o 0.6, p_e 0.54
        ([[10, 0], [0, 10]], 1.0),
        ([[0, 10], [10, 0]], -1.0),
        ([[25, 25], [25, 25]], 0.0),
    ],
)
def test_kappa_on_textbook_tables(table, kappa) -> None:
    assert cohen_kappa(np.array(table)) == pytest.approx(kappa, abs=1e-4)


def test_kappa_is_undefined_when_both_gave_one_class_only() -> None:
    assert cohen_kappa(np.array([[30, 0], [0, 0]])) is None
    assert cohen_kappa(np.zeros((2, 2))) is None


def test_agreement_is_counted_per_frame_over_the_overlap_only(kit) -> None:
    s = kit.submission
    items = kit.stored(
        s("alice", 0, 69, "normal"), s("alice", 70, 99, "abnormal", "limp"),
        s("bob", 50, 79, "normal"), s("bob", 80, 149, "abnormal", "trunk_lean"),
    )
    (pair,) = pairwise_agreement(list(resolve_all(items).values()))
    assert pair.labellers == ("alice", "bob")
    # Overlap 50..99: both normal 50..69 (20), alice abnormal / bob normal 70..79 (10), both
    # abnormal 80..99 (20; a different fault is still the same class).
    assert pair.table.tolist() == [[20, 0], [10, 20]]
    assert pair.frames == 50 and pair.observed == pytest.approx(0.8)
    assert pair.kappa == pytest.approx((0.8 - 0.48) / 0.52)


def test_split_by_user_is_disjoint_complete_and_stable() -> None:
    users = [f"runner-{i:03d}" for i in range(200)]
    sides = split_users(users, (0.7, 0.15, 0.15), salt="x")
    assert sorted(u for side in sides.values() for u in side) == users
    assert len({u for side in sides.values() for u in side}) == 200
    assert 110 <= len(sides["train"]) <= 170 and sides["val"] and sides["test"]
    grown = split_users([*users, *(f"new-{i}" for i in range(50))], (0.7, 0.15, 0.15), "x")
    for name, members in sides.items():
        assert set(members) <= set(grown[name])  # nobody changes side as users arrive
    assert split_users(users, (0.7, 0.15, 0.15), "y") != sides  # the salt matters


def test_tiny_user_sets_still_get_a_test_and_a_validation_user() -> None:
    for count in (3, 4, 5):
        users = [f"u{i}" for i in range(count)]
        sides = split_users(users, (0.7, 0.15, 0.15), "barunrun")
        assert all(sides[name] for name in ("train", "val", "test")), sides
        assert sorted(u for side in sides.values() for u in side) == users
    solo = split_users(["solo"], (0.7, 0.15, 0.15))
    assert sorted(len(side) for side in solo.values()) == [0, 0, 1]
    assert split_users(["a", "b"], (1.0, 0.0, 0.0)) == {"train": ["a", "b"], "val": [],
                                                        "test": []}
    with pytest.raises(ValueError):
        split_users(["a"], (0.5, 0.5, 0.5))
