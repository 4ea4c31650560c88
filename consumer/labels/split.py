"""Train / validation / test split by user (pure): no runner is ever on two sides.

A user's side comes from a hash of (salt, user id) mapped to [0, 1) and cut at the shares:
it does not depend on which other users exist, so a user keeps their side as the archive
grows and a retrained model is always evaluated on runners no model trained on. Only tiny
user sets need a nudge: when a side with a positive share is empty although there are enough
users, the user whose position lies nearest to that side's interval moves there (from the
largest side).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

SPLITS = ("train", "val", "test")


def user_position(user_id: str, salt: str) -> float:
    digest = hashlib.sha256(f"{salt}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _distance(position: float, lo: float, hi: float) -> float:
    return 0.0 if lo <= position < hi else min(abs(position - lo), abs(position - hi))


def split_users(
    users: Iterable[str], shares: Sequence[float] = (0.7, 0.15, 0.15), salt: str = "barunrun"
) -> dict[str, list[str]]:
    """``{"train": [...], "val": [...], "test": [...]}``, each sorted."""
    if len(shares) != len(SPLITS) or any(s < 0 for s in shares) or abs(sum(shares) - 1) > 1e-6:
        raise ValueError(f"shares {tuple(shares)} must be three non-negative numbers summing to 1")
    bounds = [0.0, shares[0], shares[0] + shares[1], 1.0 + 1e-12]
    intervals = {name: (bounds[i], bounds[i + 1]) for i, name in enumerate(SPLITS)}
    positions = {user: user_position(user, salt) for user in sorted(set(users))}
    members: dict[str, list[str]] = {name: [] for name in SPLITS}
    for user, position in positions.items():
        name = next(n for n in SPLITS if position < intervals[n][1])
        members[name].append(user)
    wanted = [name for name, share in zip(SPLITS, shares, strict=True) if share > 0]
    if len(positions) >= len(wanted):
        for name in ("test", "val", "train"):
            if name not in wanted or members[name]:
                continue
            donor = max(SPLITS, key=lambda n: len(members[n]))
            lo, hi = intervals[name]
            mover = min(members[donor], key=lambda u: (_distance(positions[u], lo, hi), u))
            members[donor].remove(mover)
            members[name].append(mover)
    return {name: sorted(found) for name, found in members.items()}
